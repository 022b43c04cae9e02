package localdev_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// mint creates a site token with perms as the demo admin and returns its
// secret and id.
func (e *env) mint(kind, perms string) (string, string) {
	e.t.Helper()
	path := "/v2/sites/" + e.demo.SiteID + "/tokens"
	if kind == "workspace" {
		path = "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens"
	}
	r := e.do("POST", path, e.demo.AdminToken, `{"name":"test","permissions":`+perms+`}`)
	if r.status != http.StatusCreated {
		e.t.Fatalf("mint %s %s = %d %s", kind, perms, r.status, r.raw)
	}
	return r.str("token"), r.str("apiToken", "id")
}

func TestDataAPI(t *testing.T) {
	e := newEnv(t)
	secret, id := e.mint("site", `{"sites":"read","cms":"read"}`)

	list := e.do("GET", "/v2/sites", secret, "")
	sites, _ := list.body["sites"].([]any)
	if list.status != 200 || len(sites) != 1 {
		t.Fatalf("GET /v2/sites = %d %s", list.status, list.raw)
	}
	site := sites[0].(map[string]any)
	if site["id"] != e.demo.SiteID || site["shortName"] != "heart-of-gold" || site["displayName"] != "Heart of Gold Spaceship" ||
		site["workspaceId"] != e.demo.WorkspaceID || site["timeZone"] == "" {
		t.Errorf("site = %v", site)
	}
	for _, field := range []string{"createdOn", "lastPublished", "lastUpdated", "previewUrl", "parentFolderId", "customDomains", "locales"} {
		if _, ok := site[field]; !ok {
			t.Errorf("site lacks %s: %v", field, site)
		}
	}
	if g := e.do("GET", "/v2/sites/"+e.demo.SiteID, secret, ""); g.status != 200 || g.str("id") != e.demo.SiteID {
		t.Errorf("GET site = %d %s", g.status, g.raw)
	}
	other, err := e.stack.Operator.CreateSite(t.Context(), e.demo.WorkspaceID, "Bistromath", "bistromath", "")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("GET", "/v2/sites/"+other.ID, secret, ""), 404, "resource_not_found")
	wantError(t, e.do("GET", "/v2/sites/0000000000000000000000ff", secret, ""), 404, "resource_not_found")

	in := e.do("GET", "/v2/token/introspect", secret, "")
	auth, _ := in.body["authorization"].(map[string]any)
	to, _ := auth["authorizedTo"].(map[string]any)
	if in.status != 200 || auth["id"] != id || auth["kind"] != "site" || auth["grantType"] != "client_credentials" ||
		auth["scope"] != "cms:read,sites:read" || fmt.Sprint(to["siteIds"]) != "["+e.demo.SiteID+"]" || auth["lastUsed"] == nil {
		t.Errorf("introspect = %d %s", in.status, in.raw)
	}
	if strings.Contains(in.raw, secret) {
		t.Error("introspect shows the secret")
	}
	got := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, "")
	// The function serving a request notes its use, each running instance
	// at most once a minute: the sites function wrote its first use, and the
	// tokens function the introspection; the sites function's later three
	// wait for its next write.
	if got.str("lastUsed") == "" || got.body["useCount"] != 2.0 {
		t.Errorf("after 5 uses within a minute: lastUsed %q, useCount %v; want set and 2 (written once a minute per function instance)", got.str("lastUsed"), got.body["useCount"])
	}

	// Workspace tokens hold no site scope; a site token without sites:read is refused.
	ws, _ := e.mint("workspace", `{"workspace_activity":"read"}`)
	r := e.do("GET", "/v2/sites", ws, "")
	wantError(t, r, 403, "missing_scopes")
	if r.str("message") != "You are missing the following scopes - sites:read" {
		t.Errorf("message = %q", r.str("message"))
	}
	if wsIn := e.do("GET", "/v2/token/introspect", ws, ""); wsIn.status != 200 || wsIn.str("authorization", "kind") != "workspace" {
		t.Errorf("workspace introspect = %d %s", wsIn.status, wsIn.raw)
	}
	cms, _ := e.mint("site", `{"cms":"read_write"}`)
	wantError(t, e.do("GET", "/v2/sites/"+e.demo.SiteID, cms, ""), 403, "missing_scopes")
}

