package localdev_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
)

const day = 24 * time.Hour

// mintFor creates a token with body as the demo admin and returns its
// secret and the ApiToken answered.
func (e *env) mintFor(kind, body string) (string, map[string]any) {
	e.t.Helper()
	path := "/v2/sites/" + e.demo.SiteID + "/tokens"
	if kind == "workspace" {
		path = "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens"
	}
	r := e.do("POST", path, e.demo.AdminToken, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create %s %s = %d %s", kind, body, r.status, r.raw)
	}
	api, _ := r.body["apiToken"].(map[string]any)
	return r.str("token"), api
}

// ttls returns the TTL attribute of every item whose key begins with
// prefix and that belongs to token id (its record or its secrets).
func (e *env) ttls(prefix, id string) []int64 {
	e.t.Helper()
	var out []int64
	for _, it := range e.items(prefix) {
		var v struct {
			ID        string `json:"id"`
			TokenID   string `json:"tokenId"`
			ExpiresAt int64  `json:"expiresAt"`
		}
		if err := json.Unmarshal([]byte(it), &v); err != nil {
			e.t.Fatal(err)
		}
		if v.ID == id || v.TokenID == id {
			out = append(out, v.ExpiresAt)
		}
	}
	return out
}

// TestFixedExpiryToTheSecond: a token created with expiresInDays shows
// that end as expiresAt and expiresOn, keeps it however it is used, works
// until the last second before it and is refused (401, gone from lists,
// not revocable) from that second on; its items' TTL is that end.
func TestFixedExpiryToTheSecond(t *testing.T) {
	for _, kind := range []string{"site", "workspace"} {
		t.Run(kind, func(t *testing.T) {
			c := &clock{now: modelStart}
			e := newEnvWith(t, 0, c.Now)
			perms, path := `{"sites":"read"}`, "/v2/sites"
			base := "/v2/sites/" + e.demo.SiteID + "/tokens/"
			if kind == "workspace" {
				perms, path = `{"workspace_activity":"read"}`, "/v2/workspaces/"+e.demo.WorkspaceID+"/audit_logs?limit=1"
				base = "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens/"
			}
			secret, api := e.mintFor(kind, `{"name":"Week","permissions":`+perms+`,"expiresInDays":7}`)
			end := c.Now().Add(7 * day)
			if api["expiresAt"] != mTime(end) || api["expiresOn"] != mTime(end) {
				t.Errorf("created expiresAt %v, expiresOn %v; want both %s", api["expiresAt"], api["expiresOn"], mTime(end))
			}
			id, _ := api["id"].(string)
			for _, prefix := range []string{"SITE#", "WS#", "SECRET#"} {
				for _, ttl := range e.ttls(prefix, id) {
					if ttl != end.Unix() {
						t.Errorf("%s item of the token has TTL %d; want its fixed end %d", prefix, ttl, end.Unix())
					}
				}
			}
			c.Add(2 * day)
			if got := e.do("GET", path, secret, "").status; got != 200 {
				t.Fatalf("use within the lifetime = %d; want 200", got)
			}
			// A use moves the inactivity expiry, never past the fixed end.
			in := e.do("GET", "/v2/token/introspect", secret, "")
			if got := in.str("authorization", "expiresOn"); got != mTime(end) {
				t.Errorf("introspected expiresOn after a use = %s; want %s", got, mTime(end))
			}
			if g := e.do("GET", base+id, e.demo.AdminToken, ""); g.str("expiresOn") != mTime(end) || g.str("expiresAt") != mTime(end) {
				t.Errorf("after a use: expiresOn %s, expiresAt %s; want both %s", g.str("expiresOn"), g.str("expiresAt"), mTime(end))
			}
			for _, ttl := range e.ttls("SECRET#", id) {
				if ttl != end.Unix() {
					t.Errorf("secret TTL after a use = %d; want %d", ttl, end.Unix())
				}
			}
			c.now = end.Add(-time.Second)
			if got := e.do("GET", path, secret, "").status; got != 200 {
				t.Errorf("use at the last second = %d; want 200", got)
			}
			c.Add(time.Second)
			wantError(t, e.do("GET", path, secret, ""), 401, "not_authorized")
			wantError(t, e.do("GET", "/v2/token/introspect", secret, ""), 401, "not_authorized")
			wantError(t, e.do("GET", base+id, e.demo.AdminToken, ""), 404, "resource_not_found")
			if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+secret+`"}`); r.body["didRevoke"] != false {
				t.Errorf("revoke of an expired secret = %s; want didRevoke false", r.raw)
			}
		})
	}
}

