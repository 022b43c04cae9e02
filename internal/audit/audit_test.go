package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/operator"
	"github.com/tokensmith/tokensmith/internal/store"
)

// TestListFindsTheWorkspaceAsTheOperatorDoes holds the audit route and
// tokenctl's operator to the one lookup: a workspace is reached by its id
// and by its slug alike, by both.
func TestListFindsTheWorkspaceAsTheOperatorDoes(t *testing.T) {
	db, table := dynamotest.NewTable(t)
	st := store.New(db, table)
	ctx := context.Background()
	ops := operator.New(st)
	ws, err := ops.CreateWorkspace(ctx, "hitchhikers", "Hitchhikers", tokensmith.PlanEnterprise)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.SetPlan(ctx, ws.Slug, tokensmith.PlanEnterprise); err != nil {
		t.Fatal(err)
	}
	svc := audit.New(st)
	p := tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "t", WorkspaceID: ws.ID}
	for _, ref := range []string{ws.ID, ws.Slug} {
		viaOps, err := ops.Workspace(ctx, ref)
		if err != nil || viaOps.ID != ws.ID {
			t.Errorf("operator Workspace(%q) = %+v, %v", ref, viaOps, err)
		}
		page, err := svc.List(ctx, p, ref, tokensmith.AuditQuery{Limit: 10})
		if err != nil || page.Total != 1 || page.Events[0].SubType != audit.SubSettingUpdated {
			t.Errorf("List(%q) = %+v, %v; want the one setting event", ref, page, err)
		}
	}
	// Another workspace's log is not found, as is one that does not exist.
	other := tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "t", WorkspaceID: "0000000a00000000000000ff"}
	if _, err := svc.List(ctx, other, ws.Slug, tokensmith.AuditQuery{Limit: 10}); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("List of another workspace = %v; want not found", err)
	}
	if _, err := svc.List(ctx, p, "vogons", tokensmith.AuditQuery{Limit: 10}); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("List of a missing workspace = %v; want not found", err)
	}
}

func TestBuilders(t *testing.T) {
	o := audit.Origin{ID: "e1", Time: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
		Actor: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1"}, Workspace: tokensmith.WorkspaceRef{ID: "w", Slug: "s"}}
	tok := tokensmith.Token{ID: "t1", Kind: "site", Name: "sync", SiteID: "s1", DisplayHint: "tss_…abcd", Scope: "sites:read", SecretHash: "secret-hash"}
	site := &tokensmith.Site{ID: "s1", ShortName: "heart-of-gold"}
	invited := tokensmith.Member{ID: "m1", Place: tokensmith.Place{WorkspaceID: "w"}, Email: "ford@example.com", Role: tokensmith.RoleAdmin}
	bound := tokensmith.Member{ID: "m2", Place: tokensmith.Place{WorkspaceID: "w", SiteID: "s1"}, Email: "ford@example.com", Role: tokensmith.RoleAdmin, UserID: "u2"}
	for _, tc := range []struct {
		name          string
		ev            tokensmith.Event
		typ, sub, pay string
	}{
		{"created", audit.TokenCreated(o, tok, site), "api_token", "token_created",
			"map[scope:sites:read site:map[id:s1 shortName:heart-of-gold] token:map[displayHint:tss_…abcd id:t1 kind:site name:sync]]"},
		{"revoked", audit.TokenRevoked(o, tok, site), "api_token", "token_revoked", ""},
		{"regenerated", audit.TokenRegenerated(o, tok, site), "api_token", "token_regenerated", ""},
		{"expired, site gone", audit.TokenExpired(o, tok, nil), "api_token", "token_expired",
			"map[reason:inactive scope:sites:read site:map[id:s1] token:map[displayHint:tss_…abcd id:t1 kind:site name:sync]]"},
		{"expired at its fixed end", audit.TokenExpired(o, fixedEnd(tok), site), "api_token", "token_expired",
			"map[reason:fixed scope:sites:read site:map[id:s1 shortName:heart-of-gold] token:map[displayHint:tss_…abcd id:t1 kind:site name:sync]]"},
		{"member added", audit.MemberAdded(o, invited), "workspace_membership", "user_added",
			"map[member:map[email:ford@example.com id:m1 userId:<nil>] role:admin]"},
		{"invitation accepted", audit.InvitationAccepted(o, bound), "site_membership", "invitation_accepted",
			"map[member:map[email:ford@example.com id:m2 userId:u2] role:admin site:map[id:s1]]"},
		{"site member updated", audit.MemberRoleUpdated(o, bound, tokensmith.RoleMember), "site_membership", "user_role_updated",
			"map[member:map[email:ford@example.com id:m2 userId:u2] previousRole:member role:admin site:map[id:s1]]"},
		{"member removed", audit.MemberRemoved(o, bound), "site_membership", "user_removed",
			"map[member:map[email:ford@example.com id:m2 userId:u2] role:admin site:map[id:s1]]"},
		{"plan", audit.PlanChanged(o, tokensmith.PlanFree, tokensmith.PlanEnterprise), "workspace_setting", "setting_updated",
			"map[previousValue:enterprise setting:plan value:free]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ev.ID != o.ID || !tc.ev.Timestamp.Equal(o.Time) || tc.ev.Actor != o.Actor || tc.ev.Workspace != o.Workspace {
				t.Errorf("event = %+v; want the origin %+v", tc.ev, o)
			}
			if tc.ev.Type != tc.typ || tc.ev.SubType != tc.sub {
				t.Errorf("event is %s/%s; want %s/%s", tc.ev.Type, tc.ev.SubType, tc.typ, tc.sub)
			}
			if got := fmt.Sprint(tc.ev.Payload); tc.pay != "" && got != tc.pay {
				t.Errorf("payload = %s; want %s", got, tc.pay)
			}
			if got := fmt.Sprint(tc.ev.Payload); strings.Contains(got, tok.SecretHash) {
				t.Errorf("payload %s holds the secret's hash", got)
			}
		})
	}
}

// fixedEnd is t with a fixed end before its inactivity expiry.
func fixedEnd(t tokensmith.Token) tokensmith.Token {
	at := t.CreatedOn.Add(7 * 24 * time.Hour)
	t.ExpiresAt, t.ExpiresOn = &at, at
	return t
}