// TestScopeMatrix drives every route of the route table with every kind of
// credential and checks what the gateway and functions answer.
func TestScopeMatrix(t *testing.T) {
	e := newEnv(t)
	allSite := map[string]string{}
	for _, api := range scope.APIs(token.KindSite) {
		allSite[api] = "read"
	}
	var b strings.Builder
	for k, v := range allSite {
		fmt.Fprintf(&b, `,%q:%q`, k, v)
	}
	siteAll, siteAllID := e.mint("site", "{"+b.String()[1:]+"}")
	// What the site token holds decides which routes refuse it: every site
	// API at read, as upstream routes may need any of them.
	allSiteScopes := map[string]scope.Level{}
	for k := range allSite {
		allSiteScopes[k] = scope.Read
	}
	siteAllScope := scope.Join(scope.Expand(allSiteScopes))
	siteNone, _ := e.mint("site", `{"forms":"read"}`)
	ws, wsID := e.mint("workspace", `{"workspace_activity":"read"}`)
	// The checksum's last character changed: to "x", or to "y" when it is "x".
	badChecksum := siteAll[:len(siteAll)-1] + map[bool]string{false: "x", true: "y"}[strings.HasSuffix(siteAll, "x")]
	creds := map[string]string{
		"none": "", "garbage": "garbage", "bad checksum": badChecksum,
		"site token": siteAll, "site token without the scope": siteNone, "workspace token": ws, "user token": e.demo.AdminToken,
	}
	params := map[string]string{"{site_id}": e.demo.SiteID, "{workspace_id}": e.demo.WorkspaceID, "{token_id}": siteAllID,
		"{workload_id}": "0000000000000000000000ff"}
	for _, rt := range route.Table {
		if rt.Function == route.Console {
			continue // pages, not the API's JSON: TestConsoleServed holds them
		}
		path := rt.Path
		for k, v := range params {
			path = strings.ReplaceAll(path, k, v)
		}
		if strings.HasPrefix(rt.Path, "/v2/workspaces/") {
			path = strings.ReplaceAll(path, siteAllID, wsID)
		}
		for name, cred := range creds {
			t.Run(rt.Op+"/"+name, func(t *testing.T) {
				// Bodies that change nothing: an invalid create, a regenerate
				// of nothing, a revoke of garbage.
				body := ""
				switch rt.Op {
				case "createSiteToken", "createWorkspaceToken", "createTrustedWorkload":
					body = `{"name":""}`
				case "revokeTokenBySecret":
					body = `{"token":"garbage"}`
				case "updateWorkspaceSettings":
					body = `{}`
				}
				if rt.Method == "DELETE" || rt.Op == "regenerateSiteToken" {
					path = strings.ReplaceAll(path, siteAllID, "0000000000000000000000ff")
					path = strings.ReplaceAll(path, wsID, "0000000000000000000000ff")
				}
				r := e.do(rt.Method, path, cred, body)
				switch {
				case rt.Op == "exchangeToken":
					// The workload's token in the form is its credential,
					// whatever the Authorization header holds; an empty
					// form is RFC 6749's invalid_request.
					if r.status != 400 || r.str("error") != "invalid_request" {
						t.Errorf("exchange = %d %s; want 400 invalid_request", r.status, r.raw)
					}
				case rt.Op == "reportGitHubSecrets":
					// GitHub's signature is its credential, whatever the
					// Authorization header holds (TestSecretScanning).
					wantError(t, r, 401, "not_authorized")
				case rt.Auth == route.Public:
					if r.status != 200 {
						t.Errorf("public route = %d %s", r.status, r.raw)
					}
				case rt.Auth == route.User && name != "user token",
					rt.Auth == route.APIToken && (name == "none" || name == "garbage" || name == "bad checksum" || name == "user token"),
					rt.Auth == route.APITokenOrUser && (name == "none" || name == "garbage" || name == "bad checksum"):
					wantError(t, r, 401, "not_authorized")
				case rt.IsUpstream() && name == "workspace token" && strings.Contains(rt.Path, "{site_id}"):
					// A site's upstream route takes its site's tokens only,
					// checked before the scope (TestUpstreamRefusals).
					wantError(t, r, 404, "resource_not_found")
				case rt.Auth.TakesAPIToken() && name != "user token" && rt.Scope != "" && !strings.Contains(map[string]string{
					"site token": siteAllScope, "site token without the scope": "forms:read", "workspace token": "workspace_activity:read",
				}[name], rt.Scope):
					wantError(t, r, 403, "missing_scopes")
					if !strings.Contains(r.str("message"), rt.Scope) {
						t.Errorf("message %q does not name %s", r.str("message"), rt.Scope)
					}
				default:
					// Through the authorizer: the function answers, and never with
					// an authorization failure.
					if r.status == 401 || r.str("code") == "missing_scopes" || r.status >= 500 {
						t.Errorf("got %d %s; want the function's answer", r.status, r.raw)
					}
				}
			})
		}
	}
	if n := len(e.items("SECRET#")); n != 3 {
		t.Errorf("%d secrets after the matrix; want the 3 minted", n)
	}
}

