package localdev_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/store"
)

// auditEnv is a stack whose workspace log holds a known history: the seed's
// two user_added events, then create and revoke pairs a minute apart.
type auditEnv struct {
	*env
	clock  *clock
	wsTok  string
	times  []time.Time // every event's timestamp, in order
	pairs  int
	origin time.Time
}

func newAuditEnv(t *testing.T, pairs int) *auditEnv {
	c := &clock{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	e := newEnvWith(t, 0, c.Now)
	a := &auditEnv{env: e, clock: c, pairs: pairs, origin: c.Now()}
	a.times = append(a.times, c.Now(), c.Now()) // the seed's two memberships
	// The admin's first call binds their invitation: a third event.
	if r := e.do("GET", "/v2/me", e.demo.AdminToken, ""); r.status != 200 {
		t.Fatalf("admin's first call = %d %s", r.status, r.raw)
	}
	a.times = append(a.times, c.Now())
	base := "/v2/sites/" + e.demo.SiteID + "/tokens/"
	for i := 0; i < pairs; i++ {
		c.Add(time.Minute)
		_, id := e.mint("site", `{"sites":"read"}`)
		a.times = append(a.times, c.Now())
		c.Add(time.Minute)
		if r := e.do("DELETE", base+id, e.demo.AdminToken, ""); r.status != 204 {
			t.Fatalf("revoke = %d", r.status)
		}
		a.times = append(a.times, c.Now())
	}
	c.Add(time.Minute)
	a.wsTok, _ = e.mint("workspace", `{"workspace_activity":"read"}`)
	a.times = append(a.times, c.Now())
	return a
}

func (a *auditEnv) get(ws, query string) response {
	a.t.Helper()
	return a.do("GET", "/v2/workspaces/"+ws+"/audit_logs"+query, a.wsTok, "")
}

// page reads the log with query and checks the events' timestamps.
func (a *auditEnv) page(t *testing.T, query string, want []time.Time) response {
	t.Helper()
	r := a.get(a.demo.WorkspaceID, query)
	if r.status != 200 {
		t.Fatalf("= %d %s", r.status, r.raw)
	}
	if got, want := fmt.Sprint(stamps(r)), fmt.Sprint(format(want)); got != want {
		t.Errorf("timestamps = %s; want %s", got, want)
	}
	return r
}

func stamps(r response) []string {
	var out []string
	items, _ := r.body["items"].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any)["timestamp"].(string))
	}
	return out
}

func format(ts []time.Time) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	return out
}

func reversed(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[len(ts)-1-i] = t
	}
	return out
}

func TestAuditLogPaging(t *testing.T) {
	a := newAuditEnv(t, 30) // 3 + 60 + 1 = 64 events
	n := len(a.times)
	tests := []struct {
		name, query string
		want        []time.Time
	}{
		{"default: newest first, up to 100", "", reversed(a.times)},
		{"ascending", "?sortOrder=asc", a.times},
		{"first page desc", "?limit=10", reversed(a.times)[:10]},
		{"second page desc", "?limit=10&offset=10", reversed(a.times)[10:20]},
		{"last partial page desc", "?limit=10&offset=60", reversed(a.times)[60:]},
		{"page across the end asc", "?limit=25&offset=50&sortOrder=asc", a.times[50:]},
		{"offset past the end", "?offset=64", nil},
		{"offset past the end asc", "?offset=64&sortOrder=asc", nil},
		{"largest offset desc", "?offset=9223372036854775807", nil},
		{"largest offset asc", "?offset=9223372036854775807&sortOrder=asc", nil},
		{"largest offset but one desc", "?offset=9223372036854775806&sortOrder=desc", nil},
		{"largest offset but one asc", "?offset=9223372036854775806&sortOrder=asc", nil},
		{"large offset, one event", "?offset=63&limit=100&sortOrder=asc", a.times[63:]},
		{"one event", "?limit=1&offset=5&sortOrder=asc", a.times[5:6]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.page(t, tc.query, tc.want)
			p, _ := r.body["pagination"].(map[string]any)
			if p["total"] != float64(n) {
				t.Errorf("total = %v; want %d", p["total"], n)
			}
		})
	}
	// Pages of any size, walked both ways, give every event exactly once.
	for _, order := range []string{"asc", "desc"} {
		var all []string
		for off := 0; off < n; off += 7 {
			all = append(all, stamps(a.get(a.demo.WorkspaceSlug, fmt.Sprintf("?limit=7&offset=%d&sortOrder=%s", off, order)))...)
		}
		want := a.times
		if order == "desc" {
			want = reversed(a.times)
		}
		if fmt.Sprint(all) != fmt.Sprint(format(want)) {
			t.Errorf("pages of 7 %s = %v; want %v", order, all, format(want))
		}
	}
}

