package localdev_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/token"
)

// windowStart is a whole minute, where a rate-limit window starts.
var windowStart = time.Date(2026, time.November, 24, 12, 0, 0, 0, time.UTC)

// rateHeaders are a response's rate-limit headers, "" when absent.
func rateHeaders(r response) (limit, remaining, reset, retryAfter string) {
	return r.header.Get("X-RateLimit-Limit"), r.header.Get("X-RateLimit-Remaining"), r.header.Get("X-RateLimit-Reset"), r.header.Get("Retry-After")
}

// wantRate checks a response's rate-limit headers.
func wantRate(t *testing.T, r response, limit, remaining int64, reset time.Time) {
	t.Helper()
	gl, gr, gs, _ := rateHeaders(r)
	if gl != strconv.FormatInt(limit, 10) || gr != strconv.FormatInt(remaining, 10) || gs != strconv.FormatInt(reset.Unix(), 10) {
		t.Errorf("%d %s: X-RateLimit-Limit %q, -Remaining %q, -Reset %q; want %d, %d, %d", r.status, r.str("code"), gl, gr, gs, limit, remaining, reset.Unix())
	}
}

// setPlan puts the demo site on plan.
func (e *env) setPlan(plan tokensmith.SitePlan, rateLimit int64) {
	e.t.Helper()
	if _, err := e.stack.Operator.SetSitePlan(context.Background(), e.demo.SiteID, plan, rateLimit); err != nil {
		e.t.Fatal(err)
	}
}

// TestRateLimitWindowEdge: on a starter site (60 a minute), with API
// Gateway's authorizer cache on, the 60th request of a window passes, the
// 61st is refused with 429 and Retry-After to the window's end, changes
// nothing and counts nothing, and the first of the next window passes.
func TestRateLimitWindowEdge(t *testing.T) {
	clk := &clock{now: windowStart.Add(10 * time.Second)}
	e := newEnvWith(t, 30*time.Second, clk.Now)
	e.setPlan(tokensmith.SitePlanStarter, 0)
	secret, id := e.mint("site", `{"sites":"read"}`)
	reset := windowStart.Add(ratelimit.Window)

	for i := int64(1); i <= 60; i++ {
		r := e.do("GET", "/v2/sites", secret, "")
		if r.status != 200 {
			t.Fatalf("request %d = %d %s; want 200", i, r.status, r.raw)
		}
		wantRate(t, r, 60, 60-i, reset)
	}
	before := fmt.Sprint(e.state())
	used := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, "")

	clk.Add(9500 * time.Millisecond) // 40.5 s before the window ends
	for _, path := range []string{"/v2/sites", "/v2/token/introspect", "/v2/workspaces/" + e.demo.WorkspaceID + "/audit_logs"} {
		r := e.do("GET", path, secret, "")
		wantError(t, r, 429, "too_many_requests")
		if r.str("message") != "Too Many Requests" {
			t.Errorf("429 message = %q; want Too Many Requests", r.str("message"))
		}
		wantRate(t, r, 60, 0, reset)
		if _, _, _, ra := rateHeaders(r); ra != "41" {
			t.Errorf("Retry-After = %q; want 41 (whole seconds to the window's end, rounded up)", ra)
		}
	}
	if got, err := e.stack.Store.RequestCount(context.Background(), id, windowStart); err != nil || got != 60 {
		t.Errorf("count after refusals = %d, %v; want 60 (a refusal counts nothing)", got, err)
	}
	if after := fmt.Sprint(e.state()); after != before {
		t.Errorf("a refused request changed the table:\nbefore %s\nafter  %s", before, after)
	}
	if again := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+id, e.demo.AdminToken, ""); again.body["useCount"] != used.body["useCount"] || again.str("lastUsed") != used.str("lastUsed") {
		t.Errorf("usage after refusals = %v, %s; want %v, %s (a refusal is no use)", again.body["useCount"], again.str("lastUsed"), used.body["useCount"], used.str("lastUsed"))
	}

	clk.Add(40500 * time.Millisecond) // the next window's first instant
	r := e.do("GET", "/v2/sites", secret, "")
	if r.status != 200 {
		t.Fatalf("first request of the next window = %d %s; want 200", r.status, r.raw)
	}
	wantRate(t, r, 60, 59, reset.Add(ratelimit.Window))
}

// TestRateLimitHeaders: every answer to a valid token carries the
// rate-limit headers and counts, a 403 missing_scopes, a 404 and a 400 too,
// and a path API Gateway routes with a trailing slash is counted as the
// route it matched; an
// invalid credential, a person's user token and the revoke route get none
// and count nothing.
func TestRateLimitHeaders(t *testing.T) {
	clk := &clock{now: windowStart}
	e := newEnvWith(t, -1, clk.Now)
	secret, id := e.mint("site", `{"sites":"read"}`)
	reset := windowStart.Add(ratelimit.Window)
	unknown, err := token.Generate(token.KindSite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	for i, tc := range []struct {
		path   string
		status int
	}{
		{"/v2/sites", 200},
		{"/v2/workspaces/" + e.demo.WorkspaceID + "/audit_logs", 403},
		{"/v2/sites/0000000000000000000000ff", 404},
		{"/v2/token/introspect", 200},
		{"/v2/sites/", 200},      // routed as /v2/sites
		{"/v2/sites?x=%01", 400}, // counted before it is refused
		{"/v2/sites/" + e.demo.SiteID + "%00", 400},
	} {
		r := e.do("GET", tc.path, secret, "")
		if r.status != tc.status {
			t.Fatalf("GET %s = %d %s; want %d", tc.path, r.status, r.raw, tc.status)
		}
		wantRate(t, r, 120, 120-int64(i+1), reset)
		if tc.path == "/v2/sites" && strings.Contains(r.raw, `"plan"`) {
			t.Errorf("a site shows its plan to an API token: %s", r.raw)
		}
		if tc.path == "/v2/token/introspect" && r.body["authorization"].(map[string]any)["rateLimit"] != 120.0 {
			t.Errorf("introspect = %s; want authorization.rateLimit 120", r.raw)
		}
	}
	for _, r := range []response{
		e.do("GET", "/v2/sites", tampered(secret), ""),
		e.do("GET", "/v2/sites", unknown, ""),
		e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, ""),
		e.do("POST", "/v2/token/revoke", "", `{"token":"tss_garbage"}`),
	} {
		if l, rem, rs, ra := rateHeaders(r); l+rem+rs+ra != "" {
			t.Errorf("%d %s carries rate-limit headers %q %q %q %q; want none", r.status, r.raw, l, rem, rs, ra)
		}
	}
	if got, err := e.stack.Store.RequestCount(context.Background(), id, windowStart); err != nil || got != 7 {
		t.Errorf("count = %d, %v; want 7 (the valid token's requests only)", got, err)
	}
}

