package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/notify"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/sestest"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fixture is a workspace with a site, two accepted admins, an invited
// admin not yet accepted, and two members who created tokens, one of whom
// has since been removed.
type fixture struct {
	st   *store.Store
	ws   tokensmith.Workspace
	site tokensmith.Site
	// ford created the site token and is still a member; arthur created
	// the workspace token and was removed.
	ford, arthur tokensmith.Actor
}

func newFixture(t *testing.T) *fixture {
	db, table := dynamotest.NewTable(t)
	st := store.New(db, table)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ws := tokensmith.Workspace{ID: "0000000a0000000000000001", Slug: "hitchhikers", Name: "Hitchhikers", Plan: tokensmith.PlanEnterprise, CreatedOn: t0}
	site := tokensmith.Site{ID: "0000000a0000000000000002", WorkspaceID: ws.ID, DisplayName: "Heart of Gold", ShortName: "heart-of-gold", CreatedOn: t0}
	must(st.CreateWorkspace(ctx, ws))
	must(st.CreateSite(ctx, site))
	n := 0
	ev := func(sub string) tokensmith.Event {
		n++
		return tokensmith.Event{ID: fmt.Sprintf("0000000e00000000000000%02x", n), Type: audit.TypeWorkspaceMembership, SubType: sub, Timestamp: t0,
			Actor: tokensmith.Actor{Type: tokensmith.ActorSystem}, Workspace: ws.Ref()}
	}
	person := func(i int, email string, role tokensmith.Role, place tokensmith.Place, bind bool) (tokensmith.Member, tokensmith.Actor) {
		u := tokensmith.User{ID: fmt.Sprintf("0000000u00000000000000%02d", i), Issuer: "https://issuer.example", Subject: email, Email: email}
		m := tokensmith.Member{ID: fmt.Sprintf("0000000c00000000000000%02d", i), Place: place, Email: email, Role: role, AddedOn: t0,
			AddedBy: tokensmith.Actor{Type: tokensmith.ActorSystem}}
		must(st.AddMember(ctx, m, ev(audit.SubUserAdded)))
		if bind {
			must(st.CreateUser(ctx, u))
			must(st.BindMember(ctx, m, u, ev(audit.SubInvitationAccepted)))
			m.UserID = u.ID
		}
		return m, tokensmith.Actor{Type: tokensmith.ActorPerson, ID: u.ID, Email: email}
	}
	wsPlace := tokensmith.Place{WorkspaceID: ws.ID}
	person(1, "zaphod@example.com", tokensmith.RoleAdmin, wsPlace, true)
	person(2, "trillian@example.com", tokensmith.RoleAdmin, wsPlace, true)
	person(3, "marvin@example.com", tokensmith.RoleAdmin, wsPlace, false)
	_, ford := person(4, "ford@example.com", tokensmith.RoleAdmin, tokensmith.Place{WorkspaceID: ws.ID, SiteID: site.ID}, true)
	arthurM, arthur := person(5, "arthur@example.com", tokensmith.RoleMember, wsPlace, true)
	must(st.RemoveMember(ctx, arthurM, ev(audit.SubUserRemoved)))
	return &fixture{st: st, ws: ws, site: site, ford: ford, arthur: arthur}
}

func (f *fixture) siteToken() tokensmith.Token {
	return tokensmith.Token{ID: "0000000b0000000000000001", Kind: token.KindSite, Name: "CMS sync", SiteID: f.site.ID, WorkspaceID: f.ws.ID,
		Permissions: scope.Permissions{"sites": scope.Read}, Scope: "sites:read", DisplayHint: "tss_…k3Zq", SecretHash: "5f1c2e9a0b7d",
		CreatedOn: t0, CreatedBy: f.ford}
}

func TestRecipients(t *testing.T) {
	f := newFixture(t)
	n := &notify.Notifier{Store: f.st}
	tests := []struct {
		name    string
		creator tokensmith.Actor
		want    string
	}{
		{"a site admin who created the token, and the accepted workspace admins", f.ford,
			"ford@example.com creator, trillian@example.com admin, zaphod@example.com admin"},
		{"a creator removed since gets nothing", f.arthur, "trillian@example.com admin, zaphod@example.com admin"},
		{"an admin who created the token is named once", tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "0000000u0000000000000001"},
			"trillian@example.com admin, zaphod@example.com creator admin"},
		{"an operator's token: the admins", tokensmith.Actor{Type: tokensmith.ActorSystem, Email: "arn:aws:iam::1:user/ops"},
			"trillian@example.com admin, zaphod@example.com admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := n.Recipients(context.Background(), f.ws, tc.creator)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				s := r.Email
				if r.Creator {
					s += " creator"
				}
				if r.Admin {
					s += " admin"
				}
				got = append(got, s)
			}
			if strings.Join(got, ", ") != tc.want {
				t.Errorf("recipients = %s; want %s", strings.Join(got, ", "), tc.want)
			}
		})
	}
}