// TestNoLifetimeShowsNull: without expiresInDays a token has no fixed end:
// expiresAt is null and expiresOn the inactivity expiry.
func TestNoLifetimeShowsNull(t *testing.T) {
	c := &clock{now: modelStart}
	e := newEnvWith(t, 0, c.Now)
	_, api := e.mintFor("site", `{"name":"Forever","permissions":{"sites":"read"},"expiresInDays":null}`)
	if v, ok := api["expiresAt"]; !ok || v != nil {
		t.Errorf("expiresAt = %v (present %v); want null", v, ok)
	}
	if api["expiresOn"] != mTime(c.Now().Add(365*day)) {
		t.Errorf("expiresOn = %v; want 365 days on", api["expiresOn"])
	}
}

// TestRegenerateLifetime: a regenerate without expiresInDays gives the new
// secret the lifetime the token was created with, from now; with it, that
// many days; a token created without one keeps none. A grace period never
// outlives the old secret's fixed end.
func TestRegenerateLifetime(t *testing.T) {
	c := &clock{now: modelStart}
	e := newEnvWith(t, 0, c.Now)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens/"
	regen := func(id, body string) (string, map[string]any) {
		t.Helper()
		r := e.do("POST", base+id+"/regenerate", e.demo.AdminToken, body)
		if r.status != 200 {
			t.Fatalf("regenerate %s = %d %s", body, r.status, r.raw)
		}
		api, _ := r.body["apiToken"].(map[string]any)
		return r.str("token"), api
	}
	_, api := e.mintFor("site", `{"name":"Month","permissions":{"sites":"read"},"expiresInDays":30}`)
	id, _ := api["id"].(string)

	c.Add(10 * day)
	_, got := regen(id, "")
	if want := mTime(c.Now().Add(30 * day)); got["expiresAt"] != want || got["expiresOn"] != want {
		t.Errorf("regenerate without expiresInDays: expiresAt %v, expiresOn %v; want %s (30 days from now)", got["expiresAt"], got["expiresOn"], want)
	}
	c.Add(day)
	_, got = regen(id, `{"expiresInDays":7}`)
	if want := mTime(c.Now().Add(7 * day)); got["expiresAt"] != want {
		t.Errorf("regenerate with 7 days: expiresAt %v; want %s", got["expiresAt"], want)
	}
	c.Add(day)
	_, got = regen(id, `{}`)
	if want := mTime(c.Now().Add(30 * day)); got["expiresAt"] != want {
		t.Errorf("regenerate after a 7-day one: expiresAt %v; want %s, the lifetime first chosen", got["expiresAt"], want)
	}

	_, api = e.mintFor("site", `{"name":"Forever","permissions":{"sites":"read"}}`)
	forever, _ := api["id"].(string)
	if _, got = regen(forever, ""); got["expiresAt"] != nil {
		t.Errorf("regenerate of a token without a lifetime: expiresAt %v; want null", got["expiresAt"])
	}

	// A one-day token regenerated with two hours of grace an hour before
	// its end: the old secret stops at its end, the new one lives on.
	old, api := e.mintFor("site", `{"name":"Day","permissions":{"sites":"read"},"expiresInDays":1}`)
	dayID, _ := api["id"].(string)
	end := c.Now().Add(day)
	c.now = end.Add(-time.Hour)
	current, _ := regen(dayID, `{"gracePeriodSeconds":7200}`)
	c.now = end.Add(-time.Second)
	if got := e.do("GET", "/v2/sites", old, "").status; got != 200 {
		t.Errorf("old secret at the last second of its lifetime, in its grace period = %d; want 200", got)
	}
	c.now = end
	wantError(t, e.do("GET", "/v2/sites", old, ""), 401, "not_authorized")
	if got := e.do("GET", "/v2/sites", current, "").status; got != 200 {
		t.Errorf("new secret after the old one's end = %d; want 200", got)
	}
}