// TestRateLimitPerToken: two tokens of one site do not share a count, and a
// workspace token has its fixed limit.
func TestRateLimitPerToken(t *testing.T) {
	clk := &clock{now: windowStart}
	e := newEnvWith(t, -1, clk.Now)
	e.setPlan(tokensmith.SitePlanEnterprise, 3)
	first, _ := e.mint("site", `{"sites":"read"}`)
	second, _ := e.mint("site", `{"sites":"read"}`)
	for range 3 {
		e.do("GET", "/v2/sites", first, "")
	}
	wantError(t, e.do("GET", "/v2/sites", first, ""), 429, "too_many_requests")
	r := e.do("GET", "/v2/sites", second, "")
	if r.status != 200 {
		t.Fatalf("second token = %d %s; want 200", r.status, r.raw)
	}
	wantRate(t, r, 3, 2, windowStart.Add(ratelimit.Window))
	ws, _ := e.mint("workspace", `{"workspace_activity":"read"}`)
	wantRate(t, e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceID+"/audit_logs", ws, ""), 120, 119, windowStart.Add(ratelimit.Window))
}

// TestRateLimitPlanChange: a site's plan change reaches its tokens within
// one window, also while API Gateway serves the authorizer's cached
// decision (for at most its TTL, 30 seconds).
func TestRateLimitPlanChange(t *testing.T) {
	clk := &clock{now: windowStart}
	e := newEnvWith(t, 30*time.Second, clk.Now)
	secret, _ := e.mint("site", `{"sites":"read"}`)
	reset := windowStart.Add(ratelimit.Window)
	wantRate(t, e.do("GET", "/v2/sites", secret, ""), 120, 119, reset)

	e.setPlan(tokensmith.SitePlanBasic, 0)
	clk.Add(31 * time.Second) // past the cached decision
	wantRate(t, e.do("GET", "/v2/sites", secret, ""), 60, 58, reset)

	e.setPlan(tokensmith.SitePlanEnterprise, 0)
	clk.Add(31 * time.Second)
	wantRate(t, e.do("GET", "/v2/sites", secret, ""), 600, 599, reset.Add(ratelimit.Window))
	e.setPlan(tokensmith.SitePlanEnterprise, 1000)
	clk.Add(31 * time.Second)
	wantRate(t, e.do("GET", "/v2/sites", secret, ""), 1000, 998, reset.Add(ratelimit.Window))
}

// TestRateLimitConcurrent: many clients of one token at once, served by two
// functions (each its own instance, as in Lambda), get at most the limit
// through in a window, and the rest 429; the count stops at the limit. With
// API Gateway's authorizer cache off, the authorizer counts each request
// (beside its read, once it has read the secret valid); with it on, the
// functions count the requests served from the cache.
func TestRateLimitConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"authorizer cache on", 30 * time.Second}, {"authorizer cache off", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{now: windowStart}
			e := newEnvWith(t, tc.ttl, clk.Now)
			e.setPlan(tokensmith.SitePlanStarter, 0)
			secret, id := e.mint("site", `{"sites":"read"}`)
			const clients, each = 8, 12
			var mu sync.Mutex
			got := map[int]int{}
			var wg sync.WaitGroup
			for i := range clients {
				path := "/v2/sites"
				if i%2 == 1 {
					path = "/v2/token/introspect"
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						status := e.do("GET", path, secret, "").status
						mu.Lock()
						got[status]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			// At most the limit passes. On a loaded machine DynamoDB Local may
			// answer a counter write too late: the call fails closed (500), or the
			// SDK's retry after a lost answer counts a call twice; either way fewer
			// pass, never more.
			if got[200] > 60 || got[200] == 0 || got[200]+got[429]+got[500] != clients*each {
				t.Errorf("statuses = %v; want at most 60 × 200 and the rest 429 (or 500 when DynamoDB Local is too slow)", got)
			}
			if got[500] > 0 {
				t.Logf("%d calls failed closed on a slow DynamoDB Local", got[500])
			}
			if n, err := e.stack.Store.RequestCount(context.Background(), id, windowStart); err != nil || n > 60 || (got[500] == 0 && n != 60) {
				t.Errorf("count = %d, %v; want 60 (at most 60 when calls failed)", n, err)
			}
		})
	}
}

// tampered is secret with its last character changed, so that its
// checksum no longer holds.
func tampered(secret string) string {
	last := "x"
	if strings.HasSuffix(secret, last) {
		last = "y"
	}
	return secret[:len(secret)-1] + last
}