func TestRevokeBySecret(t *testing.T) {
	e := newEnv(t)
	secret, id := e.mint("site", `{"sites":"read"}`)
	for _, body := range []string{`{"token":"garbage"}`, `{"token":"tss_7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez70Gn9Oq"}`, `{}`} {
		if r := e.do("POST", "/v2/token/revoke", "", body); r.status != 200 || r.body["didRevoke"] != false {
			t.Errorf("revoke %s = %d %s; want didRevoke false", body, r.status, r.raw)
		}
	}
	wantError(t, e.do("POST", "/v2/token/revoke", "", `not json`), 400, "bad_request")
	if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+secret+`"}`); r.status != 200 || r.body["didRevoke"] != true {
		t.Fatalf("revoke = %d %s; want didRevoke true", r.status, r.raw)
	}
	if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+secret+`"}`); r.body["didRevoke"] != false {
		t.Errorf("second revoke = %s; want didRevoke false", r.raw)
	}
	wantError(t, e.do("GET", "/v2/sites", secret, ""), 401, "not_authorized")
	found := false
	for _, it := range e.items("AUDIT#") {
		if strings.Contains(it, `"token_revoked"`) && strings.Contains(it, `"type":"token"`) && strings.Contains(it, `"id":"`+id+`"`) {
			found = true
		}
	}
	if !found {
		t.Error("no token_revoked audit event with actor type token")
	}
}

// TestRevokeByPreviousSecret: revoking by a regenerated token's previous
// secret, still in its grace period, ends only that secret; the current
// one keeps working, and the audit event says which secret it was.
func TestRevokeByPreviousSecret(t *testing.T) {
	e := newEnvWith(t, 0, nil)
	old, id := e.mint("site", `{"sites":"read"}`)
	r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id+"/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":3600}`)
	current := r.str("token")
	if r.status != 200 || e.do("GET", "/v2/sites", old, "").status != 200 {
		t.Fatalf("regenerate with grace = %d %s, or the old secret does not work in its grace period", r.status, r.raw)
	}
	if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+old+`"}`); r.status != 200 || r.body["didRevoke"] != true {
		t.Fatalf("revoke by the previous secret = %d %s; want didRevoke true", r.status, r.raw)
	}
	wantError(t, e.do("GET", "/v2/sites", old, ""), 401, "not_authorized")
	if got := e.do("GET", "/v2/sites", current, ""); got.status != 200 {
		t.Errorf("current secret after its predecessor was revoked = %d %s; want 200", got.status, got.raw)
	}
	if g := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, ""); g.status != 200 {
		t.Errorf("token after its previous secret was revoked = %d; want it listed", g.status)
	}
	if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+old+`"}`); r.body["didRevoke"] != false {
		t.Errorf("second revoke by the previous secret = %s; want didRevoke false", r.raw)
	}
	previous := 0
	for _, it := range e.items("AUDIT#") {
		if strings.Contains(it, `"token_revoked"`) && strings.Contains(it, `"secret":"previous"`) && strings.Contains(it, `"type":"token"`) {
			previous++
		}
	}
	if previous != 1 {
		t.Errorf("%d token_revoked events for a previous secret; want 1", previous)
	}
	// The current secret revokes the token, as before.
	if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+current+`"}`); r.body["didRevoke"] != true {
		t.Errorf("revoke by the current secret = %s; want didRevoke true", r.raw)
	}
	wantError(t, e.do("GET", "/v2/sites", current, ""), 401, "not_authorized")
	if n := len(e.items("SECRET#")); n != 0 {
		t.Errorf("%d secrets left; want 0", n)
	}
}

