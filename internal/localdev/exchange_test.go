package localdev_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jwt5 "github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// oidcProvider is an OpenID Provider that is not this service's: mockoidc,
// run for the test, signing workload tokens shaped as GitHub Actions' with
// a key of its own. fetches counts the requests it served.
type oidcProvider struct {
	*mockoidc.MockOIDC
	fetches atomic.Int64
}

func startOIDC(t *testing.T) *oidcProvider {
	t.Helper()
	kp, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mockoidc.NewServer(kp.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &oidcProvider{MockOIDC: m}
	m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.fetches.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return p
}

// ghClaims are the claims of a GitHub Actions workload token of p for the
// main branch of octo/site, issued at now.
func ghClaims(p *oidcProvider, now time.Time) jwt5.MapClaims {
	jti := make([]byte, 8)
	rand.Read(jti)
	return jwt5.MapClaims{
		"iss": p.Issuer(), "aud": "tokensmith", "sub": "repo:octo/site:ref:refs/heads/main",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": hex.EncodeToString(jti),
		"repository": "octo/site", "repository_owner_id": "1234", "workflow": "deploy", "run_id": "4242", "ref": "refs/heads/main",
	}
}

func (p *oidcProvider) sign(t *testing.T, c jwt5.MapClaims) string {
	t.Helper()
	tok, err := p.Keypair.SignJWT(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// exchange posts an exchange of subject for a token of site; scope is
// sent when it is not "-".
func (e *env) exchange(subject, site, scope string) response {
	e.t.Helper()
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"},
		"resource":           {site},
	}
	if scope != "-" {
		form.Set("scope", scope)
	}
	return e.do("POST", "/v2/token/exchange", "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

// wantOAuthError checks an RFC 6749 error answer.
func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code || r.str("error_description") == "" {
		t.Fatalf("got %d %s; want %d %s", r.status, r.raw, status, code)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", r.header.Get("Cache-Control"))
	}
}

// trustWorkload makes the demo site trust a workload of p's tokens for
// octo/site's branches, and returns its id.
func (e *env) trustWorkload(p *oidcProvider, siteID, extra string) string {
	e.t.Helper()
	body := fmt.Sprintf(`{"name":"Deploy","issuer":%q,"audience":"tokensmith","subject":"repo:octo/site:ref:refs/heads/*",`+
		`"claims":{"repository_owner_id":"1234"},"permissions":{"cms":"read_write","sites":"read"}%s}`, p.Issuer(), extra)
	r := e.do("POST", "/v2/sites/"+siteID+"/trusted_workloads", e.demo.AdminToken, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("trust = %d %s", r.status, r.raw)
	}
	return r.str("id")
}

// exchangeEnv is a stack whose clock the test moves, that lets workloads
// name the test's providers, without an authorizer cache.
func exchangeEnv(t *testing.T, providers ...*oidcProvider) (*env, *clock) {
	t.Helper()
	c := &clock{now: time.Now().UTC().Truncate(time.Second)}
	var issuers []string
	for _, p := range providers {
		issuers = append(issuers, p.Issuer())
	}
	return newEnvConfig(t, localdev.Config{CacheTTL: 0, Now: c.Now, WorkloadIssuers: issuers}), c
}

func TestExchange(t *testing.T) {
	gh := startOIDC(t)
	e, clk := exchangeEnv(t, gh)
	wl := e.trustWorkload(gh, e.demo.SiteID, `,"tokenLifetimeSeconds":300`)
	// The five-token limit is the site's own tokens': an exchange's token
	// is not counted, and does not count them.
	for range 5 {
		e.mint("site", `{"sites":"read"}`)
	}
	r := e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "-")
	if r.status != 200 || r.str("token_type") != "Bearer" || r.str("issued_token_type") != "urn:ietf:params:oauth:token-type:access_token" ||
		r.body["expires_in"] != 300.0 || r.str("scope") != "cms:read cms:write sites:read" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("exchange = %d %s", r.status, r.raw)
	}
	secret := r.str("access_token")
	if k, err := token.Parse(secret); err != nil || k != token.KindSite {
		t.Fatalf("access_token %q: %v %v", secret, k, err)
	}
	if got := e.do("GET", "/v2/sites/"+e.demo.SiteID, secret, ""); got.status != 200 {
		t.Fatalf("the exchanged token = %d %s", got.status, got.raw)
	}
	in := e.do("GET", "/v2/token/introspect", secret, "")
	if in.str("authorization", "kind") != "site" || in.str("authorization", "scope") != "cms:read,cms:write,sites:read" ||
		in.body["authorization"].(map[string]any)["rateLimit"] != 120.0 {
		t.Errorf("introspect = %s; want the site's rate limit and the workload's scopes", in.raw)
	}
	// Not among the site's tokens, which stay five; under its workload.
	toks := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, "")
	if list, _ := toks.body["apiTokens"].([]any); len(list) != 5 || strings.Contains(toks.raw, token.DisplayHint(secret)) {
		t.Errorf("site tokens = %s; want the 5 minted, not the exchanged one", toks.raw)
	}
	wantError(t, e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, `{"name":"sixth","permissions":{"sites":"read"}}`), 409, "token_limit_reached")
	if w := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/trusted_workloads/"+wl, e.demo.AdminToken, ""); w.body["liveTokens"] != 1.0 {
		t.Errorf("workload = %s; want 1 live token", w.raw)
	}
	// Hash-only: the secret is nowhere in the table.
	for _, it := range e.state() {
		if strings.Contains(it, secret) {
			t.Fatalf("the table holds the secret: %s", it)
		}
	}
	// The exchange is audited with the run that made it.
	ev := e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceID+"/audit_logs?eventType=api_token&limit=1", e.demo.AdminToken, "")
	items, _ := ev.body["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("audit = %s", ev.raw)
	}
	first := items[0].(map[string]any)
	payload := first["payload"].(map[string]any)
	claims, _ := payload["claims"].(map[string]any)
	if first["eventSubType"] != "token_exchanged" || first["actor"].(map[string]any)["type"] != "workload" || first["actor"].(map[string]any)["id"] != wl ||
		payload["workload"].(map[string]any)["id"] != wl || claims["sub"] != "repo:octo/site:ref:refs/heads/main" ||
		claims["repository"] != "octo/site" || claims["workflow"] != "deploy" || claims["run_id"] != "4242" || strings.Contains(ev.raw, secret) {
		t.Errorf("token_exchanged = %v", first)
	}
	// It works until its expiry second, and not after.
	clk.Add(299 * time.Second)
	if got := e.do("GET", "/v2/sites/"+e.demo.SiteID, secret, ""); got.status != 200 {
		t.Fatalf("a second before expiry = %d %s", got.status, got.raw)
	}
	clk.Add(time.Second)
	wantError(t, e.do("GET", "/v2/sites/"+e.demo.SiteID, secret, ""), 401, "not_authorized")
	if w := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/trusted_workloads/"+wl, e.demo.AdminToken, ""); w.body["liveTokens"] != 0.0 {
		t.Errorf("workload = %s; want 0 live tokens after expiry", w.raw)
	}
}