func TestAuditLogFilters(t *testing.T) {
	a := newAuditEnv(t, 5) // events at origin x3, +1m .. +10m, +11m
	at := func(min int) string {
		return url.QueryEscape(a.origin.Add(time.Duration(min) * time.Minute).Format(time.RFC3339))
	}
	tests := []struct {
		name, query string
		want        []time.Time
	}{
		{"from is inclusive", "?sortOrder=asc&from=" + at(3), a.times[5:]},
		{"to is exclusive", "?sortOrder=asc&to=" + at(3), a.times[:5]},
		{"from and to", "?sortOrder=asc&from=" + at(3) + "&to=" + at(5), a.times[5:7]},
		{"range with offset", "?sortOrder=asc&from=" + at(1) + "&to=" + at(9) + "&offset=2&limit=3", a.times[5:8]},
		{"range before everything", "?to=" + at(-5), nil},
		{"range after everything", "?from=" + at(60), nil},
		{"event type", "?sortOrder=asc&eventType=workspace_membership", a.times[:3]},
		{"event type and range", "?sortOrder=asc&eventType=api_token&from=" + at(2) + "&to=" + at(4), a.times[4:6]},
		{"range with the largest offset asc", "?sortOrder=asc&eventType=api_token&from=" + at(2) + "&offset=9223372036854775807", nil},
		{"range with the largest offset desc", "?eventType=api_token&to=" + at(4) + "&offset=9223372036854775807", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.page(t, tc.query, tc.want)
		})
	}
	// Totals of ranges count what they match, offsets aside.
	r := a.get(a.demo.WorkspaceID, "?from="+at(1)+"&to="+at(9)+"&offset=6")
	if p, _ := r.body["pagination"].(map[string]any); p["total"] != 8.0 || len(stamps(r)) != 2 {
		t.Errorf("range total = %v with %d items; want 8 and 2", p["total"], len(stamps(r)))
	}
	r = a.get(a.demo.WorkspaceID, "?eventType=api_token")
	items, _ := r.body["items"].([]any)
	if p, _ := r.body["pagination"].(map[string]any); p["total"] != 11.0 || len(items) != 11 {
		t.Errorf("api_token total = %v; want 11", p["total"])
	}
	for _, it := range items {
		ev := it.(map[string]any)
		pl, _ := ev["payload"].(map[string]any)
		tok, _ := pl["token"].(map[string]any)
		if ev["eventType"] != "api_token" || tok["id"] == nil || tok["displayHint"] == nil || pl["scope"] == nil ||
			ev["actor"].(map[string]any)["email"] != "admin@example.com" || ev["workspace"].(map[string]any)["slug"] != "hitchhikers" {
			t.Errorf("event = %v", ev)
		}
	}
}

