package localdev_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
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