func TestExchangeNarrowerScope(t *testing.T) {
	gh := startOIDC(t)
	e, clk := exchangeEnv(t, gh)
	e.trustWorkload(gh, e.demo.SiteID, "")
	r := e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "sites:read")
	if r.status != 200 || r.str("scope") != "sites:read" || r.body["expires_in"] != 900.0 {
		t.Fatalf("exchange for sites:read = %d %s", r.status, r.raw)
	}
	if got := e.do("GET", "/v2/token/introspect", r.str("access_token"), ""); got.str("authorization", "scope") != "sites:read" {
		t.Errorf("introspect = %s", got.raw)
	}
}

// TestExchangeRefusals: each refusal of API.md section 15, its own test.
// Every refusal of the subject token is the same invalid_grant.
func TestExchangeRefusals(t *testing.T) {
	gh, other := startOIDC(t), startOIDC(t)
	e, clk := exchangeEnv(t, gh, other)
	ctx := t.Context()
	e.trustWorkload(gh, e.demo.SiteID, "")
	// Another tenant's site trusts the other provider.
	ws, err := e.stack.Operator.CreateWorkspace(ctx, "vogons", "Vogons", "enterprise")
	if err != nil {
		t.Fatal(err)
	}
	otherSite, err := e.stack.Operator.CreateSite(ctx, ws.ID, "Constructor Fleet", "constructor-fleet", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Operator.AddMember(ctx, ws.Slug, "", "admin@example.com", "admin"); err != nil {
		t.Fatal(err)
	}
	e.trustWorkload(other, otherSite.ID, "")
	now := clk.Now()
	with := func(edit func(c jwt5.MapClaims)) string {
		c := ghClaims(gh, now)
		edit(c)
		return gh.sign(t, c)
	}
	replayed := gh.sign(t, ghClaims(gh, now))
	if r := e.exchange(replayed, e.demo.SiteID, "-"); r.status != 200 {
		t.Fatalf("first exchange = %d %s", r.status, r.raw)
	}
	sameKid := func() string {
		// The other provider's key, under the trusted one's key id.
		kid, _ := gh.Keypair.KeyID()
		forger := *other.Keypair
		forger.Kid = kid
		tok, err := forger.SignJWT(ghClaims(gh, now))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	otherFetches := other.fetches.Load()
	var descriptions []string
	for _, tc := range []struct {
		name, token, site, scope string
		code                     string
	}{
		{"another issuer's key under the same kid", sameKid, e.demo.SiteID, "-", "invalid_grant"},
		{"an issuer another site trusts", other.sign(t, ghClaims(other, now)), e.demo.SiteID, "-", "invalid_grant"},
		{"aud wrong", with(func(c jwt5.MapClaims) { c["aud"] = "someone-else" }), e.demo.SiteID, "-", "invalid_grant"},
		{"expired", with(func(c jwt5.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-10*time.Minute).Unix(), now.Add(-10*time.Minute).Unix(), now.Add(-61*time.Second).Unix()
		}), e.demo.SiteID, "-", "invalid_grant"},
		{"not yet valid", with(func(c jwt5.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }), e.demo.SiteID, "-", "invalid_grant"},
		{"issued more than 15 minutes ago", with(func(c jwt5.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-16*time.Minute).Unix(), now.Add(-16*time.Minute).Unix(), now.Add(time.Hour).Unix()
		}), e.demo.SiteID, "-", "invalid_grant"},
		{"issued in the future", with(func(c jwt5.MapClaims) { c["iat"] = now.Add(2 * time.Minute).Unix() }), e.demo.SiteID, "-", "invalid_grant"},
		{"another repository's subject", with(func(c jwt5.MapClaims) { c["sub"] = "repo:octo/evil:ref:refs/heads/main" }), e.demo.SiteID, "-", "invalid_grant"},
		{"a * that would cross :", with(func(c jwt5.MapClaims) { c["sub"] = "repo:octo/site:ref:refs/heads/main:environment:x" }), e.demo.SiteID, "-", "invalid_grant"},
		{"a claim mismatch", with(func(c jwt5.MapClaims) { c["repository_owner_id"] = "999" }), e.demo.SiteID, "-", "invalid_grant"},
		{"a claim missing", with(func(c jwt5.MapClaims) { delete(c, "repository_owner_id") }), e.demo.SiteID, "-", "invalid_grant"},
		{"a replayed jti", replayed, e.demo.SiteID, "-", "invalid_grant"},
		{"no exp", with(func(c jwt5.MapClaims) { delete(c, "exp") }), e.demo.SiteID, "-", "invalid_grant"},
		{"not a JWT", "garbage", e.demo.SiteID, "-", "invalid_grant"},
		{"unsigned", func() string {
			c := ghClaims(gh, now)
			tok, _ := jwt5.NewWithClaims(jwt5.SigningMethodNone, c).SignedString(jwt5.UnsafeAllowNoneSignatureType)
			return tok
		}(), e.demo.SiteID, "-", "invalid_grant"},
		{"scope wider than the workload's", with(func(jwt5.MapClaims) {}), e.demo.SiteID, "cms:read assets:read", "invalid_scope"},
		{"a resource the workload does not belong to", with(func(jwt5.MapClaims) {}), otherSite.ID, "-", "invalid_grant"},
		{"a resource that is no site", with(func(jwt5.MapClaims) {}), "0000000000000000000000ff", "-", "invalid_target"},
		{"a resource that is no id", with(func(jwt5.MapClaims) {}), "heart-of-gold", "-", "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.exchange(tc.token, tc.site, tc.scope)
			wantOAuthError(t, r, 400, tc.code)
			if tc.code == "invalid_grant" {
				descriptions = append(descriptions, r.str("error_description"))
			}
		})
	}
	for _, d := range descriptions {
		if d != descriptions[0] {
			t.Errorf("invalid_grant said %q and %q; want one message for every refusal", descriptions[0], d)
		}
	}
	if n := other.fetches.Load(); n != otherFetches {
		t.Errorf("the issuer the site does not trust was asked %d times; want never", n-otherFetches)
	}
	// Only the first exchange minted a token.
	if n := len(e.items("SECRET#")); n != 1 {
		t.Errorf("%d secrets; want the 1 exchanged", n)
	}
}

