package localdev_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/token"
)

const sitePerms = `{"name":"CMS sync","permissions":{"sites":"read","cms":"read_write","forms":"none"}}`

func TestSiteTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"

	created := e.do("POST", base, e.demo.AdminToken, sitePerms)
	if created.status != http.StatusCreated {
		t.Fatalf("create = %d %s", created.status, created.raw)
	}
	secret := created.str("token")
	if k, err := token.Parse(secret); err != nil || k != token.KindSite {
		t.Fatalf("minted %q: Parse = %v, %v", secret, k, err)
	}
	if got := created.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	api, _ := created.body["apiToken"].(map[string]any)
	id, _ := api["id"].(string)
	if !token.ValidID(id) || api["kind"] != "site" || api["name"] != "CMS sync" || api["siteId"] != e.demo.SiteID ||
		api["workspaceId"] != e.demo.WorkspaceID || api["scope"] != "cms:read,cms:write,sites:read" ||
		api["displayHint"] != token.DisplayHint(secret) || api["lastUsed"] != nil || api["useCount"] != 0.0 {
		t.Errorf("apiToken = %v", api)
	}
	if perms, _ := api["permissions"].(map[string]any); len(perms) != 2 || perms["cms"] != "read_write" {
		t.Errorf("permissions = %v; want cms and sites only", api["permissions"])
	}
	createdOn, err := time.Parse(time.RFC3339, api["createdOn"].(string))
	if err != nil || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(api["createdOn"].(string)) {
		t.Errorf("createdOn = %v; want RFC 3339 UTC with milliseconds", api["createdOn"])
	}
	expiresOn, _ := time.Parse(time.RFC3339, api["expiresOn"].(string))
	if d := expiresOn.Sub(createdOn); d != 365*24*time.Hour {
		t.Errorf("expiresOn - createdOn = %v; want 365 days", d)
	}
	// The TTL attribute is the expiry in Unix seconds, rounded up, on the
	// record and on the secret, so that TTL never removes a live token.
	wantTTL := fmt.Sprintf(`"expiresAt":%d`, expiresOn.Add(999*time.Millisecond).Unix())
	for _, prefix := range []string{"SITE#" + e.demo.SiteID, "SECRET#"} {
		for _, it := range e.items(prefix) {
			if strings.Contains(it, `"kind":"site"`) && !strings.Contains(it, wantTTL) {
				t.Errorf("item %s lacks TTL %s", it, wantTTL)
			}
		}
	}
	if by, _ := api["createdBy"].(map[string]any); by["email"] != "admin@example.com" {
		t.Errorf("createdBy = %v", api["createdBy"])
	}

	list := e.do("GET", base, e.demo.AdminToken, "")
	if list.status != http.StatusOK || strings.Contains(list.raw, secret) {
		t.Fatalf("list = %d %s", list.status, list.raw)
	}
	if toks, _ := list.body["apiTokens"].([]any); len(toks) != 1 {
		t.Fatalf("list has %d tokens; want 1", len(toks))
	}
	got := e.do("GET", base+"/"+id, e.demo.AdminToken, "")
	if got.status != http.StatusOK || got.str("id") != id || strings.Contains(got.raw, secret) {
		t.Fatalf("get = %d %s", got.status, got.raw)
	}

	regen := e.do("POST", base+"/"+id+"/regenerate", e.demo.AdminToken, "")
	newSecret := regen.str("token")
	if regen.status != http.StatusOK || newSecret == secret || regen.str("apiToken", "id") != id ||
		regen.str("apiToken", "displayHint") != token.DisplayHint(newSecret) || regen.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("regenerate = %d %s", regen.status, regen.raw)
	}
	if _, err := token.Parse(newSecret); err != nil {
		t.Errorf("regenerated secret %q: %v", newSecret, err)
	}

	if r := e.do("DELETE", base+"/"+id, e.demo.AdminToken, ""); r.status != http.StatusNoContent || r.raw != "" {
		t.Fatalf("revoke = %d %s", r.status, r.raw)
	}
	wantError(t, e.do("GET", base+"/"+id, e.demo.AdminToken, ""), 404, "resource_not_found")
	wantError(t, e.do("DELETE", base+"/"+id, e.demo.AdminToken, ""), 404, "resource_not_found")
	if toks, _ := e.do("GET", base, e.demo.AdminToken, "").body["apiTokens"].([]any); len(toks) != 0 {
		t.Errorf("list after revoke has %d tokens", len(toks))
	}

	// Every change is in the audit log; no secret is in any item or log line.
	var subs []string
	for _, it := range e.items("AUDIT#") {
		if strings.Contains(it, `"api_token"`) {
			for _, s := range []string{"token_created", "token_regenerated", "token_revoked"} {
				if strings.Contains(it, `"`+s+`"`) {
					subs = append(subs, s)
				}
			}
		}
	}
	if fmt.Sprint(subs) != "[token_created token_regenerated token_revoked]" {
		t.Errorf("audit events = %v", subs)
	}
	for _, s := range []string{secret, newSecret} {
		for _, it := range e.items("") {
			if strings.Contains(it, s) || strings.Contains(it, s[4:44]) {
				t.Errorf("secret stored in plaintext: %s", it)
			}
		}
		if strings.Contains(e.logs.String(), s[4:44]) {
			t.Error("secret in the logs")
		}
	}
	if len(e.items("SECRET#")) != 0 {
		t.Errorf("secret items left after revoke: %v", e.items("SECRET#"))
	}
}