func TestExpiryWithClock(t *testing.T) {
	c := &clock{now: time.Now().UTC()}
	e := newEnvWith(t, 0, c.Now)
	day := 24 * time.Hour
	secret, id := e.mint("site", `{"sites":"read"}`)
	use := func() int { return e.do("GET", "/v2/sites", secret, "").status }
	expiresOn := func() time.Time {
		r := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, "")
		tm, _ := time.Parse(time.RFC3339, r.str("expiresOn"))
		return tm
	}
	if got := use(); got != 200 {
		t.Fatalf("day 0: %d", got)
	}
	c.Add(200 * day)
	if got := use(); got != 200 {
		t.Fatalf("day 200: %d", got)
	}
	if got, want := expiresOn(), c.Now().Add(365*day); !got.Equal(want.Truncate(time.Millisecond)) {
		t.Errorf("after a use at day 200, expiresOn = %v; want %v (day 565)", got, want)
	}
	c.Add(364 * day) // day 564: still valid
	if got := use(); got != 200 {
		t.Fatalf("day 564: %d", got)
	}
	c.Add(365*day + time.Second) // 365 days and a second after the last use
	before := e.items("SITE#" + e.demo.SiteID)
	if got := use(); got != 401 {
		t.Fatalf("a year and a second after the last use: %d; want 401", got)
	}
	if after := e.items("SITE#" + e.demo.SiteID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a use after expiry changed the record:\nbefore %v\nafter  %v", before, after)
	}
	if n := len(e.items("SITE#" + e.demo.SiteID)); n != 2 {
		t.Fatalf("the expired token's record is gone (%d items); the test needs it still in the table", n)
	}
	wantError(t, e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, ""), 404, "resource_not_found")
}

func TestExpiryAfterOneUse(t *testing.T) {
	c := &clock{now: time.Now().UTC()}
	e := newEnvWith(t, 0, c.Now)
	day := 24 * time.Hour
	secret, _ := e.mint("site", `{"sites":"read"}`)
	if got := e.do("GET", "/v2/sites", secret, "").status; got != 200 {
		t.Fatalf("day 0: %d", got)
	}
	// The same instance does not write usage again within a minute, and the
	// check at day 364 is a read; the use at day 0 is what counts.
	c.Add(364 * day)
	if got := e.do("GET", "/v2/sites", secret, "").status; got != 200 {
		t.Fatalf("day 364: %d; want 200", got)
	}
	secret2, _ := e.mint("site", `{"sites":"read"}`)
	if got := e.do("GET", "/v2/sites", secret2, "").status; got != 200 {
		t.Fatalf("second token, day 364: %d", got)
	}
	c.Add(366 * day) // 366 days after the second token's only use
	if got := e.do("GET", "/v2/sites", secret2, "").status; got != 401 {
		t.Errorf("366 days after its last use: %d; want 401", got)
	}
	if n := len(e.items("SECRET#")); n != 2 {
		t.Errorf("%d secret items; the expired ones must still be in the table for this test", n)
	}
}

func TestUnusedTokenExpires(t *testing.T) {
	c := &clock{now: time.Now().UTC()}
	e := newEnvWith(t, 0, c.Now)
	secret, _ := e.mint("site", `{"sites":"read"}`)
	c.Add(364 * 24 * time.Hour)
	c.Add(2 * 24 * time.Hour) // day 366, never used
	if got := e.do("GET", "/v2/sites", secret, "").status; got != 401 {
		t.Errorf("unused for 366 days: %d; want 401", got)
	}
	if toks, _ := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, "").body["apiTokens"].([]any); len(toks) != 0 {
		t.Errorf("list shows %d expired tokens", len(toks))
	}
	// An expired token frees its place under the limit.
	for i := 0; i < 5; i++ {
		e.mint("site", `{"sites":"read"}`)
	}
}