// TestExchangeNeverFetchesAnInternalAddress: a workload whose issuer names
// an address of the service's own network (which creating one through the
// API refuses, and so is stored here directly) is never asked for keys.
func TestExchangeNeverFetchesAnInternalAddress(t *testing.T) {
	// hits counts connections, not requests: a TLS handshake that fails
	// (the test server's certificate is its own) is a fetch made too.
	var hits atomic.Int64
	internal := httptest.NewUnstartedServer(http.NotFoundHandler())
	internal.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			hits.Add(1)
		}
	}
	internal.StartTLS()
	t.Cleanup(internal.Close)
	e, clk := exchangeEnv(t)
	ctx := t.Context()
	site, err := e.stack.Store.Site(ctx, e.demo.SiteID)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := e.stack.Store.Workspace(ctx, e.demo.WorkspaceID)
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	w := tokensmith.Workload{ID: "0000000a000000000000abcd", SiteID: site.ID, WorkspaceID: ws.ID, Name: "internal",
		Issuer: internal.URL, Audience: "tokensmith", Subject: "repo:octo/site:ref:refs/heads/main",
		Permissions: scope.Permissions{"sites": scope.Read}, Scope: "sites:read", TokenLifetime: 900 * time.Second, CreatedOn: now}
	o, err := audit.NewOrigin(now, rand.Reader, tokensmith.Actor{Type: tokensmith.ActorSystem}, ws)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.stack.Store.CreateWorkload(ctx, w, audit.WorkloadCreated(o, w, site)); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt5.NewWithClaims(jwt5.SigningMethodHS256, jwt5.MapClaims{
		"iss": internal.URL, "aud": "tokensmith", "sub": w.Subject, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}).SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, e.exchange(tok, site.ID, "-"), 400, "invalid_grant")
	// An RS256 token too, whose key would be fetched from that issuer.
	kp, _ := mockoidc.RandomKeypair(1024)
	tok, _ = kp.SignJWT(jwt5.MapClaims{"iss": internal.URL, "aud": "tokensmith", "sub": w.Subject, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	wantOAuthError(t, e.exchange(tok, site.ID, "-"), 400, "invalid_grant")
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal address was connected to %d times; want never", n)
	}
}

