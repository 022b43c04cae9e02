package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tokensmith/tokensmith/internal/audit"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *store.Store {
	db, name := dynamotest.NewTable(t)
	return store.New(db, name)
}

func TestKeysMatchTemplate(t *testing.T) {
	tmpl, err := samtemplate.Load()
	if err != nil {
		t.Fatal(err)
	}
	def, err := tmpl.Table()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"HASH": store.AttrPK, "RANGE": store.AttrSK}
	for _, k := range def.KeySchema {
		if want[k.KeyType] != k.AttributeName {
			t.Errorf("table key %s = %s; store uses %s", k.KeyType, k.AttributeName, want[k.KeyType])
		}
	}
	if len(def.GlobalSecondaryIndexes) != 1 || def.GlobalSecondaryIndexes[0].IndexName != store.IndexGSI1 {
		t.Fatalf("indexes = %+v; store uses one index %s", def.GlobalSecondaryIndexes, store.IndexGSI1)
	}
	gsi := map[string]string{"HASH": store.AttrGSI1PK, "RANGE": store.AttrGSI1SK}
	for _, k := range def.GlobalSecondaryIndexes[0].KeySchema {
		if gsi[k.KeyType] != k.AttributeName {
			t.Errorf("index key %s = %s; store uses %s", k.KeyType, k.AttributeName, gsi[k.KeyType])
		}
	}
	if got := def.TimeToLiveSpecification; got.AttributeName != store.AttrExpiresAt || !got.Enabled {
		t.Errorf("TTL = %+v; store uses %s", got, store.AttrExpiresAt)
	}
}

func seedSite(t *testing.T, s *store.Store) (tokensmith.Workspace, tokensmith.Site) {
	t.Helper()
	ctx := context.Background()
	ws := tokensmith.Workspace{ID: "0000000a0000000000000001", Slug: "hitchhikers", Name: "Hitchhikers", Plan: tokensmith.PlanEnterprise, CreatedOn: t0}
	if err := s.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	site := tokensmith.Site{ID: "0000000a0000000000000002", WorkspaceID: ws.ID, DisplayName: "Heart of Gold", ShortName: "heart-of-gold", CreatedOn: t0, LastUpdated: t0}
	if err := s.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	return ws, site
}

func newToken(id string, site tokensmith.Site, secret string) tokensmith.Token {
	perms := scope.Permissions{"sites": scope.Read}
	return tokensmith.Token{
		ID: id, Kind: token.KindSite, Name: "sync", SiteID: site.ID, WorkspaceID: site.WorkspaceID,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)), DisplayHint: token.DisplayHint(secret),
		SecretHash: token.Hash(secret), CreatedOn: t0, CreatedBy: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1"},
		ExpiresOn: t0.Add(token.Inactivity),
	}
}

func event(ws tokensmith.Workspace, sub string) tokensmith.Event {
	return tokensmith.Event{ID: sub + time.Now().Format("150405.000000000"), Type: audit.TypeAPIToken, SubType: sub, Timestamp: t0,
		Actor: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1"}, Workspace: tokensmith.WorkspaceRef{ID: ws.ID, Slug: ws.Slug}}
}

func TestDirectory(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	if err := s.CreateWorkspace(ctx, tokensmith.Workspace{ID: "0000000a0000000000000009", Slug: ws.Slug}); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateWorkspace with a taken slug = %v; want ErrExists", err)
	}
	for _, ref := range []string{ws.ID, ws.Slug} {
		got, err := s.Workspace(ctx, ref)
		if err != nil || got != ws {
			t.Errorf("Workspace(%q) = %+v, %v; want %+v", ref, got, err, ws)
		}
	}
	for _, ref := range []string{"0000000a00000000000000ff", "vogons", ""} {
		if _, err := s.Workspace(ctx, ref); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			t.Errorf("Workspace(%q) = %v; want not found", ref, err)
		}
	}
	sites, err := s.Sites(ctx, ws.ID)
	if err != nil || len(sites) != 1 || sites[0].ID != site.ID {
		t.Errorf("Sites = %+v, %v; want [%s]", sites, err, site.ID)
	}
}

func member(id string, p tokensmith.Place, email string, role tokensmith.Role) tokensmith.Member {
	return tokensmith.Member{ID: id, Place: p, Email: email, Role: role, AddedOn: t0, AddedBy: tokensmith.Actor{Type: tokensmith.ActorSystem}}
}