// TestLifetimeValidation: expiresInDays outside 1..366, or not a whole
// number, is a 400 validation_error naming it, on create and regenerate,
// and changes nothing.
func TestLifetimeValidation(t *testing.T) {
	e := newEnv(t)
	_, api := e.mintFor("site", `{"name":"Longest","permissions":{"sites":"read"},"expiresInDays":366}`)
	id, _ := api["id"].(string)
	_, _ = e.mintFor("site", `{"name":"Shortest","permissions":{"sites":"read"},"expiresInDays":1}`)
	before := e.state()
	for _, v := range []string{"0", "367", "-1", "1.5", `"7"`, "true", "1e3"} {
		r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, `{"name":"x","permissions":{"sites":"read"},"expiresInDays":`+v+`}`)
		wantError(t, r, 400, "validation_error")
		if d, _ := r.body["details"].([]any); len(d) == 0 || d[0].(map[string]any)["field"] != "expiresInDays" {
			t.Errorf("create with expiresInDays %s: details %v; want expiresInDays", v, r.body["details"])
		}
		r = e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id+"/regenerate", e.demo.AdminToken, `{"expiresInDays":`+v+`}`)
		wantError(t, r, 400, "validation_error")
		if d, _ := r.body["details"].([]any); len(d) == 0 || d[0].(map[string]any)["field"] != "expiresInDays" {
			t.Errorf("regenerate with expiresInDays %s: details %v; want expiresInDays", v, r.body["details"])
		}
	}
	after := e.state()
	slices.Sort(before)
	slices.Sort(after)
	if !slices.Equal(before, after) {
		t.Errorf("refused requests changed the table:\n%v\nthen\n%v", before, after)
	}
}

// lastEvent returns the newest event of type typ in the demo workspace's
// audit log, as its admin reads it.
func (e *env) lastEvent(typ string) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceID+"/audit_logs?limit=1&eventType="+typ, e.demo.AdminToken, "")
	items, _ := r.body["items"].([]any)
	if r.status != 200 || len(items) != 1 {
		e.t.Fatalf("audit log of %s = %d %s; want one event", typ, r.status, r.raw)
	}
	return items[0].(map[string]any)
}