// TestDeletingAWorkloadEndsItsTokens: its live tokens stop working at once.
func TestDeletingAWorkloadEndsItsTokens(t *testing.T) {
	gh := startOIDC(t)
	e, clk := exchangeEnv(t, gh)
	wl := e.trustWorkload(gh, e.demo.SiteID, "")
	var secrets []string
	for range 3 {
		r := e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "-")
		if r.status != 200 {
			t.Fatalf("exchange = %d %s", r.status, r.raw)
		}
		secrets = append(secrets, r.str("access_token"))
	}
	if r := e.do("DELETE", "/v2/sites/"+e.demo.SiteID+"/trusted_workloads/"+wl, e.demo.AdminToken, ""); r.status != 204 {
		t.Fatalf("delete = %d %s", r.status, r.raw)
	}
	for _, s := range secrets {
		wantError(t, e.do("GET", "/v2/sites/"+e.demo.SiteID, s, ""), 401, "not_authorized")
	}
	if n := len(e.items("SECRET#")); n != 0 {
		t.Errorf("%d secrets after the delete; want none", n)
	}
	ev := e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceID+"/audit_logs?eventType=trusted_workload&limit=1", e.demo.AdminToken, "")
	if !strings.Contains(ev.raw, `"liveTokens":3`) || !strings.Contains(ev.raw, "workload_deleted") {
		t.Errorf("audit = %s; want workload_deleted with 3 live tokens", ev.raw)
	}
	// The workload gone, its tokens' issuer is trusted no more.
	wantOAuthError(t, e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "-"), 400, "invalid_grant")
}