func TestAuditLogErrors(t *testing.T) {
	a := newAuditEnv(t, 1)
	for _, tc := range []struct{ query, field string }{
		{"?limit=0", "limit"}, {"?limit=101", "limit"}, {"?limit=x", "limit"}, {"?offset=-1", "offset"},
		{"?sortOrder=up", "sortOrder"}, {"?eventType=token_created", "eventType"},
		{"?from=yesterday", "from"}, {"?to=2026-13-01T00:00:00Z", "to"},
		{"?from=2026-11-22T12:00:00Z&to=2026-11-22T12:00:00Z", "to"},
		{"?limit=1&limit=2", "limit"},
		{"?offset=9223372036854775808", "offset"}, {"?offset=9223372036854775808&sortOrder=asc", "offset"},
		{"?offset=99999999999999999999999999999999", "offset"}, {"?offset=-9223372036854775809", "offset"},
		{"?offset=ten", "offset"}, {"?limit=9223372036854775807", "limit"}, {"?limit=-9223372036854775808", "limit"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := a.get(a.demo.WorkspaceID, tc.query)
			wantError(t, r, 400, "validation_error")
			d, _ := r.body["details"].([]any)
			if len(d) == 0 || d[0].(map[string]any)["field"] != tc.field {
				t.Errorf("details = %v; want one naming %s", d, tc.field)
			}
		})
	}
	// Isolation: another workspace's log is not found, by id or slug, and a
	// site token or a member's user token cannot read any (an admin's can:
	// TestAuditLogForPeople).
	other, err := a.stack.Operator.CreateWorkspace(t.Context(), "vogons", "Vogons", tokensmith.PlanEnterprise)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, a.get(other.ID, ""), 404, "resource_not_found")
	wantError(t, a.get("vogons", ""), 404, "resource_not_found")
	wantError(t, a.get("no-such-workspace", ""), 404, "resource_not_found")
	// A slug longer than any key DynamoDB takes is not found either, never
	// DynamoDB's refusal as a 500.
	wantError(t, a.get(strings.Repeat("a", 2100), ""), 404, "resource_not_found")
	wantError(t, a.get(strings.Repeat("%C3%A9", 1100), ""), 404, "resource_not_found")
	site, _ := a.mint("site", `{"sites":"read"}`)
	wantError(t, a.do("GET", "/v2/workspaces/"+a.demo.WorkspaceID+"/audit_logs", site, ""), 403, "missing_scopes")
	// The log reads the memberships a sign-in bound (any other management
	// call, the console's GET /v2/me first): until then the member holds
	// nothing here.
	wantError(t, a.do("GET", "/v2/workspaces/"+a.demo.WorkspaceID+"/audit_logs", a.demo.MemberToken, ""), 404, "resource_not_found")
	if r := a.do("GET", "/v2/me", a.demo.MemberToken, ""); r.status != 200 {
		t.Fatalf("GET /v2/me: %d", r.status)
	}
	wantError(t, a.do("GET", "/v2/workspaces/"+a.demo.WorkspaceID+"/audit_logs", a.demo.MemberToken, ""), 403, "forbidden")

	// Not on enterprise: the log is refused (by the authorizer, which learns
	// the plan from the token's secret, or by the log itself).
	if _, err := a.stack.Operator.SetPlan(t.Context(), a.demo.WorkspaceSlug, tokensmith.PlanFree); err != nil {
		t.Fatal(err)
	}
	wantError(t, a.get(a.demo.WorkspaceSlug, ""), 403, "not_enterprise_plan_workspace")
}