func TestRevocationAndCache(t *testing.T) {
	for _, ttl := range []time.Duration{0, 30 * time.Second} {
		t.Run(fmt.Sprint("cache ", ttl), func(t *testing.T) {
			c := &clock{now: time.Now().UTC()}
			e := newEnvWith(t, ttl, c.Now)
			base := "/v2/sites/" + e.demo.SiteID + "/tokens/"
			secret, id := e.mint("site", `{"sites":"read"}`)
			if got := e.do("GET", "/v2/sites", secret, "").status; got != 200 {
				t.Fatalf("before revoke: %d", got)
			}
			e.do("DELETE", base+id, e.demo.AdminToken, "")
			got := e.do("GET", "/v2/sites", secret, "").status
			if ttl == 0 && got != 401 {
				t.Fatalf("next call after revoke, cache off: %d; want 401", got)
			}
			if ttl > 0 {
				if got != 200 {
					t.Fatalf("next call after revoke, cache on: %d; want the cached allow within the TTL", got)
				}
				c.Add(ttl)
				if got := e.do("GET", "/v2/sites", secret, "").status; got != 401 {
					t.Fatalf("after the cache TTL: %d; want 401", got)
				}
			}

			// Regenerate without grace: the old secret fails as revocation does.
			secret, id = e.mint("site", `{"sites":"read"}`)
			e.do("GET", "/v2/sites", secret, "")
			newSecret := e.do("POST", base+id+"/regenerate", e.demo.AdminToken, "").str("token")
			c.Add(ttl)
			if got := e.do("GET", "/v2/sites", secret, "").status; got != 401 {
				t.Errorf("old secret after regenerate: %d; want 401", got)
			}
			if got := e.do("GET", "/v2/sites", newSecret, "").status; got != 200 {
				t.Errorf("new secret: %d; want 200", got)
			}
		})
	}
}

// TestCachedDecisionNeverGrantsAnotherRoute holds the authorizer cache to
// its promise: a decision cached for one route is never used for another.
func TestCachedDecisionNeverGrantsAnotherRoute(t *testing.T) {
	c := &clock{now: time.Now().UTC()}
	e := newEnvWith(t, 30*time.Second, c.Now)
	var calls atomic.Int64
	inner := e.stack.Gateway.Authorizer
	e.stack.Gateway.Authorizer = func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		calls.Add(1)
		return inner(ctx, req)
	}
	cms, _ := e.mint("site", `{"cms":"read"}`) // no sites:read
	calls.Store(0)
	for i := 0; i < 3; i++ {
		if r := e.do("GET", "/v2/token/introspect", cms, ""); r.status != 200 {
			t.Fatalf("introspect = %d %s", r.status, r.raw)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("authorizer called %d times for 3 calls within the TTL; want 1 (the cache is on)", got)
	}
	for i := 0; i < 2; i++ {
		wantError(t, e.do("GET", "/v2/sites", cms, ""), 403, "missing_scopes")
		wantError(t, e.do("GET", "/v2/sites/"+e.demo.SiteID, cms, ""), 403, "missing_scopes")
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("authorizer called %d times; want 3 (one decision per route, each cached)", got)
	}

	// A cached allow for one site's resource path is not a grant of another
	// site: the function checks the tenant on every call.
	reader, _ := e.mint("site", `{"sites":"read"}`)
	if r := e.do("GET", "/v2/sites/"+e.demo.SiteID, reader, ""); r.status != 200 {
		t.Fatalf("own site = %d", r.status)
	}
	other, err := e.stack.Operator.CreateSite(t.Context(), e.demo.WorkspaceID, "Bistromath", "bistromath", "")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("GET", "/v2/sites/"+other.ID, reader, ""), 404, "resource_not_found")
}

func TestRegenerateGracePeriodToTheSecond(t *testing.T) {
	c := &clock{now: time.Now().UTC()}
	e := newEnvWith(t, 0, c.Now)
	old, id := e.mint("site", `{"sites":"read"}`)
	r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id+"/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":60}`)
	newSecret := r.str("token")
	c.Add(59 * time.Second)
	if got := e.do("GET", "/v2/sites", old, "").status; got != 200 {
		t.Errorf("old secret at 59 s of a 60 s grace: %d; want 200", got)
	}
	if got := e.do("GET", "/v2/sites", newSecret, "").status; got != 200 {
		t.Errorf("new secret in the grace period: %d; want 200", got)
	}
	c.Add(time.Second)
	if got := e.do("GET", "/v2/sites", old, "").status; got != 401 {
		t.Errorf("old secret at 60 s: %d; want 401", got)
	}
	if got := e.do("GET", "/v2/sites", newSecret, "").status; got != 200 {
		t.Errorf("new secret after the grace period: %d; want 200", got)
	}
}