// TestLifetimePolicy: a workspace admin sets a maximum token lifetime,
// which members read and may not change; it is recorded with its old and
// new values; while it is set, creates and regenerates of site and
// workspace tokens must choose a lifetime within it; tokens made before it
// keep working, marked exceedsPolicy in lists; removing it lifts it.
func TestLifetimePolicy(t *testing.T) {
	c := &clock{now: modelStart}
	e := newEnvWith(t, 0, c.Now)
	settings := "/v2/workspaces/" + e.demo.WorkspaceID + "/settings"
	siteTokens := "/v2/sites/" + e.demo.SiteID + "/tokens"
	wsTokens := "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens"
	admin, member := e.demo.AdminToken, e.demo.MemberToken

	if r := e.do("GET", settings, member, ""); r.status != 200 || strings.TrimSpace(r.raw) != `{"maxTokenLifetimeDays":null}` {
		t.Fatalf("settings before a policy = %d %s; want maxTokenLifetimeDays null", r.status, r.raw)
	}
	forever, api := e.mintFor("site", `{"name":"Forever","permissions":{"sites":"read"}}`)
	foreverID, _ := api["id"].(string)
	_, api = e.mintFor("site", `{"name":"Week","permissions":{"sites":"read"},"expiresInDays":7}`)
	weekID, _ := api["id"].(string)

	wantError(t, e.do("PATCH", settings, member, `{"maxTokenLifetimeDays":30}`), 403, "forbidden")
	r := e.do("PATCH", settings, admin, `{"maxTokenLifetimeDays":367}`)
	wantError(t, r, 400, "validation_error")
	if d, _ := r.body["details"].([]any); len(d) != 1 || d[0].(map[string]any)["field"] != "maxTokenLifetimeDays" {
		t.Errorf("367 days: details %v; want maxTokenLifetimeDays", r.body["details"])
	}
	if r := e.do("PATCH", settings, admin, `{"maxTokenLifetimeDays":30}`); r.status != 200 || strings.TrimSpace(r.raw) != `{"maxTokenLifetimeDays":30}` {
		t.Fatalf("set the policy = %d %s", r.status, r.raw)
	}
	if r := e.do("GET", settings, member, ""); strings.TrimSpace(r.raw) != `{"maxTokenLifetimeDays":30}` {
		t.Errorf("a member reads %s; want the policy of 30 days", r.raw)
	}
	ev := e.lastEvent("workspace_setting")
	p, _ := ev["payload"].(map[string]any)
	actor, _ := ev["actor"].(map[string]any)
	if ev["eventSubType"] != "setting_updated" || p["setting"] != "maxTokenLifetimeDays" || p["previousValue"] != nil || p["value"] != float64(30) ||
		actor["email"] != "admin@example.com" {
		t.Errorf("event = %v; want setting_updated of maxTokenLifetimeDays from null to 30 by the admin", ev)
	}

	for _, tc := range []struct{ path, perms string }{{siteTokens, `{"sites":"read"}`}, {wsTokens, `{"workspace_activity":"read"}`}} {
		for _, body := range []string{
			`{"name":"x","permissions":` + tc.perms + `}`,
			`{"name":"x","permissions":` + tc.perms + `,"expiresInDays":31}`,
			`{"name":"x","permissions":` + tc.perms + `,"expiresInDays":null}`,
		} {
			r := e.do("POST", tc.path, admin, body)
			wantError(t, r, 400, "validation_error")
			d, _ := r.body["details"].([]any)
			if len(d) != 1 || d[0].(map[string]any)["field"] != "expiresInDays" || !strings.Contains(d[0].(map[string]any)["message"].(string), "30 days") {
				t.Errorf("create %s under a 30-day policy: details %v; want expiresInDays naming the policy", body, r.body["details"])
			}
		}
		if r := e.do("POST", tc.path, admin, `{"name":"Month","permissions":`+tc.perms+`,"expiresInDays":30}`); r.status != 201 {
			t.Errorf("create of 30 days under a 30-day policy = %d %s", r.status, r.raw)
		}
	}

	// Existing tokens keep working and their expiry; lists mark the one
	// that outlives the policy.
	if got := e.do("GET", "/v2/sites", forever, "").status; got != 200 {
		t.Errorf("a token made before the policy = %d; want 200", got)
	}
	list := e.do("GET", siteTokens, admin, "")
	marks := map[string]any{}
	for _, x := range list.body["apiTokens"].([]any) {
		tok := x.(map[string]any)
		marks[tok["name"].(string)] = tok["exceedsPolicy"]
		if tok["id"] == foreverID && tok["expiresAt"] != nil {
			t.Errorf("the token made before the policy got expiresAt %v", tok["expiresAt"])
		}
	}
	if marks["Forever"] != true || marks["Week"] != false || marks["Month"] != false {
		t.Errorf("exceedsPolicy by name = %v; want Forever true, Week and Month false", marks)
	}
	if g := e.do("GET", siteTokens+"/"+weekID, admin, ""); g.body["exceedsPolicy"] != nil {
		t.Errorf("get shows exceedsPolicy %v; want it in lists only", g.body["exceedsPolicy"])
	}

	// Regenerate: a lifetime within the policy is required, even for a
	// token whose own lifetime would fit.
	for _, body := range []string{"", `{"gracePeriodSeconds":60}`, `{"expiresInDays":31}`} {
		r := e.do("POST", siteTokens+"/"+weekID+"/regenerate", admin, body)
		wantError(t, r, 400, "validation_error")
		if d, _ := r.body["details"].([]any); len(d) != 1 || d[0].(map[string]any)["field"] != "expiresInDays" {
			t.Errorf("regenerate %q under the policy: details %v; want expiresInDays", body, r.body["details"])
		}
	}
	r = e.do("POST", siteTokens+"/"+foreverID+"/regenerate", admin, `{"expiresInDays":30}`)
	if r.status != 200 || r.str("apiToken", "expiresAt") != mTime(c.Now().Add(30*day)) {
		t.Errorf("regenerate with 30 days = %d %s", r.status, r.raw)
	}

	// Removed: anything goes again, and the change is recorded.
	if r := e.do("PATCH", settings, admin, `{"maxTokenLifetimeDays":null}`); r.status != 200 || strings.TrimSpace(r.raw) != `{"maxTokenLifetimeDays":null}` {
		t.Fatalf("remove the policy = %d %s", r.status, r.raw)
	}
	if p, _ := e.lastEvent("workspace_setting")["payload"].(map[string]any); p["previousValue"] != float64(30) || p["value"] != nil {
		t.Errorf("removal recorded %v; want from 30 to null", p)
	}
	if r := e.do("POST", siteTokens, admin, `{"name":"Free again","permissions":{"sites":"read"}}`); r.status != 201 {
		t.Errorf("create without a lifetime after the policy's removal = %d %s", r.status, r.raw)
	}
}