// TestAuditEventOnlyWithItsChange fails transactions with a conflicting
// condition and finds neither the change nor its event.
func TestAuditEventOnlyWithItsChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := len(e.items("AUDIT#"))
	ws, err := e.stack.Store.Workspace(ctx, e.demo.WorkspaceID)
	if err != nil {
		t.Fatal(err)
	}
	counters, err := e.stack.Store.AuditCounters(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	site, err := e.stack.Store.Site(ctx, e.demo.SiteID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ev := tokensmith.Event{ID: "x", Type: audit.TypeAPIToken, SubType: audit.SubTokenCreated, Timestamp: now,
		Workspace: tokensmith.WorkspaceRef{ID: ws.ID, Slug: ws.Slug}}
	tok := tokensmith.Token{ID: "0000000000000000000000aa", Kind: "site", SiteID: site.ID, WorkspaceID: ws.ID, SecretHash: "h", CreatedOn: now, ExpiresOn: now.Add(time.Hour)}
	// A stale token version: the create's condition fails.
	if err := e.stack.Store.CreateToken(ctx, site.TokenVersion+7, "", 0, tok, ev, nil, now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateToken at a wrong version = %v; want ErrConflict", err)
	}
	// A role change of a member that is not there.
	ghost := tokensmith.Member{ID: "0000000000000000000000bb", Place: tokensmith.Place{WorkspaceID: ws.ID}, Email: "nobody@example.com", Role: tokensmith.RoleMember}
	if err := e.stack.Store.SetRole(ctx, ghost, tokensmith.RoleAdmin,
		tokensmith.Event{ID: "y", Type: audit.TypeWorkspaceMembership, SubType: "user_role_updated", Timestamp: now, Workspace: ev.Workspace}); err == nil {
		t.Fatal("SetRole of a missing member succeeded")
	}
	// A revoke of a token that is not there.
	if err := e.stack.Store.RevokeToken(ctx, tok, ev); err == nil {
		t.Fatal("RevokeToken of a missing token succeeded")
	}
	if after := len(e.items("AUDIT#")); after != before {
		t.Errorf("%d audit events after failed changes; want %d", after, before)
	}
	if n := len(e.items("SECRET#")); n != 0 {
		t.Errorf("failed create left %d secrets", n)
	}
	if after, err := e.stack.Store.AuditCounters(ctx, e.demo.WorkspaceID); err != nil || after.Seq != counters.Seq {
		t.Errorf("audit counter moved from %d to %d", counters.Seq, after.Seq)
	}
	if m, err := e.stack.Store.Member(ctx, ghost.Place, ghost.ID); err == nil {
		t.Errorf("failed membership change left member %+v", m)
	}
	if after, err := e.stack.Store.Workspace(ctx, ws.ID); err != nil || after.Admins != ws.Admins {
		t.Errorf("failed membership change moved the admin count from %d to %d", ws.Admins, after.Admins)
	}
	if !strings.Contains(fmt.Sprint(e.items("AUDIT#")), "user_added") {
		t.Error("the seed's events are missing")
	}
}

// TestAuditLogForPeople holds the audit log's user-token access: workspace
// admins read it as a workspace token does, a member is forbidden, and
// anyone else finds nothing, whether or not the workspace exists.
func TestAuditLogForPeople(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	wsTok, _ := e.mint("workspace", `{"workspace_activity":"read"}`)
	other, err := e.stack.Operator.CreateWorkspace(ctx, "vogons", "Vogons", tokensmith.PlanEnterprise)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Operator.AddMember(ctx, other.ID, "", "jeltz@example.com", tokensmith.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	free, err := e.stack.Operator.CreateWorkspace(ctx, "magrathea", "Magrathea", tokensmith.PlanFree)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Operator.AddMember(ctx, free.ID, "", localdev.DemoAdminEmail, tokensmith.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	person := func(email string) string {
		tok, err := e.stack.Issuer.Sign(issuer.Claims{Email: email}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	stranger := person("stranger@example.com")
	jeltz := person("jeltz@example.com")
	// Each person signs in first, as the console does with GET /v2/me: the
	// log reads the memberships a sign-in bound.
	for _, cred := range []string{e.demo.AdminToken, e.demo.MemberToken, jeltz, stranger} {
		if r := e.do("GET", "/v2/me", cred, ""); r.status != 200 {
			t.Fatalf("GET /v2/me: %d %v", r.status, r.body)
		}
	}
	tests := []struct {
		name, ws, cred string
		status         int
		code           string
	}{
		{"admin by id", e.demo.WorkspaceID, e.demo.AdminToken, 200, ""},
		{"admin by slug", e.demo.WorkspaceSlug, e.demo.AdminToken, 200, ""},
		{"member", e.demo.WorkspaceID, e.demo.MemberToken, 403, "forbidden"},
		{"admin of another workspace", e.demo.WorkspaceID, jeltz, 404, "resource_not_found"},
		{"signed in, no membership", e.demo.WorkspaceID, stranger, 404, "resource_not_found"},
		{"workspace that does not exist", "0000000000000000000000ff", e.demo.AdminToken, 404, "resource_not_found"},
		{"admin of a free workspace", free.ID, e.demo.AdminToken, 403, "not_enterprise_plan_workspace"},
		{"member of no workspace, free one", free.ID, e.demo.MemberToken, 404, "resource_not_found"},
		{"expired user token", e.demo.WorkspaceID, func() string {
			tok, _ := e.stack.Issuer.Sign(issuer.Claims{Email: localdev.DemoAdminEmail}, time.Now().Add(-2*time.Hour), time.Hour)
			return tok
		}(), 401, "not_authorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/v2/workspaces/"+tc.ws+"/audit_logs?limit=100", tc.cred, "")
			if tc.status != 200 {
				wantError(t, r, tc.status, tc.code)
				return
			}
			if r.status != 200 {
				t.Fatalf("= %d %s; want 200", r.status, r.raw)
			}
			// Rate limits are API tokens': a person's read is not counted.
			if got := r.header.Get("X-RateLimit-Limit"); got != "" {
				t.Errorf("X-RateLimit-Limit = %q on a person's read; want none", got)
			}
			// The same page a workspace token reads, byte for byte.
			if byToken := e.do("GET", "/v2/workspaces/"+tc.ws+"/audit_logs?limit=100", wsTok, ""); byToken.raw != r.raw {
				t.Errorf("admin read\n%s\nworkspace token read\n%s", r.raw, byToken.raw)
			}
		})
	}
}