func TestExchangedTokenRevokedBySecret(t *testing.T) {
	gh := startOIDC(t)
	e, clk := exchangeEnv(t, gh)
	wl := e.trustWorkload(gh, e.demo.SiteID, "")
	secret := e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "-").str("access_token")
	if r := e.do("POST", "/v2/token/revoke", "", `{"token":"`+secret+`"}`); r.body["didRevoke"] != true {
		t.Fatalf("revoke = %s", r.raw)
	}
	wantError(t, e.do("GET", "/v2/sites/"+e.demo.SiteID, secret, ""), 401, "not_authorized")
	if w := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/trusted_workloads/"+wl, e.demo.AdminToken, ""); w.body["liveTokens"] != 0.0 {
		t.Errorf("workload = %s; want 0 live tokens", w.raw)
	}
}

// TestExchangeRateLimit: 60 exchanges a minute per workload, then 429
// with Retry-After until the window ends.
func TestExchangeRateLimit(t *testing.T) {
	gh := startOIDC(t)
	e, clk := exchangeEnv(t, gh)
	e.trustWorkload(gh, e.demo.SiteID, "")
	clk.Add(time.Duration(60-clk.Now().Second()) * time.Second) // the start of a window
	for i := range tokensmith.ExchangesPerMinute {
		if r := e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "-"); r.status != 200 {
			t.Fatalf("exchange %d = %d %s", i+1, r.status, r.raw)
		}
	}
	clk.Add(20 * time.Second)
	r := e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "-")
	wantOAuthError(t, r, 429, "too_many_requests")
	if got := r.header.Get("Retry-After"); got != "40" {
		t.Errorf("Retry-After = %q; want 40", got)
	}
	clk.Add(40 * time.Second)
	if r := e.exchange(gh.sign(t, ghClaims(gh, clk.Now())), e.demo.SiteID, "-"); r.status != 200 {
		t.Errorf("exchange in the next window = %d %s", r.status, r.raw)
	}
}

// TestExchangeBadRequests: RFC 6749's invalid_request and
// unsupported_grant_type, and nothing changes.
func TestExchangeBadRequests(t *testing.T) {
	gh := startOIDC(t)
	e, clk := exchangeEnv(t, gh)
	e.trustWorkload(gh, e.demo.SiteID, "")
	good := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {gh.sign(t, ghClaims(gh, clk.Now()))},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}, "resource": {e.demo.SiteID},
	}
	before := fmt.Sprint(e.state())
	form := func(edit func(v url.Values)) string {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		edit(v)
		return v.Encode()
	}
	form2 := "application/x-www-form-urlencoded"
	for _, tc := range []struct{ name, contentType, body, code string }{
		{"JSON", "application/json", `{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange"}`, "invalid_request"},
		{"no grant type", form2, form(func(v url.Values) { v.Del("grant_type") }), "invalid_request"},
		{"another grant type", form2, form(func(v url.Values) { v.Set("grant_type", "client_credentials") }), "unsupported_grant_type"},
		{"no subject token", form2, form(func(v url.Values) { v.Del("subject_token") }), "invalid_request"},
		{"an access token type", form2, form(func(v url.Values) { v.Set("subject_token_type", "urn:ietf:params:oauth:token-type:access_token") }), "invalid_request"},
		{"no resource", form2, form(func(v url.Values) { v.Del("resource") }), "invalid_request"},
		{"a repeated resource", form2, form(func(v url.Values) { v.Add("resource", "0000000000000000000000ff") }), "invalid_request"},
		{"a repeated subject token", form2, form(func(v url.Values) { v.Add("subject_token", "x") }), "invalid_request"},
		{"an empty scope", form2, form(func(v url.Values) { v.Set("scope", " ") }), "invalid_scope"},
		{"a body too large", form2, form(func(v url.Values) { v.Set("pad", strings.Repeat("a", 17<<10)) }), "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOAuthError(t, e.do("POST", "/v2/token/exchange", "", tc.body, "Content-Type", tc.contentType), 400, tc.code)
		})
	}
	if after := fmt.Sprint(e.state()); after != before {
		t.Errorf("the table changed:\nbefore %s\nafter  %s", before, after)
	}
	// The good form still exchanges: its token was not spent above.
	if r := e.do("POST", "/v2/token/exchange", "", good.Encode(), "Content-Type", form2); r.status != 200 {
		t.Errorf("exchange = %d %s", r.status, r.raw)
	}
}