func TestRegenerateGrace(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"
	created := e.do("POST", base, e.demo.AdminToken, sitePerms)
	id := created.str("apiToken", "id")
	r := e.do("POST", base+"/"+id+"/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":3600}`)
	if r.status != http.StatusOK {
		t.Fatalf("regenerate = %d %s", r.status, r.raw)
	}
	secrets := e.items("SECRET#")
	if len(secrets) != 2 {
		t.Fatalf("%d secret items after a regenerate with grace; want 2 (old kept for its grace period)", len(secrets))
	}
	graced := 0
	for _, s := range secrets {
		if strings.Contains(s, "graceUntil") {
			graced++
		}
	}
	if graced != 1 {
		t.Errorf("%d secrets with a grace period; want 1: %v", graced, secrets)
	}
	// 3600 + 2^55 seconds would overflow to about one hour as a duration.
	for _, body := range []string{`{"gracePeriodSeconds":-1}`, `{"gracePeriodSeconds":604801}`, `{"gracePeriodSeconds":"1"}`, `{"gracePeriodSeconds":36028797018967568}`} {
		t.Run(body, func(t *testing.T) {
			r := e.do("POST", base+"/"+id+"/regenerate", e.demo.AdminToken, body)
			wantError(t, r, 400, "validation_error")
			if !strings.Contains(r.raw, "gracePeriodSeconds") {
				t.Errorf("details do not name gracePeriodSeconds: %s", r.raw)
			}
		})
	}
	// Revoking removes the graced secret too.
	e.do("DELETE", base+"/"+id, e.demo.AdminToken, "")
	if n := len(e.items("SECRET#")); n != 0 {
		t.Errorf("%d secret items after revoke; want 0", n)
	}
}

func TestWorkspaceTokens(t *testing.T) {
	e := newEnv(t)
	base := "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens"
	r := e.do("POST", base, e.demo.AdminToken, `{"name":"Audit export","permissions":{"workspace_activity":"read"}}`)
	if r.status != http.StatusCreated || !strings.HasPrefix(r.str("token"), "tsw_") || r.str("apiToken", "kind") != "workspace" {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	if _, ok := r.body["apiToken"].(map[string]any)["siteId"]; ok {
		t.Errorf("workspace token has a siteId: %s", r.raw)
	}
	id := r.str("apiToken", "id")
	if g := e.do("GET", base+"/"+id, e.demo.AdminToken, ""); g.status != 200 || g.str("scope") != "workspace_activity:read" {
		t.Errorf("get = %d %s", g.status, g.raw)
	}
	wantError(t, e.do("POST", base+"/"+id+"/regenerate", e.demo.AdminToken, ""), 404, "resource_not_found")
	wantError(t, e.do("POST", base, e.demo.AdminToken, `{"name":"x","permissions":{"workspace_activity":"read_write"}}`), 400, "validation_error")
	wantError(t, e.do("POST", base, e.demo.AdminToken, `{"name":"x","permissions":{"sites":"read"}}`), 400, "validation_error")
	wantError(t, e.do("POST", base, e.demo.MemberToken, `{"name":"x","permissions":{"workspace_activity":"read"}}`), 403, "forbidden")
	wantError(t, e.do("GET", base, e.demo.MemberToken, ""), 403, "forbidden")

	if _, err := e.stack.Operator.SetPlan(t.Context(), e.demo.WorkspaceSlug, "free"); err != nil {
		t.Fatal(err)
	}
	// Off enterprise, admins may no longer create workspace tokens, but may
	// still list, read and revoke the ones there are.
	wantError(t, e.do("POST", base, e.demo.AdminToken, `{"name":"x","permissions":{"workspace_activity":"read"}}`), 403, "not_enterprise_plan_workspace")
	if l := e.do("GET", base, e.demo.AdminToken, ""); l.status != 200 || !strings.Contains(l.raw, id) {
		t.Errorf("list on a free workspace = %d %s; want the token", l.status, l.raw)
	}
	if g := e.do("GET", base+"/"+id, e.demo.AdminToken, ""); g.status != 200 {
		t.Errorf("get on a free workspace = %d %s; want 200", g.status, g.raw)
	}
	wantError(t, e.do("GET", base, e.demo.MemberToken, ""), 403, "forbidden")
	// Site tokens do not depend on the plan.
	if r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, sitePerms); r.status != 201 {
		t.Errorf("site token on a free workspace = %d %s", r.status, r.raw)
	}
	if r := e.do("DELETE", base+"/"+id, e.demo.AdminToken, ""); r.status != 204 {
		t.Errorf("revoke on a free workspace = %d %s; want 204", r.status, r.raw)
	}
	if g := e.do("GET", base+"/"+id, e.demo.AdminToken, ""); g.status != 404 {
		t.Errorf("get after revoke = %d; want 404", g.status)
	}
}

// TestPlanChangeReachesWorkspaceTokens: off enterprise, a workspace token is
// refused on every data route, introspect included, with
// not_enterprise_plan_workspace; when the plan returns, it works again.
// Site tokens of the workspace are not affected.
func TestPlanChangeReachesWorkspaceTokens(t *testing.T) {
	e := newEnvWith(t, 0, nil)
	wsSecret, _ := e.mint("workspace", `{"workspace_activity":"read"}`)
	siteSecret, _ := e.mint("site", `{"sites":"read"}`)
	routes := []string{"/v2/token/introspect", "/v2/workspaces/" + e.demo.WorkspaceID + "/audit_logs", "/v2/sites"}
	setPlan := func(plan tokensmith.Plan) {
		t.Helper()
		if _, err := e.stack.Operator.SetPlan(t.Context(), e.demo.WorkspaceSlug, plan); err != nil {
			t.Fatal(err)
		}
	}
	setPlan(tokensmith.PlanFree)
	for _, path := range routes {
		wantError(t, e.do("GET", path, wsSecret, ""), 403, "not_enterprise_plan_workspace")
	}
	if r := e.do("GET", "/v2/token/introspect", siteSecret, ""); r.status != 200 {
		t.Errorf("site token introspect on a free workspace = %d %s; want 200", r.status, r.raw)
	}
	setPlan(tokensmith.PlanEnterprise)
	for _, path := range routes[:2] {
		if r := e.do("GET", path, wsSecret, ""); r.status != 200 {
			t.Errorf("GET %s with the plan back = %d %s; want 200", path, r.status, r.raw)
		}
	}
	// Scopes still hold once the plan is back.
	wantError(t, e.do("GET", "/v2/sites", wsSecret, ""), 403, "missing_scopes")
}

func TestWhoMayAct(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	other, err := e.stack.Operator.CreateWorkspace(ctx, "vogons", "Vogons", "enterprise")
	if err != nil {
		t.Fatal(err)
	}
	otherSite, err := e.stack.Operator.CreateSite(ctx, other.ID, "Constructor Fleet", "constructor-fleet", "")
	if err != nil {
		t.Fatal(err)
	}
	siteAdmin, err := e.stack.Operator.AddMember(ctx, e.demo.WorkspaceSlug, e.demo.SiteID, "zaphod@example.com", "admin")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(sub, email string) string {
		tok, err := e.stack.Issuer.Sign(issuer.Claims{Subject: sub, Email: email}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	siteAdminToken := sign(siteAdmin.ID, siteAdmin.Email)
	stranger := sign("nobody", "nobody@example.com")
	siteBase := "/v2/sites/" + e.demo.SiteID + "/tokens"

	tests := []struct {
		name, method, path, bearer, body string
		status                           int
		code                             string
	}{
		{"site admin creates on their site", "POST", siteBase, siteAdminToken, sitePerms, 201, ""},
		{"site admin lists their site", "GET", siteBase, siteAdminToken, "", 200, ""},
		{"site admin cannot touch workspace tokens", "GET", "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens", siteAdminToken, "", 403, "forbidden"},
		{"workspace member cannot create", "POST", siteBase, e.demo.MemberToken, sitePerms, 403, "forbidden"},
		{"workspace member cannot list", "GET", siteBase, e.demo.MemberToken, "", 403, "forbidden"},
		{"unknown person sees nothing", "GET", siteBase, stranger, "", 404, "resource_not_found"},
		{"admin of another workspace's site", "POST", "/v2/sites/" + otherSite.ID + "/tokens", e.demo.AdminToken, sitePerms, 404, "resource_not_found"},
		{"admin of another workspace", "GET", "/v2/workspaces/" + other.ID + "/tokens", e.demo.AdminToken, "", 404, "resource_not_found"},
		{"no such site", "GET", "/v2/sites/0000000000000000000000ff/tokens", e.demo.AdminToken, "", 404, "resource_not_found"},
		{"site id of the wrong shape", "GET", "/v2/sites/..%2F..%2Fetc/tokens", e.demo.AdminToken, "", 404, "resource_not_found"},
		{"token id of the wrong shape", "GET", siteBase + "/nope", e.demo.AdminToken, "", 404, "resource_not_found"},
		{"no credential", "GET", siteBase, "", "", 401, "not_authorized"},
		{"garbage credential", "GET", siteBase, "garbage", "", 401, "not_authorized"},
		{"expired user token", "GET", siteBase, func() string {
			tok, _ := e.stack.Issuer.Sign(issuer.Claims{Subject: "x", Email: "admin@example.com"}, time.Now().Add(-2*time.Hour), time.Hour)
			return tok
		}(), "", 401, "not_authorized"},
		{"an API token cannot manage tokens", "GET", siteBase, "tss_7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez70Gn9Oq", "", 401, "not_authorized"},
		{"unknown route", "GET", "/v2/nope", e.demo.AdminToken, "", 404, "resource_not_found"},
		{"unknown method", "PUT", siteBase, e.demo.AdminToken, "", 404, "resource_not_found"},
	}
	defer func() {
		// Only the site administrator's create wrote anything.
		if n := len(e.items("SECRET#")); n != 1 {
			t.Errorf("%d secrets after the table; want the 1 created", n)
		}
		if n := len(e.items("WS#" + other.ID)); n != 1 {
			t.Errorf("the other workspace's partition holds %d items; want just the workspace", n)
		}
	}()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.bearer, tc.body)
			if tc.code == "" {
				if r.status != tc.status {
					t.Fatalf("got %d %s; want %d", r.status, r.raw, tc.status)
				}
				return
			}
			wantError(t, r, tc.status, tc.code)
			if tc.status == 401 && r.str("message") != "Request not authorized" {
				t.Errorf("401 message = %q", r.str("message"))
			}
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"
	long := strings.Repeat("x", 101)
	tests := []struct {
		name, body, contentType string
		code, field             string
	}{
		{"not JSON", `{"name":`, "application/json", "bad_request", ""},
		{"wrong content type", sitePerms, "text/plain", "bad_request", ""},
		{"over 16 KiB", `{"name":"` + strings.Repeat("a", 17<<10) + `","permissions":{"sites":"read"}}`, "application/json", "bad_request", ""},
		{"two values", sitePerms + sitePerms, "application/json", "bad_request", ""},
		{"array", `[]`, "application/json", "bad_request", ""},
		{"invalid UTF-8", "{\"name\":\"\xff\xfe\",\"permissions\":{\"sites\":\"read\"}}", "application/json", "bad_request", ""},
		{"unknown field", `{"name":"x","permissions":{"sites":"read"},"admin":true}`, "application/json", "validation_error", "admin"},
		{"unknown API", `{"name":"x","permissions":{"sites":"read","rockets":"read"}}`, "application/json", "validation_error", "permissions.rockets"},
		{"forbidden API", `{"name":"x","permissions":{"custom_code":"read"}}`, "application/json", "validation_error", "permissions.custom_code"},
		{"workspace API", `{"name":"x","permissions":{"workspace_activity":"read"}}`, "application/json", "validation_error", "permissions.workspace_activity"},
		{"site_activity write", `{"name":"x","permissions":{"site_activity":"read_write"}}`, "application/json", "validation_error", "permissions.site_activity"},
		{"bad level", `{"name":"x","permissions":{"sites":"write"}}`, "application/json", "validation_error", "permissions.sites"},
		{"no scope", `{"name":"x","permissions":{"sites":"none"}}`, "application/json", "validation_error", "permissions"},
		{"no permissions", `{"name":"x"}`, "application/json", "validation_error", "permissions"},
		{"empty name", `{"name":"","permissions":{"sites":"read"}}`, "application/json", "validation_error", "name"},
		{"blank name", `{"name":"   ","permissions":{"sites":"read"}}`, "application/json", "validation_error", "name"},
		{"long name", `{"name":"` + long + `","permissions":{"sites":"read"}}`, "application/json", "validation_error", "name"},
		{"control character", `{"name":"a\u0007b","permissions":{"sites":"read"}}`, "application/json", "validation_error", "name"},
		{"lone surrogate", `{"name":"a\ud800b","permissions":{"sites":"read"}}`, "application/json", "validation_error", "name"},
		{"name not a string", `{"name":5,"permissions":{"sites":"read"}}`, "application/json", "validation_error", "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", base, e.demo.AdminToken, tc.body, "Content-Type", tc.contentType)
			wantError(t, r, 400, tc.code)
			if tc.field != "" {
				details, _ := r.body["details"].([]any)
				found := false
				for _, d := range details {
					if m, _ := d.(map[string]any); m["field"] == tc.field && m["message"] != "" {
						found = true
					}
				}
				if !found {
					t.Errorf("details = %v; want one naming %q", details, tc.field)
				}
			}
		})
	}
	r := e.do("POST", base, e.demo.AdminToken, sitePerms, "Idempotency-Key", "short")
	wantError(t, r, 400, "validation_error")
	// A 100-character name is fine, counted in characters, not bytes.
	if r := e.do("POST", base, e.demo.AdminToken, `{"name":"`+strings.Repeat("é", 100)+`","permissions":{"sites":"read"}}`); r.status != 201 {
		t.Errorf("100-character name = %d %s", r.status, r.raw)
	}
	if n := len(e.items("SITE#" + e.demo.SiteID)); n != 2 {
		t.Errorf("site partition holds %d items; want the site and the one valid token", n)
	}
	if n := len(e.items("SECRET#")); n != 1 {
		t.Errorf("%d secrets; want 1", n)
	}
}

func TestTokenLimitUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"
	// The admin signs in first: the creates below race for the limit alone.
	if r := e.do("GET", "/v2/me", e.demo.AdminToken, ""); r.status != 200 {
		t.Fatalf("admin's first call = %d %s", r.status, r.raw)
	}
	statuses := make([]response, 20)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.do("POST", base, e.demo.AdminToken, fmt.Sprintf(`{"name":"t%d","permissions":{"sites":"read"}}`, i))
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, r := range statuses {
		count[r.status]++
		if r.status == 409 && r.str("code") != "token_limit_reached" {
			t.Errorf("409 code = %q", r.str("code"))
		}
	}
	if count[201] != 5 || count[409] != 15 {
		t.Fatalf("statuses = %v; want 5 x 201 and 15 x 409", count)
	}
	if toks, _ := e.do("GET", base, e.demo.AdminToken, "").body["apiTokens"].([]any); len(toks) != 5 {
		t.Errorf("list has %d tokens; want 5", len(toks))
	}
	if n := len(e.items("SECRET#")); n != 5 {
		t.Errorf("%d secrets stored; want 5", n)
	}
	// Revoking one frees a place.
	id := e.do("GET", base, e.demo.AdminToken, "").body["apiTokens"].([]any)[0].(map[string]any)["id"].(string)
	e.do("DELETE", base+"/"+id, e.demo.AdminToken, "")
	if r := e.do("POST", base, e.demo.AdminToken, sitePerms); r.status != 201 {
		t.Errorf("create after a revoke at the limit = %d %s", r.status, r.raw)
	}
}

func TestIdempotentCreate(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"
	key := "5b0c9e0a-8d1f-4d6e-9a47-2f3c1b7e6d55"
	first := e.do("POST", base, e.demo.AdminToken, sitePerms, "Idempotency-Key", key)
	if first.status != 201 {
		t.Fatalf("first = %d %s", first.status, first.raw)
	}
	// Same body, different formatting: the same request.
	again := e.do("POST", base, e.demo.AdminToken, strings.ReplaceAll(sitePerms, ",", " , "), "Idempotency-Key", key)
	if again.status != 201 || again.raw != first.raw || again.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("replay = %d %s; want the first response %s", again.status, again.raw, first.raw)
	}
	wantError(t, e.do("POST", base, e.demo.AdminToken, `{"name":"other","permissions":{"sites":"read"}}`, "Idempotency-Key", key), 409, "conflict")
	if n := len(e.items("SECRET#")); n != 1 {
		t.Errorf("%d tokens minted; want 1", n)
	}
	for _, it := range e.items("IDEM#") {
		if strings.Contains(it, key) || strings.Contains(it, first.str("token")[4:44]) {
			t.Errorf("idempotency item holds the key or the secret in plaintext: %s", it)
		}
	}
	// Concurrent retries with one key mint one token.
	key2 := "c8a1b2d3-0000-4000-8000-000000000002"
	var wg sync.WaitGroup
	results := make([]response, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do("POST", base, e.demo.AdminToken, `{"name":"race","permissions":{"sites":"read"}}`, "Idempotency-Key", key2)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.status != 201 || r.str("token") != results[0].str("token") {
			t.Errorf("concurrent retry = %d %s; want the same 201 as %s", r.status, r.raw, results[0].raw)
		}
	}
	if n := len(e.items("SECRET#")); n != 2 {
		t.Errorf("%d tokens minted; want 2", n)
	}
}

func TestSeedDemoTwiceKeepsOneDemo(t *testing.T) {
	e := newEnv(t)
	again, err := e.stack.SeedDemo(t.Context(), e.url, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if again.WorkspaceID != e.demo.WorkspaceID || again.SiteID != e.demo.SiteID {
		t.Errorf("second seed = %+v; want the first's ids %+v", again, e.demo)
	}
	if n := len(e.items("WS#" + e.demo.WorkspaceID)); n != 3 {
		t.Errorf("workspace partition holds %d items; want the workspace and two memberships", n)
	}
	if n := len(e.items("SITE#")); n != 1 {
		t.Errorf("%d site items; want 1", n)
	}
	if r := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", again.AdminToken, ""); r.status != 200 {
		t.Errorf("the second seed's admin token = %d %s", r.status, r.raw)
	}
}

func TestIdempotencyKeysExpireAfter24Hours(t *testing.T) {
	c := &clock{now: time.Now().UTC()}
	e := newEnvWith(t, 0, c.Now)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"
	key := "0d9a3c1e-7b2f-4e8a-9c6d-5f4e3d2c1b0a"
	first := e.do("POST", base, e.demo.AdminToken, sitePerms, "Idempotency-Key", key)
	c.Add(24*time.Hour - time.Second)
	if again := e.do("POST", base, e.demo.AdminToken, sitePerms, "Idempotency-Key", key); again.raw != first.raw {
		t.Fatalf("replay within 24 hours = %s; want the first response", again.raw)
	}
	c.Add(time.Second)
	later := e.do("POST", base, e.demo.AdminToken, sitePerms, "Idempotency-Key", key)
	if later.status != 201 || later.str("apiToken", "id") == first.str("apiToken", "id") {
		t.Fatalf("after 24 hours = %d %s; want a new token", later.status, later.raw)
	}
	if n := len(e.items("SECRET#")); n != 2 {
		t.Errorf("%d tokens; want 2", n)
	}
}
