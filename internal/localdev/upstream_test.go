package localdev_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/democms"
)

// echo is an upstream that records every request it is sent and answers
// as its X-Echo header asks: "hang" never answers, "reset" drops the
// connection, anything else is 201 with headers of its own.
type echo struct {
	mu   sync.Mutex
	seen []*http.Request
	body [][]byte
}

func (u *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.seen, u.body = append(u.seen, r), append(u.body, b)
	u.mu.Unlock()
	switch r.Header.Get("X-Echo") {
	case "hang":
		<-r.Context().Done()
		return
	case "reset":
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	w.Header().Set("X-Upstream", "cms")
	w.Header().Set("X-RateLimit-Limit", "999999")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"echoed":true}`)
}

func (u *echo) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func (u *echo) last() (*http.Request, []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[len(u.seen)-1], u.body[len(u.body)-1]
}

// newUpstreamEnv starts a stack whose repository declaration routes the
// cms upstream to an echo server, with the upstream's timeout set to one
// second (through TOKENSMITH_UPSTREAMS, the same routes).
func newUpstreamEnv(t *testing.T) (*env, *echo) {
	t.Helper()
	return newUpstreamEnvAt(t, nil)
}

// newUpstreamEnvAt is newUpstreamEnv on the clock now (nil: the real one).
func newUpstreamEnvAt(t *testing.T, now func() time.Time) (*env, *echo) {
	t.Helper()
	up := &echo{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	repo, err := os.ReadFile("../../upstreams.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "upstreams.yaml")
	os.WriteFile(file, bytes.Replace(repo, []byte("timeoutSeconds: 10"), []byte("timeoutSeconds: 1"), 1), 0o600)
	vars := map[string]string{localdev.EnvCMSURL: srv.URL, "TOKENSMITH_UPSTREAMS": file}
	e := newEnvConfig(t, localdev.Config{CacheTTL: -1, Now: now, Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	return e, up
}

// verifyAssertion checks an assertion with go-jose against the stack's
// published key set, as an upstream would: signature, aud, exp, htm, htu.
func verifyAssertion(t *testing.T, e *env, raw, method, path string) map[string]any {
	t.Helper()
	keys := e.do("GET", "/.well-known/jwks.json", "", "")
	if keys.status != 200 || keys.header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET /.well-known/jwks.json = %d %v %s", keys.status, keys.header, keys.raw)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(keys.raw), &set); err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("assertion %q: %v", raw, err)
	}
	found := set.Key(tok.Headers[0].KeyID)
	if len(found) != 1 {
		t.Fatalf("the assertion's kid %q is not published", tok.Headers[0].KeyID)
	}
	var std josejwt.Claims
	var all map[string]any
	if err := tok.Claims(found[0].Key, &std, &all); err != nil {
		t.Fatalf("assertion signature: %v", err)
	}
	if err := std.ValidateWithLeeway(josejwt.Expected{Issuer: e.url, AnyAudience: josejwt.Audience{democms.Audience}, Time: time.Now()}, 0); err != nil {
		t.Errorf("assertion claims: %v", err)
	}
	if all["htm"] != method || all["htu"] != path {
		t.Errorf("assertion htm, htu = %v, %v; want %s, %s", all["htm"], all["htu"], method, path)
	}
	return all
}

// TestUpstreamForwards holds the request path of an upstream route to
// API.md section 13: what is stripped, added and kept on the way there,
// and what comes back.
func TestUpstreamForwards(t *testing.T) {
	e, up := newUpstreamEnv(t)
	secret, id := e.mint("site", `{"cms":"read_write"}`)
	path := "/v2/collections/c%201/items"
	body := `{"fieldData":{"name":"Arthur"}}`
	r := e.do("POST", path+"?limit=2&q=a%20b&q=c", secret, body,
		"Tokensmith-Assertion", "forged", "Tokensmith-Site", "other", "X-Custom", "kept",
		"Connection", "X-Hop", "X-Hop", "dropped", "Idempotency-Key", "kept-too")
	if r.status != http.StatusCreated || r.raw != `{"echoed":true}` || r.header.Get("X-Upstream") != "cms" {
		t.Fatalf("POST %s = %d %v %s; want the upstream's 201", path, r.status, r.header, r.raw)
	}
	if got := r.header.Get(httpapi.HeaderLimit); got != "120" || r.header.Get(httpapi.HeaderRemaining) != "119" || r.header.Get(httpapi.HeaderReset) == "" {
		t.Errorf("rate-limit headers %v; want the token's: limit 120, 119 remaining", r.header)
	}
	got, gotBody := up.last()
	// API Gateway hands a REST API's query over as parameters, not as the
	// string sent: they arrive, in their order per name.
	if got.Method != "POST" || got.URL.EscapedPath() != path || !reflect.DeepEqual(got.URL.Query(), url.Values{"limit": {"2"}, "q": {"a b", "c"}}) || string(gotBody) != body {
		t.Errorf("upstream got %s %s?%s %q; want POST %s?limit=2&q=a%%20b&q=c %q", got.Method, got.URL.EscapedPath(), got.URL.RawQuery, gotBody, path, body)
	}
	for _, name := range []string{"Authorization", "Tokensmith-Site", "X-Hop"} {
		if v := got.Header.Values(name); len(v) > 0 {
			t.Errorf("upstream got %s: %v; want none", name, v)
		}
	}
	for name, want := range map[string]string{"X-Custom": "kept", "Idempotency-Key": "kept-too", "Content-Type": "application/json"} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("upstream got %s %q; want %q", name, v, want)
		}
	}
	if got.Header.Get("Tokensmith-Request-Id") == "" {
		t.Error("upstream got no Tokensmith-Request-Id")
	}
	if vs := got.Header.Values("Tokensmith-Assertion"); len(vs) != 1 || vs[0] == "forged" {
		t.Fatalf("upstream got Tokensmith-Assertion %v; want tokensmith's one", vs)
	}
	claims := verifyAssertion(t, e, got.Header.Get("Tokensmith-Assertion"), "POST", path)
	for k, want := range map[string]any{"sub": id, "token_kind": "site", "site_id": e.demo.SiteID, "workspace_id": e.demo.WorkspaceID, "scope": "cms:read,cms:write"} {
		if claims[k] != want {
			t.Errorf("assertion %s = %v; want %v", k, claims[k], want)
		}
	}

	// The use is noted, as on the built-in data routes.
	tok := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, "")
	if tok.str("lastUsed") == "" {
		t.Errorf("the token's lastUsed after an upstream call: %s", tok.raw)
	}
}

// TestUpstreamRefusals: what never reaches the upstream, and what it
// answers when the upstream does not.
func TestUpstreamRefusals(t *testing.T) {
	e, up := newUpstreamEnv(t)
	readOnly, _ := e.mint("site", `{"cms":"read"}`)
	writer, _ := e.mint("site", `{"cms":"read_write"}`)
	workspace, _ := e.mint("workspace", `{"workspace_activity":"read"}`)
	other := strings.Repeat("f", 24)
	big := strings.Repeat("a", httpapi.MaxUpstreamBody+1)

	tests := []struct {
		name, method, path, bearer, body string
		headers                          []string
		status                           int
		code                             string
		reached                          bool
	}{
		{"a user token", "GET", "/v2/collections/c1/items", e.demo.AdminToken, "", nil, 401, "not_authorized", false},
		{"no credential", "GET", "/v2/collections/c1/items", "", "", nil, 401, "not_authorized", false},
		{"a revoked-looking garbage token", "GET", "/v2/collections/c1/items", "tss_" + strings.Repeat("a", 46), "", nil, 401, "not_authorized", false},
		{"a missing scope", "POST", "/v2/collections/c1/items", readOnly, `{}`, nil, 403, "missing_scopes", false},
		{"another site", "GET", "/v2/sites/" + other + "/collections", writer, "", nil, 404, "resource_not_found", false},
		{"a workspace token on a site's route", "GET", "/v2/sites/" + e.demo.SiteID + "/collections", workspace, "", nil, 404, "resource_not_found", false},
		{"no such route", "GET", "/v2/nothing/here", writer, "", nil, 404, "resource_not_found", false},
		{"no such method", "PUT", "/v2/collections/c1/items", writer, "", nil, 404, "resource_not_found", false},
		{"1 MiB and a byte", "POST", "/v2/collections/c1/items", writer, big, nil, 413, "request_too_large", false},
		{"an upstream that hangs", "GET", "/v2/collections/c1/items", writer, "", []string{"X-Echo", "hang"}, 504, "gateway_timeout", true},
		{"an upstream that resets", "GET", "/v2/collections/c1/items", writer, "", []string{"X-Echo", "reset"}, 502, "bad_gateway", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			start := time.Now()
			r := e.do(tc.method, tc.path, tc.bearer, tc.body, tc.headers...)
			wantError(t, r, tc.status, tc.code)
			if reached := up.count() > before; reached != tc.reached {
				t.Errorf("reached the upstream: %v; want %v", reached, tc.reached)
			}
			if strings.Contains(r.raw, "127.0.0.1") || strings.Contains(r.raw, "EOF") {
				t.Errorf("the error tells of the upstream: %s", r.raw)
			}
			if tc.status == 504 && time.Since(start) < time.Second {
				t.Errorf("504 after %v; want after the upstream's timeout, 1 s", time.Since(start))
			}
		})
	}
	// Exactly 1 MiB is forwarded.
	r := e.do("POST", "/v2/collections/c1/items", writer, big[1:])
	if _, body := up.last(); r.status != http.StatusCreated || len(body) != httpapi.MaxUpstreamBody {
		t.Errorf("1 MiB: %d, upstream got %d bytes; want 201, %d", r.status, len(body), httpapi.MaxUpstreamBody)
	}
}

// TestUpstreamRateLimit: the request after the token's limit is 429 and
// never reaches the upstream. The clock stays within one window.
func TestUpstreamRateLimit(t *testing.T) {
	clk := &clock{now: windowStart.Add(10 * time.Second)}
	e, up := newUpstreamEnvAt(t, clk.Now)
	e.setPlan(tokensmith.SitePlanStarter, 0)
	secret, _ := e.mint("site", `{"cms":"read"}`)
	var last response
	for i := 0; i < 61; i++ {
		last = e.do("GET", "/v2/collections/c1/items", secret, "")
		if i < 60 && last.status != http.StatusCreated {
			t.Fatalf("request %d = %d %s; want the upstream's 201", i+1, last.status, last.raw)
		}
	}
	wantError(t, last, 429, "too_many_requests")
	if last.header.Get("Retry-After") == "" || last.header.Get(httpapi.HeaderRemaining) != "0" {
		t.Errorf("429 headers %v", last.header)
	}
	if n := up.count(); n != 60 {
		t.Errorf("the upstream got %d requests; want 60", n)
	}
}

// TestDemoCMS walks the README's walkthrough against the demo CMS that the
// stack starts: a cms read_write token writes an item and reads it back; a
// cms read token is refused the write; and the CMS refuses a request
// without an assertion, and an assertion replayed, on its route or another.
func TestDemoCMS(t *testing.T) {
	e := newEnv(t)
	if e.stack.DemoCMS == "" {
		t.Fatal("the stack started no demo CMS")
	}
	writer, _ := e.mint("site", `{"cms":"read_write"}`)
	reader, _ := e.mint("site", `{"cms":"read"}`)
	col := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/collections", writer, `{"displayName":"Crew"}`)
	if col.status != http.StatusCreated || col.str("id") == "" {
		t.Fatalf("create collection = %d %s", col.status, col.raw)
	}
	items := "/v2/collections/" + col.str("id") + "/items"
	item := e.do("POST", items, writer, `{"fieldData":{"name":"Ford Prefect"}}`)
	if item.status != http.StatusCreated {
		t.Fatalf("write item = %d %s", item.status, item.raw)
	}
	back := e.do("GET", items+"/"+item.str("id"), reader, "")
	if back.status != 200 || back.raw != item.raw {
		t.Errorf("read back = %d %s; want %s", back.status, back.raw, item.raw)
	}
	wantError(t, e.do("POST", items, reader, `{"fieldData":{"name":"Zaphod"}}`), 403, "missing_scopes")

}

// TestDemoCMSRefusesReplays: the demo CMS, behind a recorder that keeps
// the assertion the stack sends, refuses a request without one, and an
// assertion replayed on another route or on its own.
func TestDemoCMSRefusesReplays(t *testing.T) {
	var cms *democms.CMS
	var mu sync.Mutex
	var captured string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		captured = r.Header.Get("Tokensmith-Assertion")
		mu.Unlock()
		cms.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	vars := map[string]string{localdev.EnvCMSURL: srv.URL}
	e := newEnvConfig(t, localdev.Config{Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }})
	cms = &democms.CMS{JWKSURL: e.url + "/.well-known/jwks.json", Issuer: e.url, Client: http.DefaultClient, Now: time.Now}
	if e.stack.DemoCMS != "" {
		t.Errorf("the stack started a demo CMS of its own at %s though CMS_UPSTREAM_URL is set", e.stack.DemoCMS)
	}
	reader, _ := e.mint("site", `{"cms":"read"}`)
	collections := "/v2/sites/" + e.demo.SiteID + "/collections"
	if r := e.do("GET", collections, reader, ""); r.status != http.StatusOK {
		t.Fatalf("GET %s = %d %s", collections, r.status, r.raw)
	}
	mu.Lock()
	assertion := captured
	mu.Unlock()
	direct := func(method, path, assertion string) int {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if assertion != "" {
			req.Header.Set("Tokensmith-Assertion", assertion)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, method, path, assertion string
	}{
		{"no assertion", "GET", collections, ""},
		{"replayed on another route", "GET", "/v2/collections/c1/items", assertion},
		{"replayed with another method", "POST", collections, assertion},
		{"replayed on its route", "GET", collections, assertion},
		{"not an assertion", "GET", collections, "forged"},
	}
	for _, tc := range tests {
		if got := direct(tc.method, tc.path, tc.assertion); got != http.StatusUnauthorized {
			t.Errorf("%s: the CMS answered %d; want 401", tc.name, got)
		}
	}
}