// TestSettingsWhoMay: the settings of a workspace are read by those who
// belong to it and by no one else (404), and an unchanged PATCH records
// nothing.
func TestSettingsWhoMay(t *testing.T) {
	e := newEnv(t)
	other, err := e.stack.Operator.CreateWorkspace(context.Background(), "elsewhere", "Elsewhere", tokensmith.PlanFree)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("GET", "/v2/workspaces/"+other.ID+"/settings", e.demo.AdminToken, ""), 404, "resource_not_found")
	wantError(t, e.do("PATCH", "/v2/workspaces/"+other.ID+"/settings", e.demo.AdminToken, `{"maxTokenLifetimeDays":7}`), 404, "resource_not_found")
	wantError(t, e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceSlug+"/settings", e.demo.AdminToken, ""), 404, "resource_not_found")
	before := e.state()
	if r := e.do("PATCH", "/v2/workspaces/"+e.demo.WorkspaceID+"/settings", e.demo.AdminToken, `{"maxTokenLifetimeDays":null}`); r.status != 200 {
		t.Fatalf("unchanged PATCH = %d %s", r.status, r.raw)
	}
	after := e.state()
	slices.Sort(before)
	slices.Sort(after)
	if !slices.Equal(before, after) {
		t.Errorf("a PATCH that changes nothing changed the table")
	}
}

// TestSitePlanChangeIsAudited: a site's plan or rate limit set by an
// operator writes site_setting/setting_updated with the old and new
// values; setting them as they are writes nothing.
func TestSitePlanChangeIsAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.do("GET", "/v2/me", e.demo.AdminToken, "") // binds the admin, who reads the log
	if _, err := e.stack.Operator.SetSitePlan(ctx, e.demo.SiteID, tokensmith.SitePlanEnterprise, 900); err != nil {
		t.Fatal(err)
	}
	ev := e.lastEvent("site_setting")
	p, _ := ev["payload"].(map[string]any)
	plan, _ := p["plan"].(map[string]any)
	limit, _ := p["rateLimit"].(map[string]any)
	site, _ := p["site"].(map[string]any)
	if ev["eventSubType"] != "setting_updated" || site["id"] != e.demo.SiteID || plan["previousValue"] != "cms" || plan["value"] != "enterprise" ||
		limit["previousValue"] != float64(120) || limit["value"] != float64(900) {
		t.Errorf("event = %v; want the plan from cms to enterprise and the rate limit from 120 to 900", ev)
	}
	if _, err := e.stack.Operator.SetSitePlan(ctx, e.demo.SiteID, tokensmith.SitePlanEnterprise, 900); err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Operator.SetSitePlan(ctx, e.demo.SiteID, tokensmith.SitePlanEnterprise, 60); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.lastEvent("site_setting")["payload"].(map[string]any); fmt.Sprint(p["rateLimit"]) != "map[previousValue:900 value:60]" {
		t.Errorf("rate limit change recorded %v", p)
	}
	r := e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceID+"/audit_logs?eventType=site_setting", e.demo.AdminToken, "")
	if items, _ := r.body["items"].([]any); len(items) != 2 {
		t.Errorf("%d site_setting events after a change, a repeat and another change; want 2", len(items))
	}
}