// addMembers adds the members ms of ws.
func addMembers(t *testing.T, s *store.Store, ws tokensmith.Workspace, ms ...tokensmith.Member) {
	t.Helper()
	for _, m := range ms {
		if err := s.AddMember(context.Background(), m, event(ws, "user_added")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMembers follows a membership from invitation to binding, role changes
// and removal, and what each step leaves in the person's partition.
func TestMembers(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	wsPlace := tokensmith.Place{WorkspaceID: ws.ID}
	sitePlace := tokensmith.Place{WorkspaceID: ws.ID, SiteID: site.ID}
	admin := member("0000000c0000000000000001", wsPlace, "admin@example.com", tokensmith.RoleAdmin)
	if err := s.AddMember(ctx, admin, event(ws, "user_added")); err != nil {
		t.Fatal(err)
	}
	again := member("0000000c0000000000000002", wsPlace, "admin@example.com", tokensmith.RoleMember)
	if err := s.AddMember(ctx, again, event(ws, "user_added")); !errors.Is(err, store.ErrExists) {
		t.Errorf("AddMember with a member's email = %v; want ErrExists", err)
	}
	if err := s.AddMember(ctx, member("0000000c0000000000000003", tokensmith.Place{WorkspaceID: ws.ID, SiteID: "0000000a00000000000000ff"}, "zaphod@example.com", tokensmith.RoleAdmin), event(ws, "user_added")); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("AddMember on an unknown site = %v; want not found", err)
	}
	siteAdmin := member("0000000c0000000000000004", sitePlace, "admin@example.com", tokensmith.RoleAdmin)
	if err := s.AddMember(ctx, siteAdmin, event(ws, "user_added")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Workspace(ctx, ws.ID); err != nil || got.Admins != 0 {
		t.Errorf("Admins = %d, %v; want 0 (invitations no one accepted are not counted)", got.Admins, err)
	}
	invs, err := s.Invitations(ctx, "Admin@Example.com")
	if err != nil || len(invs) != 2 || invs[0].Bound() || invs[1].Bound() {
		t.Fatalf("Invitations = %+v, %v; want two unbound", invs, err)
	}

	u := tokensmith.User{ID: "0000000d0000000000000001", Issuer: "https://issuer.example", Subject: "arthur", Email: "admin@example.com"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, tokensmith.User{ID: "0000000d0000000000000002", Issuer: u.Issuer, Subject: u.Subject}); !errors.Is(err, store.ErrExists) {
		t.Errorf("CreateUser with a known identity = %v; want ErrExists", err)
	}
	if got, err := s.UserByIdentity(ctx, u.Issuer, u.Subject); err != nil || got != u {
		t.Errorf("UserByIdentity = %+v, %v; want %+v", got, err, u)
	}
	if _, err := s.UserByIdentity(ctx, "https://other.example", u.Subject); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("UserByIdentity of another issuer = %v; want not found", err)
	}
	if err := s.BindMember(ctx, admin, u, event(ws, "invitation_accepted")); err != nil {
		t.Fatal(err)
	}
	if err := s.BindMember(ctx, siteAdmin, u, event(ws, "invitation_accepted")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Workspace(ctx, ws.ID); err != nil || got.Admins != 1 {
		t.Errorf("Admins = %d, %v; want 1 (the accepted workspace admin; site administrators are not counted)", got.Admins, err)
	}
	other := tokensmith.User{ID: "0000000d0000000000000003", Issuer: u.Issuer, Subject: "impostor", Email: u.Email}
	if err := s.BindMember(ctx, admin, other, event(ws, "invitation_accepted")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("BindMember of a bound member = %v; want ErrConflict", err)
	}
	if got, err := s.Memberships(ctx, other.ID); err != nil || len(got) != 0 {
		t.Errorf("Memberships of the other account = %+v, %v; want none", got, err)
	}
	want := []tokensmith.Membership{
		{Place: sitePlace, UserID: u.ID, MemberID: siteAdmin.ID, Role: tokensmith.RoleAdmin},
		{Place: wsPlace, UserID: u.ID, MemberID: admin.ID, Role: tokensmith.RoleAdmin},
	}
	if got, err := s.Memberships(ctx, u.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Memberships = %+v, %v; want %+v", got, err, want)
	}
	siteAdmin.UserID = u.ID
	if err := s.RemoveMember(ctx, siteAdmin, event(ws, "user_removed")); err != nil {
		t.Fatal(err)
	}
	admin.UserID = u.ID
	if got, err := s.Member(ctx, wsPlace, admin.ID); err != nil || got != admin {
		t.Errorf("Member = %+v, %v; want %+v", got, err, admin)
	}
	if got, err := s.MemberByEmail(ctx, wsPlace, "ADMIN@example.com"); err != nil || got != admin {
		t.Errorf("MemberByEmail = %+v, %v; want %+v", got, err, admin)
	}

	// The last admin can be neither demoted nor removed.
	if err := s.SetRole(ctx, admin, tokensmith.RoleMember, event(ws, "user_role_updated")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetRole of the last admin = %v; want ErrConflict", err)
	}
	if err := s.RemoveMember(ctx, admin, event(ws, "user_removed")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RemoveMember of the last admin = %v; want ErrConflict", err)
	}
	// Nor while an admin invitation waits that no one has accepted: that
	// invitation cannot act, and may itself be demoted.
	second := member("0000000c0000000000000005", wsPlace, "trillian@example.com", tokensmith.RoleAdmin)
	if err := s.AddMember(ctx, second, event(ws, "user_added")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, admin, tokensmith.RoleMember, event(ws, "user_role_updated")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetRole of the last accepted admin, an admin invitation waiting = %v; want ErrConflict", err)
	}
	if err := s.RemoveMember(ctx, admin, event(ws, "user_removed")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RemoveMember of the last accepted admin, an admin invitation waiting = %v; want ErrConflict", err)
	}
	if err := s.SetRole(ctx, second, tokensmith.RoleMember, event(ws, "user_role_updated")); err != nil {
		t.Errorf("SetRole of the unaccepted admin invitation = %v", err)
	}
	second.Role = tokensmith.RoleMember
	if err := s.SetRole(ctx, second, tokensmith.RoleAdmin, event(ws, "user_role_updated")); err != nil {
		t.Fatal(err)
	}
	second.Role = tokensmith.RoleAdmin
	if got, err := s.Workspace(ctx, ws.ID); err != nil || got.Admins != 1 {
		t.Errorf("Admins = %d, %v; want 1", got.Admins, err)
	}
	trillian := tokensmith.User{ID: "0000000d0000000000000004", Issuer: u.Issuer, Subject: "trillian", Email: second.Email}
	if err := s.BindMember(ctx, second, trillian, event(ws, "invitation_accepted")); err != nil {
		t.Fatal(err)
	}
	second.UserID = trillian.ID
	if err := s.SetRole(ctx, admin, tokensmith.RoleMember, event(ws, "user_role_updated")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Memberships(ctx, u.ID); err != nil || len(got) != 1 || got[0].Role != tokensmith.RoleMember {
		t.Errorf("Memberships after the demotion = %+v, %v; want the member role", got, err)
	}
	if err := s.SetRole(ctx, admin, tokensmith.RoleMember, event(ws, "user_role_updated")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetRole from a role it no longer has = %v; want ErrConflict", err)
	}
	admin.Role = tokensmith.RoleMember
	if err := s.RemoveMember(ctx, admin, event(ws, "user_removed")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Memberships(ctx, u.ID); err != nil || len(got) != 0 {
		t.Errorf("Memberships after the removal = %+v, %v; want none", got, err)
	}
	if _, err := s.MemberByEmail(ctx, wsPlace, admin.Email); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("MemberByEmail after the removal = %v; want not found", err)
	}
	if got, err := s.Workspace(ctx, ws.ID); err != nil || got.Admins != 1 {
		t.Errorf("Admins = %d, %v; want 1", got.Admins, err)
	}
	members, err := s.Members(ctx, wsPlace)
	if err != nil || len(members) != 1 || members[0] != second {
		t.Errorf("Members = %+v, %v; want [%+v]", members, err, second)
	}
}

func TestTokenLifecycle(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	tok := newToken("0000000b0000000000000001", site, "tss_first")
	if err := s.CreateToken(ctx, 0, "", 0, tok, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	// A create that counted tokens at the same version as the first loses.
	if err := s.CreateToken(ctx, 0, "", 0, newToken("0000000b0000000000000002", site, "tss_second"), event(ws, audit.SubTokenCreated), nil, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateToken at a stale version = %v; want ErrConflict", err)
	}
	sec, err := s.Secret(ctx, token.Hash("tss_first"))
	if err != nil || sec.TokenID != tok.ID || sec.Scope != "sites:read" || sec.SiteID != site.ID {
		t.Errorf("Secret = %+v, %v", sec, err)
	}
	list, err := s.Tokens(ctx, tokensmith.Owner{Kind: token.KindSite, ID: site.ID})
	if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].Permissions["sites"] != scope.Read {
		t.Fatalf("Tokens = %+v, %v", list, err)
	}

	grace := t0.Add(time.Hour)
	regen, err := s.RegenerateToken(ctx, list[0], readSite(t, s, site.ID), token.Hash("tss_new"), "tss_…_new", nil, &grace, event(ws, audit.SubTokenRegenerated))
	if err != nil {
		t.Fatal(err)
	}
	if old, err := s.Secret(ctx, token.Hash("tss_first")); err != nil || old.GraceUntil == nil || !old.GraceUntil.Equal(grace) || old.Active(grace) || !old.Active(grace.Add(-time.Second)) {
		t.Errorf("old secret after regenerate with grace = %+v, %v; want graceUntil %v", old, err, grace)
	}
	// A regenerate from the stale record loses.
	if _, err := s.RegenerateToken(ctx, list[0], readSite(t, s, site.ID), token.Hash("tss_other"), "x", nil, nil, event(ws, audit.SubTokenRegenerated)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RegenerateToken from a stale record = %v; want ErrConflict", err)
	}
	if _, err := s.RegenerateToken(ctx, regen, readSite(t, s, site.ID), token.Hash("tss_third"), "x", nil, nil, event(ws, audit.SubTokenRegenerated)); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"tss_first", "tss_new", "tss_other"} {
		if _, err := s.Secret(ctx, token.Hash(gone)); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			t.Errorf("Secret(%s) after regenerate without grace = %v; want not found", gone, err)
		}
	}
	cur, err := s.Token(ctx, tok.Owner(), tok.ID)
	if err != nil || cur.SecretHash != token.Hash("tss_third") || cur.PrevSecretHash != "" {
		t.Fatalf("Token = %+v, %v", cur, err)
	}
	if err := s.RevokeToken(ctx, regen, event(ws, audit.SubTokenRevoked)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RevokeToken of a stale record = %v; want ErrConflict", err)
	}
	if err := s.RevokeToken(ctx, cur, event(ws, audit.SubTokenRevoked)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(ctx, token.Hash("tss_third")); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("Secret after revoke = %v; want not found", err)
	}
	if _, err := s.Token(ctx, tok.Owner(), tok.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("Token after revoke = %v; want not found", err)
	}
}

func TestConcurrentCreatesAtOneVersion(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "0000000c00000000000000" + string("0123456789"[i]) + "0"
			errs[i] = s.CreateToken(ctx, 0, "", 0, newToken(id, site, "tss_"+id), event(ws, audit.SubTokenCreated), nil, t0)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("CreateToken = %v; want nil or ErrConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d creates at one version succeeded; want 1", won)
	}
}

// TestHeldMembership: binding a person to a membership of a place where
// they already hold one is ErrHeld, not a conflict to try again; dropping
// that invitation removes it and its email's claim, audited, so no other
// account can bind it.
func TestHeldMembership(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, _ := seedSite(t, s)
	wsPlace := tokensmith.Place{WorkspaceID: ws.ID}
	old := member("0000000c0000000000000001", wsPlace, "old@example.com", tokensmith.RoleAdmin)
	inv := member("0000000c0000000000000002", wsPlace, "new@example.com", tokensmith.RoleMember)
	addMembers(t, s, ws, old, inv)
	u := tokensmith.User{ID: "0000000d0000000000000001", Issuer: "https://issuer.example", Subject: "arthur", Email: "old@example.com"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.BindMember(ctx, old, u, event(ws, "invitation_accepted")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MemberByEmail(ctx, wsPlace, "nobody@example.com"); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND || strings.Contains(err.Error(), "nobody") {
		t.Errorf("MemberByEmail of no member = %v; want not found, without the email", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.MemberByEmail(cancelled, wsPlace, "nobody@example.com"); err == nil || strings.Contains(err.Error(), "nobody") {
		t.Errorf("MemberByEmail failing = %v; want an error without the email", err)
	}
	if _, err := s.Invitations(cancelled, "nobody@example.com"); err == nil || strings.Contains(err.Error(), "nobody") {
		t.Errorf("Invitations failing = %v; want an error without the email", err)
	}
	if err := s.BindMember(ctx, inv, u, event(ws, "invitation_accepted")); !errors.Is(err, store.ErrHeld) || errors.Is(err, store.ErrConflict) {
		t.Errorf("BindMember where the person holds a membership = %v; want ErrHeld", err)
	}
	// A changed member is still a conflict, even where the person holds one.
	stale := inv
	stale.Role = tokensmith.RoleAdmin
	if err := s.BindMember(ctx, stale, u, event(ws, "invitation_accepted")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("BindMember of a changed member = %v; want ErrConflict", err)
	}
	stranger := tokensmith.User{ID: "0000000d0000000000000002", Issuer: u.Issuer, Subject: "ford", Email: "new@example.com"}
	if err := s.DropInvitation(ctx, inv, stranger, event(ws, "user_removed")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DropInvitation for a person holding nothing there = %v; want ErrConflict", err)
	}
	before, err := s.AuditCounters(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DropInvitation(ctx, inv, u, event(ws, "user_removed")); err != nil {
		t.Fatalf("DropInvitation = %v", err)
	}
	if _, err := s.Member(ctx, wsPlace, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("Member after DropInvitation = %v; want not found", err)
	}
	if invs, err := s.Invitations(ctx, "new@example.com"); err != nil || len(invs) != 0 {
		t.Errorf("Invitations after DropInvitation = %+v, %v; want none", invs, err)
	}
	if after, err := s.AuditCounters(ctx, ws.ID); err != nil || after.Seq != before.Seq+1 {
		t.Errorf("audit counters after DropInvitation = %+v, %v; want one event more than %+v", after, err, before)
	}
	if err := s.BindMember(ctx, inv, stranger, event(ws, "invitation_accepted")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("BindMember of the dropped invitation by another account = %v; want ErrConflict", err)
	}
	want := []tokensmith.Membership{{Place: wsPlace, UserID: u.ID, MemberID: old.ID, Role: tokensmith.RoleAdmin}}
	if got, err := s.Memberships(ctx, u.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Memberships = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.Workspace(ctx, ws.ID); err != nil || got.Admins != 1 {
		t.Errorf("Admins = %d, %v; want 1", got.Admins, err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"ASCII lower-cased and trimmed", "  Arthur.Dent@Example.COM\t", "arthur.dent@example.com"},
		{"Kelvin sign kept", "\u212Aelvin@example.com", "\u212Aelvin@example.com"},
		{"non-ASCII capitals kept, ASCII ones lowered", "ÄRTHUR@ÉXAMPLE.com", "Ärthur@Éxample.com"},
		{"non-ASCII small letters kept", "zaphod.ß@example.com", "zaphod.ß@example.com"},
		{"dotless and dotted I kept", "\u0130\u0131@example.com", "\u0130\u0131@example.com"},
		{"all ASCII white space trimmed", "\v\f\r\n a@example.com \r\n", "a@example.com"},
		{"no-break space kept", "\u00a0a@example.com", "\u00a0a@example.com"},
		{"em space and ideographic space kept", "a@example.com\u2003\u3000", "a@example.com\u2003\u3000"},
		{"next line kept", "\u0085a@example.com", "\u0085a@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.NormalizeEmail(tc.in); got != tc.want {
				t.Errorf("NormalizeEmail(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestKelvinSignIsAnotherPerson checks that an address with the Kelvin sign
// does not find the invitation of the address that has a "k" there.
func TestKelvinSignIsAnotherPerson(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, _ := seedSite(t, s)
	if err := s.AddMember(ctx, member("0000000c0000000000000001", tokensmith.Place{WorkspaceID: ws.ID}, "kelvin@example.com", tokensmith.RoleMember), event(ws, "user_added")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Invitations(ctx, "\u212Aelvin@example.com"); err != nil || len(got) != 0 {
		t.Errorf("Invitations with the Kelvin sign = %+v, %v; want none", got, err)
	}
}

// newWorkspaceToken is a workspace token of ws with secret.
func newWorkspaceToken(id string, ws tokensmith.Workspace, secret string) tokensmith.Token {
	t := newToken(id, tokensmith.Site{WorkspaceID: ws.ID}, secret)
	t.Kind, t.SiteID, t.Scope = token.KindWorkspace, "", "workspace_activity:read"
	return t
}

// TestPlanReachesWorkspaceSecrets: a workspace token's secret carries the
// plan it was created at; SetPlan writes the new plan on every secret of the
// workspace's tokens (one in its grace period too) in its transaction, and
// moves the workspace's version, so a create that read the old plan loses.
func TestPlanReachesWorkspaceSecrets(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	first := newWorkspaceToken("0000000b0000000000000001", ws, "tsw_first")
	if err := s.CreateToken(ctx, 0, tokensmith.PlanEnterprise, 0, first, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	siteTok := newToken("0000000b0000000000000002", site, "tss_site")
	if err := s.CreateToken(ctx, 0, tokensmith.PlanEnterprise, 0, siteTok, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	// A previous secret in its grace period, as a regenerate leaves one.
	grace := t0.Add(time.Hour)
	if _, err := s.RegenerateToken(ctx, first, tokensmith.Site{}, token.Hash("tsw_second"), "x", nil, &grace, event(ws, audit.SubTokenRegenerated)); err != nil {
		t.Fatal(err)
	}
	plans := func() map[string]tokensmith.Plan {
		got := map[string]tokensmith.Plan{}
		for _, sec := range []string{"tsw_first", "tsw_second", "tss_site"} {
			s, err := s.Secret(ctx, token.Hash(sec))
			if err != nil {
				t.Fatalf("Secret(%s) = %v", sec, err)
			}
			got[sec] = s.Plan
		}
		return got
	}
	if got := plans(); got["tsw_first"] != tokensmith.PlanEnterprise || got["tss_site"] != "" {
		t.Errorf("plans after create = %v; want enterprise on the workspace token's secret, none on the site token's", got)
	}
	read, err := s.Workspace(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPlan(ctx, read, tokensmith.PlanFree, event(ws, "setting_updated")); err != nil {
		t.Fatal(err)
	}
	want := map[string]tokensmith.Plan{"tsw_first": tokensmith.PlanFree, "tsw_second": tokensmith.PlanFree, "tss_site": ""}
	if got := plans(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("plans after SetPlan(free) = %v; want %v", got, want)
	}
	// Both writers hold the workspace to the version they read.
	if err := s.SetPlan(ctx, read, tokensmith.PlanEnterprise, event(ws, "setting_updated")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetPlan at a stale version = %v; want ErrConflict", err)
	}
	late := newWorkspaceToken("0000000b0000000000000003", ws, "tsw_late")
	if err := s.CreateToken(ctx, read.TokenVersion, tokensmith.PlanEnterprise, 0, late, event(ws, audit.SubTokenCreated), nil, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateToken at the version before a plan change = %v; want ErrConflict", err)
	}
	if _, err := s.Secret(ctx, token.Hash("tsw_late")); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("Secret of the losing create = %v; want not found", err)
	}
}

// TestEndGrace: ending a previous secret's grace period deletes only that
// secret and forgets it on the record; a stale record loses.
func TestEndGrace(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	tok := newToken("0000000b0000000000000001", site, "tss_old")
	if err := s.CreateToken(ctx, 0, "", 0, tok, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	grace := t0.Add(time.Hour)
	regen, err := s.RegenerateToken(ctx, tok, readSite(t, s, site.ID), token.Hash("tss_new"), "x", nil, &grace, event(ws, audit.SubTokenRegenerated))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndGrace(ctx, tok, event(ws, audit.SubTokenRevoked)); err == nil {
		t.Error("EndGrace of a record without a previous secret succeeded")
	}
	if err := s.EndGrace(ctx, regen, event(ws, audit.SubTokenRevoked)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(ctx, token.Hash("tss_old")); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("previous secret after EndGrace = %v; want not found", err)
	}
	if sec, err := s.Secret(ctx, token.Hash("tss_new")); err != nil || sec.TokenID != tok.ID {
		t.Errorf("current secret after EndGrace = %+v, %v; want it kept", sec, err)
	}
	if cur, err := s.Token(ctx, tok.Owner(), tok.ID); err != nil || cur.PrevSecretHash != "" || cur.SecretHash != token.Hash("tss_new") {
		t.Errorf("record after EndGrace = %+v, %v; want only the current secret", cur, err)
	}
	if err := s.EndGrace(ctx, regen, event(ws, audit.SubTokenRevoked)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("EndGrace twice = %v; want ErrConflict", err)
	}
}

// readSite reads the site id as it is now.
func readSite(t *testing.T, s *store.Store, id string) tokensmith.Site {
	t.Helper()
	site, err := s.Site(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return site
}

// TestConcurrentMemberChanges: two first sign-ins of one invitation by two
// accounts bind it exactly once; two admins demoting each other at once
// leave one admin, whichever wins.
func TestConcurrentMemberChanges(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, _ := seedSite(t, s)
	wsPlace := tokensmith.Place{WorkspaceID: ws.ID}
	a := member("0000000c0000000000000001", wsPlace, "arthur@example.com", tokensmith.RoleAdmin)
	b := member("0000000c0000000000000002", wsPlace, "ford@example.com", tokensmith.RoleAdmin)
	addMembers(t, s, ws, a, b)
	users := []tokensmith.User{
		{ID: "0000000d0000000000000001", Issuer: "https://issuer.example", Subject: "one", Email: a.Email},
		{ID: "0000000d0000000000000002", Issuer: "https://issuer.example", Subject: "two", Email: a.Email},
	}
	race := func(fs ...func() error) []error {
		errs := make([]error, len(fs))
		var wg sync.WaitGroup
		for i, f := range fs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f() }()
		}
		wg.Wait()
		return errs
	}
	errs := race(
		func() error { return s.BindMember(ctx, a, users[0], event(ws, "invitation_accepted")) },
		func() error { return s.BindMember(ctx, a, users[1], event(ws, "invitation_accepted")) },
	)
	var holders int
	for i, u := range users {
		got, err := s.Memberships(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		holders += len(got)
		if (errs[i] == nil) != (len(got) == 1) {
			t.Errorf("bind by %s = %v, and it holds %+v", u.Subject, errs[i], got)
		}
	}
	if holders != 1 {
		t.Errorf("after two concurrent binds %d accounts hold the membership (%v); want exactly 1", holders, errs)
	}

	ford := tokensmith.User{ID: "0000000d0000000000000003", Issuer: "https://issuer.example", Subject: "ford", Email: b.Email}
	if err := s.BindMember(ctx, b, ford, event(ws, "invitation_accepted")); err != nil {
		t.Fatal(err)
	}
	b.UserID = ford.ID
	bound, err := s.Member(ctx, wsPlace, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	errs = race(
		func() error { return s.SetRole(ctx, bound, tokensmith.RoleMember, event(ws, "user_role_updated")) },
		func() error { return s.SetRole(ctx, b, tokensmith.RoleMember, event(ws, "user_role_updated")) },
	)
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("two admins demoting each other = %v; want exactly one to succeed", errs)
	}
	got, err := s.Workspace(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	members, err := s.Members(ctx, wsPlace)
	if err != nil {
		t.Fatal(err)
	}
	var admins int64
	for _, m := range members {
		if m.Role == tokensmith.RoleAdmin {
			admins++
		}
	}
	if got.Admins != 1 || admins != 1 {
		t.Errorf("after two concurrent demotions: admin count %d, admin members %d; want 1 and 1", got.Admins, admins)
	}
}

// TestAcceptRacesLastAdminRemoval: the last accepted admin's removal and
// the acceptance of an admin invitation, at once, leave the count equal to
// the accepted admins, and at least one: the removal passes only when the
// acceptance came first.
func TestAcceptRacesLastAdminRemoval(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for i := range 3 {
		ws := tokensmith.Workspace{ID: fmt.Sprintf("0000000a00000000000001%02x", i), Slug: fmt.Sprintf("round-%d", i), Name: "Round", Plan: tokensmith.PlanEnterprise, CreatedOn: t0}
		if err := s.CreateWorkspace(ctx, ws); err != nil {
			t.Fatal(err)
		}
		wsPlace := tokensmith.Place{WorkspaceID: ws.ID}
		a := member(fmt.Sprintf("0000000c00000000000001%02x", i), wsPlace, "arthur@example.com", tokensmith.RoleAdmin)
		inv := member(fmt.Sprintf("0000000c00000000000002%02x", i), wsPlace, "ghost@nowhere.test", tokensmith.RoleAdmin)
		addMembers(t, s, ws, a, inv)
		arthur := tokensmith.User{ID: fmt.Sprintf("0000000d00000000000001%02x", i), Issuer: "https://issuer.example", Subject: "arthur", Email: a.Email}
		ghost := tokensmith.User{ID: fmt.Sprintf("0000000d00000000000002%02x", i), Issuer: "https://issuer.example", Subject: "ghost", Email: inv.Email}
		if err := s.BindMember(ctx, a, arthur, event(ws, "invitation_accepted")); err != nil {
			t.Fatal(err)
		}
		a.UserID = arthur.ID
		var bindErr, removeErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			// Both write the workspace's audit counters: the loser of a
			// transaction conflict tries again, as sign-in does.
			bindErr = store.Retry(ctx, func() error { return s.BindMember(ctx, inv, ghost, event(ws, "invitation_accepted")) })
		}()
		go func() { defer wg.Done(); removeErr = s.RemoveMember(ctx, a, event(ws, "user_removed")) }()
		wg.Wait()
		if bindErr != nil {
			t.Fatalf("round %d: BindMember = %v", i, bindErr)
		}
		if removeErr != nil && !errors.Is(removeErr, store.ErrConflict) {
			t.Fatalf("round %d: RemoveMember = %v", i, removeErr)
		}
		members, err := s.Members(ctx, wsPlace)
		if err != nil {
			t.Fatal(err)
		}
		var accepted int64
		for _, m := range members {
			if m.AcceptedAdmin() {
				accepted++
			}
		}
		got, err := s.Workspace(ctx, ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if removeErr != nil {
			want = 2
		}
		if got.Admins != want || accepted != want {
			t.Errorf("round %d (removal: %v): admin count %d, accepted admins %d; want %d and %d", i, removeErr, got.Admins, accepted, want, want)
		}
	}
}

// TestGraceSecretNotNamedByItsToken: a secret in its grace period works
// only while its token names it as the previous secret; once the token
// names another (a later regenerate), it is not found, though its item is
// still there.
func TestGraceSecretNotNamedByItsToken(t *testing.T) {
	db, name := dynamotest.NewTable(t)
	s := store.New(db, name)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	tok := newToken("0000000b0000000000000001", site, "tss_old")
	if err := s.CreateToken(ctx, 0, "", 0, tok, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	grace := t0.Add(time.Hour)
	if _, err := s.RegenerateToken(ctx, tok, readSite(t, s, site.ID), token.Hash("tss_new"), "x", nil, &grace, event(ws, audit.SubTokenRegenerated)); err != nil {
		t.Fatal(err)
	}
	if sec, err := s.Secret(ctx, token.Hash("tss_old")); err != nil || sec.GraceUntil == nil {
		t.Fatalf("previous secret in its grace period = %+v, %v; want it, with its grace", sec, err)
	}
	_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(name),
		Key:                       store.TokenKey(tok.Owner(), tok.ID),
		UpdateExpression:          aws.String("SET prevSecretHash = :h"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: token.Hash("tss_other")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(ctx, token.Hash("tss_old")); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("previous secret its token no longer names = %v; want not found", err)
	}
}

// TestRecountAdmins: a workspace whose stored count of admins also counted
// an admin invitation no one accepted (as counts made before only accepted
// admins counted did) is set to its accepted admins, and then holds the
// last of them; a rerun changes nothing.
func TestRecountAdmins(t *testing.T) {
	db, name := dynamotest.NewTable(t)
	s := store.New(db, name)
	ctx := context.Background()
	ws, _ := seedSite(t, s)
	wsPlace := tokensmith.Place{WorkspaceID: ws.ID}
	admin := member("0000000b0000000000000001", wsPlace, "admin@example.com", tokensmith.RoleAdmin)
	ghost := member("0000000b0000000000000002", wsPlace, "ghost@nowhere.test", tokensmith.RoleAdmin)
	addMembers(t, s, ws, admin, ghost)
	u := tokensmith.User{ID: "0000000c0000000000000001", Issuer: "https://issuer.example", Subject: "arthur", Email: admin.Email}
	if err := s.BindMember(ctx, admin, u, event(ws, "invitation_accepted")); err != nil {
		t.Fatal(err)
	}
	// The count as it was stored when unbound admins counted too.
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(name), Key: store.WorkspaceKey(ws.ID), UpdateExpression: aws.String("SET admins = :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "2"}},
	}); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][2]int64{{2, 1}, {1, 1}} {
		was, now, err := s.RecountAdmins(ctx, ws.ID)
		if err != nil || was != want[0] || now != want[1] {
			t.Errorf("recount %d = %d, %d, %v; want %d, %d", i, was, now, err, want[0], want[1])
		}
	}
	admin.UserID = u.ID
	if err := s.RemoveMember(ctx, admin, event(ws, "user_removed")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("removing the last accepted admin after the recount = %v; want ErrConflict", err)
	}
}
