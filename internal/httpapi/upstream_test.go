package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/upstream"
)

// TestUpstreams drives the upstream function's handler as API Gateway
// calls it (the greedy resource, no authorizer), with the decision and the
// count faked, against a recording upstream: what reaches the upstream,
// what is stripped and added, and what never reaches it.
func TestUpstreams(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a redirect was followed to %s with assertion %q", r.URL, r.Header.Get(assertion.Header))
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
		if r.Header.Get("X-Redirect") != "" {
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
			return
		}
		if r.Header.Get("X-Reset") != "" {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("X-RateLimit-Limit", "999")
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "answer")
	}))
	defer srv.Close()
	d := &upstream.Declaration{Upstreams: []upstream.Upstream{{Name: "shop", URL: srv.URL, Audience: "shop", TimeoutSeconds: 5,
		Routes: []upstream.Route{{Method: "POST", Path: "/v2/sites/{site_id}/orders", Scope: "ecommerce:write"},
			{Method: "GET", Path: "/v2/orders/{order_id}", Scope: "ecommerce:read"},
			{Method: "GET", Path: "/v2/files/{file+}", Scope: "ecommerce:read"},
			{Method: "GET", Path: "/v2/workspaces/{workspace_id}/reports", Scope: "ecommerce:read"}}},
		{Name: "idle", URL: "${IDLE_URL}", Audience: "idle", Routes: []upstream.Route{{Method: "GET", Path: "/v2/idle", Scope: "ecommerce:read"}}}}}
	if err := d.Validate("shop.yaml", func(k string) (string, bool) { return "", k == "IDLE_URL" }); err != nil {
		t.Fatal(err)
	}
	d.Install()
	defer route.Join(nil)

	site := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t1", SiteID: "s1", WorkspaceID: "w1", Scope: "ecommerce:read,ecommerce:write", RateLimit: 60}
	reader := site
	reader.Scope = "ecommerce:read"
	workspace := tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "t2", WorkspaceID: "w1", Plan: "enterprise", Scope: "ecommerce:read", RateLimit: 60}
	callers := map[string]tokensmith.Caller{"writer": site, "reader": reader, "workspace": workspace}
	decide := func(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		if req.Resource == route.ProxyPath {
			t.Errorf("decided for resource %q; want the upstream route's", req.Resource)
		}
		p, ok := callers[strings.TrimPrefix(req.Headers["Authorization"], "Bearer ")]
		if !ok {
			return events.APIGatewayCustomAuthorizerResponse{}, authorizer.ErrUnauthorized
		}
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: p.TokenID, Context: principal.Context(p)}, nil
	}
	key, err := assertion.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	counted := 0
	limiter := &fakeLimiter{TakeFn: func(context.Context, string, int64, time.Time) (ratelimit.Decision, error) {
		counted++
		return ratelimit.Decision{Allowed: true, Limit: 60, Remaining: 59, Reset: guardNow.Add(time.Minute)}, nil
	}}
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	u := &Upstreams{
		Declaration: d, Decide: decide, Log: log, Client: NewUpstreamClient(),
		Guard:      &Guard{Limiter: limiter, Uses: &fakeUses{}, Now: func() time.Time { return guardNow }, Log: log},
		Assertions: &assertion.Signer{Issuer: "https://api.example.com", Keys: []assertion.Key{key}, Now: func() time.Time { return guardNow }},
	}
	h := u.Proxy()
	event := func(method, path, bearer, body string, headers ...string) events.APIGatewayProxyRequest {
		hs := map[string]string{"Authorization": "Bearer " + bearer, "Content-Type": "application/json"}
		for i := 0; i+1 < len(headers); i += 2 {
			hs[headers[i]] = headers[i+1]
		}
		return events.APIGatewayProxyRequest{Resource: route.ProxyPath, Path: path, HTTPMethod: method, Headers: hs, Body: body,
			PathParameters: map[string]string{"proxy": strings.TrimPrefix(path, "/v2/")},
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-1", Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"}}}
	}
	tests := []struct {
		name    string
		ev      events.APIGatewayProxyRequest
		status  int
		reached bool
		counted bool
	}{
		{"forwarded", event("POST", "/v2/sites/s1/orders", "writer", `{"n":1}`, "Tokensmith-Assertion", "forged", "Tokensmith-X", "y", "X-Kept", "k", "Connection", "X-Hop", "X-Hop", "h",
			"Tokensmith_Assertion", "forged", "Tokensmith.Assertion", "forged", "X-Tokensmith-Caller", "forged", "x_tokensmith.site", "forged",
			"X-HTTP-Method-Override", "DELETE", "X-Original-URL", "/v2/sites/s2/orders", "X-Rewrite-URL", "/admin",
			"X-Forwarded-Host", "evil.example", "X-Forwarded-For", "10.0.0.1", "X_Forwarded_For", "10.0.0.2", "Forwarded", "for=10.0.0.3"), 202, true, true},
		{"missing scope", event("POST", "/v2/sites/s1/orders", "reader", `{}`), 403, false, true},
		{"another site", event("POST", "/v2/sites/s2/orders", "writer", `{}`), 404, false, false},
		{"another site without the scope", event("POST", "/v2/sites/s2/orders", "reader", `{}`), 404, false, false},
		{"a site of a workspace token", event("POST", "/v2/sites/s1/orders", "workspace", `{}`), 404, false, false},
		{"another workspace", event("GET", "/v2/workspaces/w2/reports", "workspace", ""), 404, false, false},
		{"the token's workspace", event("GET", "/v2/workspaces/w1/reports", "workspace", ""), 202, true, true},
		{"a site token's own workspace", event("GET", "/v2/workspaces/w1/reports", "writer", ""), 202, true, true},
		{"another workspace of a site token", event("GET", "/v2/workspaces/w2/reports", "writer", ""), 404, false, false},
		{"no valid token", event("POST", "/v2/sites/s1/orders", "nobody", `{}`), 401, false, false},
		{"no route", event("GET", "/v2/sites/s1/orders", "writer", ""), 404, false, false},
		{"1 MiB and a byte", event("POST", "/v2/sites/s1/orders", "writer", strings.Repeat("a", MaxUpstreamBody+1)), 413, false, true},
		{"a redirect passed back, not followed", event("POST", "/v2/sites/s1/orders", "writer", `{}`, "X-Redirect", "1"), 307, true, true},
		{"an unserved upstream", event("GET", "/v2/idle", "writer", ""), 502, false, true},
		{"an upstream that resets", withQuery(event("POST", "/v2/sites/s1/orders", "writer", `{}`, "X-Reset", "1"), "code", "q-secret"), 502, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			before := len(got)
			mu.Unlock()
			countedBefore := counted
			resp, err := h(context.Background(), tc.ev)
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("answer = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tc.status)
			}
			mu.Lock()
			reached := len(got) > before
			mu.Unlock()
			if reached != tc.reached || (counted > countedBefore) != tc.counted {
				t.Errorf("reached the upstream %v, counted %v; want %v, %v", reached, counted > countedBefore, tc.reached, tc.counted)
			}
		})
	}

	if strings.Contains(logged.String(), "q-secret") || !strings.Contains(logged.String(), "upstream failed") {
		t.Errorf("log = %s; want the failure without the query", logged.String())
	}

	// The forwarded path is the route's template with each parameter
	// decoded and escaped again; a parameter that would make an upstream
	// that resolves dot segments serve another path is not found.
	paths := []struct{ path, forwarded string }{
		{"/v2/orders/o1", "/v2/orders/o1"},
		{"/v2/orders/a%20b", "/v2/orders/a%20b"},
		{"/v2/orders/a;b", "/v2/orders/a%3Bb"},
		{"/v2/files/a/b.txt", "/v2/files/a/b.txt"},
		{"/v2/orders/..", ""},
		{"/v2/orders/.", ""},
		{"/v2/orders/%2e%2e", ""},
		{"/v2/orders/%2E", ""},
		{"/v2/orders/..;", ""},
		{"/v2/orders/a%2Fb", ""},
		{"/v2/orders/a%5Cb", ""},
		{"/v2/orders/a%5c..", ""},
		{"/v2/orders/%zz", ""},
		{"/v2/files/a/../b", ""},
		{"/v2/files/a/%2e%2e/b", ""},
		{"/v2/files/a//b", ""},
		{"/v2/files/a%2F..%2Fb", ""},
	}
	for _, tc := range paths {
		t.Run("path "+tc.path, func(t *testing.T) {
			mu.Lock()
			before := len(got)
			mu.Unlock()
			resp, err := h(context.Background(), event("GET", tc.path, "writer", ""))
			want := http.StatusAccepted
			if tc.forwarded == "" {
				want = http.StatusNotFound
			}
			if err != nil || resp.StatusCode != want {
				t.Fatalf("answer = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, want)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.forwarded == "" {
				if len(got) > before {
					t.Errorf("upstream got %s; want nothing", got[len(got)-1].RequestURI)
				}
				return
			}
			r := got[len(got)-1]
			claims := assertionClaims(t, r.Header.Get(assertion.Header))
			if r.RequestURI != tc.forwarded || claims["htu"] != tc.forwarded {
				t.Errorf("upstream got %s with htu %v; want %s", r.RequestURI, claims["htu"], tc.forwarded)
			}
		})
	}

	// What the upstream got of the forwarded request, and what came back.
	r, body := got[0], bodies[0]
	if r.URL.Path != "/v2/sites/s1/orders" || body != `{"n":1}` || r.Header.Get("X-Kept") != "k" || r.Header.Get("Tokensmith-Request-Id") != "req-1" {
		t.Errorf("upstream got %s %q with headers %v", r.URL.Path, body, r.Header)
	}
	for name, vs := range r.Header {
		switch name {
		case "Accept-Encoding", "Content-Length", "Content-Type", "User-Agent", "X-Kept", assertion.Header, HeaderRequestID, "X-Forwarded-For":
		default:
			t.Errorf("upstream got %s %q; want none", name, vs)
		}
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "203.0.113.7" {
		t.Errorf("upstream got X-Forwarded-For %q; want the source address only", xff)
	}
	if a := r.Header.Get(assertion.Header); a == "" || a == "forged" {
		t.Errorf("upstream got assertion %q; want tokensmith's", a)
	}
	resp, _ := h(context.Background(), event("POST", "/v2/sites/s1/orders", "writer", `{}`))
	if resp.Body != "answer" || resp.MultiValueHeaders["X-Upstream"][0] != "yes" || resp.MultiValueHeaders["X-Ratelimit-Limit"][0] != "60" || resp.MultiValueHeaders["X-Content-Type-Options"][0] != "nosniff" {
		t.Errorf("answer = %d %v %q; want the upstream's 202 with the token's limit, nosniff", resp.StatusCode, resp.MultiValueHeaders, resp.Body)
	}
}

// BenchmarkUpstreamRoute is the upstream function's own work on a request
// (the adapter, matching, the decision and the count faked in memory, the
// guard, signing the assertion, forwarding over loopback) beside the same
// request sent straight to the upstream: the difference is the route's CPU
// and forwarding cost without DynamoDB, whose calls are the built-in data
// routes' own (make bench measures those).
func BenchmarkUpstreamRoute(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"items":[]}`)
	}))
	defer srv.Close()
	d := &upstream.Declaration{Upstreams: []upstream.Upstream{{Name: "cms", URL: srv.URL, Audience: "cms", TimeoutSeconds: 5,
		Routes: []upstream.Route{{Method: "GET", Path: "/v2/collections/{collection_id}/items", Scope: "cms:read"}}}}}
	if err := d.Validate("bench.yaml", func(string) (string, bool) { return "", false }); err != nil {
		b.Fatal(err)
	}
	d.Install()
	defer route.Join(nil)
	p := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t1", SiteID: "s1", WorkspaceID: "w1", Scope: "cms:read", RateLimit: 60}
	decide := func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return events.APIGatewayCustomAuthorizerResponse{PrincipalID: p.TokenID, Context: principal.Context(p)}, nil
	}
	key, _ := assertion.GenerateKey()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	limiter := &fakeLimiter{TakeFn: func(context.Context, string, int64, time.Time) (ratelimit.Decision, error) {
		return ratelimit.Decision{Allowed: true, Limit: 60, Remaining: 59, Reset: guardNow.Add(time.Minute)}, nil
	}}
	h := (&Upstreams{
		Declaration: d, Decide: decide, Log: log, Client: NewUpstreamClient(),
		Guard:      &Guard{Limiter: limiter, Uses: &fakeUses{}, Now: time.Now, Log: log},
		Assertions: &assertion.Signer{Issuer: "https://api.example.com", Keys: []assertion.Key{key}, Now: time.Now},
	}).Proxy()
	const path = "/v2/collections/c1/items"
	ev := events.APIGatewayProxyRequest{Resource: route.ProxyPath, Path: path, HTTPMethod: "GET",
		Headers: map[string]string{"Authorization": "Bearer t"}, PathParameters: map[string]string{"proxy": "collections/c1/items"}}
	b.Run("straight", func(b *testing.B) {
		for b.Loop() {
			resp, err := http.Get(srv.URL + path)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("straight: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("through the route", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := h(context.Background(), ev)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("through the route: %d %v", resp.StatusCode, err)
			}
		}
	})
}

// assertionClaims returns the claims of JWT a, unverified.
func assertionClaims(t *testing.T, a string) map[string]any {
	t.Helper()
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is no JWT", a)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err == nil {
		err = json.Unmarshal(b, &claims)
	}
	if err != nil {
		t.Fatalf("assertion claims: %v", err)
	}
	return claims
}

// withQuery returns ev with query parameter name=value.
func withQuery(ev events.APIGatewayProxyRequest, name, value string) events.APIGatewayProxyRequest {
	ev.QueryStringParameters = map[string]string{name: value}
	ev.MultiValueQueryStringParameters = map[string][]string{name: {value}}
	return ev
}