// TestLeakRevokedOutbox reads the leak message as its reader would: one
// RFC 5322 file per person, from the sender, with the token's name, hint,
// site and workspace, where it was found and the console's links, and
// never the secret or its hash.
func TestLeakRevokedOutbox(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	n := &notify.Notifier{Store: f.st, ConsoleURL: "https://tokensmith.example/prod/console/", Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Mailer: &notify.Outbox{Dir: dir, From: "tokensmith <noreply@tokensmith.example>", Now: func() time.Time { return t0 }}}
	tok := f.siteToken()
	if err := n.LeakRevoked(context.Background(), tokensmith.PartnerGitHub, tok, &f.site, "https://github.com/octo/app/blob/main/.env", t0); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 3 {
		t.Fatalf("%d messages; want 3 (ford, trillian, zaphod): %v", len(files), files)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("%s is not an RFC 5322 message: %v", file, err)
		}
		subject, err := new(mimeDecoder).decode(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		body := decodeBody(t, msg)
		to := msg.Header.Get("To")
		t.Logf("To: %s\nSubject: %s\n\n%s", to, subject, body)
		if !strings.Contains(subject, `"CMS sync"`) || msg.Header.Get("From") == "" {
			t.Errorf("%s: subject %q, from %q", file, subject, msg.Header.Get("From"))
		}
		for _, want := range []string{"CMS sync", "tss_…k3Zq", "site token of Heart of Gold (heart-of-gold)", "Workspace:  Hitchhikers (hitchhikers)", "GitHub secret scanning",
			"https://github.com/octo/app/blob/main/.env", "https://tokensmith.example/prod/console/#/sites/" + f.site.ID + "/api-access",
			"https://tokensmith.example/prod/console/#/workspaces/" + f.ws.ID + "/audit-log", "Sunday 22 November 2026 at 12:00 UTC"} {
			if !strings.Contains(body, want) {
				t.Errorf("message to %s lacks %q", to, want)
			}
		}
		if strings.Contains(string(raw), tok.SecretHash) || strings.Contains(string(raw), "tss_BmNy") {
			t.Errorf("message to %s holds a secret or its hash", to)
		}
		why := map[string]string{"ford@example.com": "because you created this token.", "zaphod@example.com": "admin of the workspace Hitchhikers"}[to]
		if why != "" && !strings.Contains(body, why) {
			t.Errorf("message to %s does not say %q", to, why)
		}
	}
}

// TestNoSenderNoEmail: without a mailer nothing is sent and nothing fails.
func TestNoSenderNoEmail(t *testing.T) {
	f := newFixture(t)
	var n *notify.Notifier
	if err := n.LeakRevoked(context.Background(), tokensmith.PartnerGitHub, f.siteToken(), &f.site, "u", t0); err != nil {
		t.Error(err)
	}
	n = &notify.Notifier{Store: f.st}
	if err := n.LeakRevoked(context.Background(), tokensmith.PartnerGitHub, f.siteToken(), &f.site, "u", t0); err != nil {
		t.Error(err)
	}
	m, err := notify.MailerFromEnv(func(string) string { return "" })
	if m != nil || err != nil {
		t.Errorf("MailerFromEnv with no sender = %v, %v; want none", m, err)
	}
}

// TestSESRequest: the SendEmail request the SDK's client builds is SES's
// documented REST-JSON shape, one recipient a message, from the sender.
func TestSESRequest(t *testing.T) {
	f := newFixture(t)
	srv := sestest.Start(t)
	env := map[string]string{notify.EnvSender: "noreply@tokensmith.example", notify.EnvEndpoint: srv.URL}
	m, err := notify.MailerFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	n := &notify.Notifier{Store: f.st, Mailer: m, ConsoleURL: "https://c/", Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if err := n.LeakRevoked(context.Background(), tokensmith.PartnerGitHub, f.siteToken(), &f.site, "https://github.com/x", t0); err != nil {
		t.Fatal(err)
	}
	if p := srv.Problems(); len(p) > 0 {
		t.Fatalf("requests against SES's contract: %v", p)
	}
	emails := srv.Emails()
	if len(emails) != 3 || emails[0].From != "noreply@tokensmith.example" || emails[0].To != "ford@example.com" || !strings.Contains(emails[0].Text, "tss_…k3Zq") {
		t.Errorf("emails = %+v", emails)
	}
	srv.Close()
	if err := n.LeakRevoked(context.Background(), tokensmith.PartnerGitHub, f.siteToken(), &f.site, "https://github.com/x", t0); err == nil {
		t.Error("LeakRevoked with SES unreachable reported no failure")
	}
}
