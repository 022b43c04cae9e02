package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/store"
)

// fakeLimiter answers Take with its function.
type fakeLimiter struct {
	TakeFn func(ctx context.Context, tokenID string, limit int64, now time.Time) (ratelimit.Decision, error)
}

func (f *fakeLimiter) Take(ctx context.Context, tokenID string, limit int64, now time.Time) (ratelimit.Decision, error) {
	return f.TakeFn(ctx, tokenID, limit, now)
}

// fakeUses counts the uses it is told of, and the scopes they exercised.
type fakeUses struct {
	n      int
	scopes []string
}

func (f *fakeUses) Record(_ context.Context, _ tokensmith.Secret, sc string, _ time.Time) bool {
	f.n++
	f.scopes = append(f.scopes, sc)
	return true
}

var guardNow = time.Date(2026, time.November, 22, 12, 0, 20, 0, time.UTC)

// guarded serves the sites function's routes through g with handlers that
// answer 200, and counts the calls that reach them.
func guarded(g *Guard, served *int) Proxy {
	ok := func(w http.ResponseWriter, r *http.Request) {
		*served++
		writeJSON(w, http.StatusOK, map[string]string{})
	}
	return mux(route.Sites, map[string]http.HandlerFunc{"listSites": ok, "getSite": ok}, g, g.Log).Proxy()
}

func sitesEvent(p tokensmith.Caller) events.APIGatewayProxyRequest {
	ctx := principal.Context(p)
	ctx["principalId"] = p.TokenID
	return events.APIGatewayProxyRequest{Resource: "/v2/sites", Path: "/v2/sites", HTTPMethod: "GET",
		RequestContext: events.APIGatewayProxyRequestContext{Authorizer: ctx}}
}

// TestGuard: the guard counts every request of a valid token first, sets
// the rate-limit headers on whatever is answered, refuses over the limit
// with 429 and Retry-After, then refuses a workspace token off the
// enterprise plan and a missing scope with 403; only a request it lets
// through reaches the handler and is noted as a use. A request with no
// token principal is 401 and counts nothing.
func TestGuard(t *testing.T) {
	site := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t1", SiteID: "s", WorkspaceID: "w", Scope: "sites:read", RateLimit: 60}
	noScope := site
	noScope.Scope = "cms:read"
	wsFree := tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "t2", WorkspaceID: "w", Scope: "workspace_activity:read", Plan: "free", RateLimit: 120}
	wsEnterprise := wsFree
	wsEnterprise.Plan, wsEnterprise.Scope = "enterprise", "sites:read"
	reset := guardNow.Truncate(ratelimit.Window).Add(ratelimit.Window)
	within := ratelimit.Decision{Allowed: true, Limit: 60, Remaining: 59, Reset: reset}
	over := ratelimit.Decision{Limit: 60, Reset: reset, RetryAfter: 40 * time.Second}
	tests := []struct {
		name       string
		p          tokensmith.Caller
		decision   ratelimit.Decision
		status     int
		code       string
		retryAfter string
		served     int
	}{
		{"within the limit", site, within, 200, "", "", 1},
		{"over the limit", site, over, 429, "too_many_requests", "40", 0},
		{"over the limit, missing scope too", noScope, over, 429, "too_many_requests", "40", 0},
		{"missing scope", noScope, within, 403, "missing_scopes", "", 0},
		{"workspace off enterprise", wsFree, within, 403, "not_enterprise_plan_workspace", "", 0},
		{"workspace on enterprise", wsEnterprise, within, 200, "", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var took []string
			uses := &fakeUses{}
			g := &Guard{Limiter: &fakeLimiter{TakeFn: func(_ context.Context, id string, limit int64, now time.Time) (ratelimit.Decision, error) {
				if limit != tc.p.RateLimit || !now.Equal(guardNow) {
					t.Errorf("Take(%s, %d, %v); want limit %d at %v", id, limit, now, tc.p.RateLimit, guardNow)
				}
				took = append(took, id)
				return tc.decision, nil
			}}, Uses: uses, Now: func() time.Time { return guardNow }, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			served := 0
			resp, err := guarded(g, &served)(context.Background(), sitesEvent(tc.p))
			if err != nil {
				t.Fatal(err)
			}
			var body errorBody
			json.Unmarshal([]byte(resp.Body), &body)
			if resp.StatusCode != tc.status || string(body.Code) != tc.code {
				t.Errorf("got %d %s; want %d %s", resp.StatusCode, body.Code, tc.status, tc.code)
			}
			h := http.Header(resp.MultiValueHeaders)
			if h.Get(HeaderLimit) != "60" || h.Get(HeaderRemaining) != map[bool]string{true: "59", false: "0"}[tc.decision.Allowed] || h.Get(HeaderReset) != "1795348860" {
				t.Errorf("headers %v; want the limit's", h)
			}
			if got := h.Get(HeaderRetryAfter); got != tc.retryAfter {
				t.Errorf("Retry-After = %q; want %q", got, tc.retryAfter)
			}
			if len(took) != 1 || took[0] != tc.p.TokenID {
				t.Errorf("counted %v; want once for %s", took, tc.p.TokenID)
			}
			if served != tc.served || uses.n != tc.served {
				t.Errorf("served %d, uses %d; want %d of each", served, uses.n, tc.served)
			}
			for _, sc := range uses.scopes {
				// The sites function's routes need sites:read: the use
				// exercised it.
				if sc != "sites:read" {
					t.Errorf("use noted with scope %q; want sites:read", sc)
				}
			}
		})
	}
	t.Run("no token principal", func(t *testing.T) {
		g := &Guard{Limiter: &fakeLimiter{TakeFn: func(context.Context, string, int64, time.Time) (ratelimit.Decision, error) {
			t.Error("a request without a token principal was counted")
			return within, nil
		}}, Uses: &fakeUses{}, Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		served := 0
		resp, _ := guarded(g, &served)(context.Background(), sitesEvent(tokensmith.Caller{Kind: tokensmith.CallerPerson, Subject: "u", Email: "a@example.com"}))
		if resp.StatusCode != 401 || served != 0 || http.Header(resp.MultiValueHeaders).Get(HeaderLimit) != "" {
			t.Errorf("got %d, served %d, headers %v; want 401, none, no rate-limit headers", resp.StatusCode, served, resp.MultiValueHeaders)
		}
	})
}

// TestGuardFailsClosed: when the counter cannot be written (DynamoDB
// throttling or unreachable), or the request carries no limit, the request
// is a 500 and reaches no handler: never unlimited.
func TestGuardFailsClosed(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	site := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t1", SiteID: "s", WorkspaceID: "w", Scope: "sites:read", RateLimit: 60}
	noLimit := site
	noLimit.RateLimit = 0
	for name, tc := range map[string]struct {
		db store.DB
		p  tokensmith.Caller
	}{
		"throttling":  {mock.Failing(&types.ProvisionedThroughputExceededException{Message: aws.String("throttled")}), site},
		"unreachable": {mock.Failing(errors.New("dial tcp 127.0.0.1:8000: connection refused")), site},
		"no limit":    {mock.Failing(errors.New("not called")), noLimit},
	} {
		t.Run(name, func(t *testing.T) {
			served := 0
			resp, err := guarded(NewGuard(store.New(tc.db, "tokensmith"), time.Now, log), &served)(context.Background(), sitesEvent(tc.p))
			if err != nil || resp.StatusCode != 500 || served != 0 {
				t.Errorf("got %d, %v, served %d; want 500 and no handler", resp.StatusCode, err, served)
			}
		})
	}
}

// TestGuardCountsWhatTheGatewayRouted: the function serves the route API
// Gateway matched, by its resource and path parameters (decoded), whatever
// the path looks like; a path or query a handler may not see is counted and
// gets the rate-limit headers like any request of the token, then a 400.
func TestGuardCountsWhatTheGatewayRouted(t *testing.T) {
	site := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t1", SiteID: "s", WorkspaceID: "w", Scope: "sites:read", RateLimit: 60}
	reset := guardNow.Truncate(ratelimit.Window).Add(ratelimit.Window)
	get := func(resource, path string, params map[string]string, query map[string][]string) events.APIGatewayProxyRequest {
		ev := sitesEvent(site)
		ev.Resource, ev.Path, ev.PathParameters, ev.MultiValueQueryStringParameters = resource, path, params, query
		return ev
	}
	tests := []struct {
		name   string
		event  events.APIGatewayProxyRequest
		status int
		code   string
		siteID string // what the handler saw; "" when it did not run
	}{
		{"trailing slash", get("/v2/sites", "/v2/sites/", nil, nil), 200, "", "-"},
		{"dot segment", get("/v2/sites/{site_id}", "/v2/sites/.", map[string]string{"site_id": "."}, nil), 200, "", "."},
		{"encoded parameter", get("/v2/sites/{site_id}", "/v2/sites/a%2Fb", map[string]string{"site_id": "a%2Fb"}, nil), 200, "", "a/b"},
		{"parameter that does not decode", get("/v2/sites/{site_id}", "/v2/sites/%zz", map[string]string{"site_id": "%zz"}, nil), 400, "bad_request", ""},
		{"encoded control character", get("/v2/sites/{site_id}", "/v2/sites/a%00", map[string]string{"site_id": "a%00"}, nil), 400, "bad_request", ""},
		{"control character in the query", get("/v2/sites", "/v2/sites", nil, map[string][]string{"x": {"\x01"}}), 400, "bad_request", ""},
		{"no such resource", get("/v2/sites/{site_id}/nothing", "/v2/sites/s/nothing", map[string]string{"site_id": "s"}, nil), 404, "resource_not_found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			took := 0
			g := countingGuard(&took, reset)
			saw := ""
			seen := func(w http.ResponseWriter, r *http.Request) {
				saw = r.PathValue("site_id")
				if saw == "" {
					saw = "-"
				}
				writeJSON(w, http.StatusOK, map[string]string{})
			}
			proxy := mux(route.Sites, map[string]http.HandlerFunc{"listSites": seen, "getSite": seen}, g, g.Log).Proxy()
			resp, err := proxy(context.Background(), tc.event)
			if err != nil {
				t.Fatal(err)
			}
			var body errorBody
			json.Unmarshal([]byte(resp.Body), &body)
			if resp.StatusCode != tc.status || string(body.Code) != tc.code || saw != tc.siteID {
				t.Errorf("got %d %s, handler saw %q; want %d %s, %q", resp.StatusCode, body.Code, saw, tc.status, tc.code, tc.siteID)
			}
			wantTook, wantLimit := 1, "60"
			if tc.status == http.StatusNotFound {
				wantTook, wantLimit = 0, ""
			}
			if took != wantTook || http.Header(resp.MultiValueHeaders).Get(HeaderLimit) != wantLimit {
				t.Errorf("counted %d times, %s %q; want %d, %q", took, HeaderLimit, http.Header(resp.MultiValueHeaders).Get(HeaderLimit), wantTook, wantLimit)
			}
		})
	}
}

// TestGuardUsesTheAuthorizersCount: a decision the authorizer made for this
// very request at the caller's limit is answered as it is, with no count
// here; one made for another request (API Gateway's cached context), at
// another limit, or none, is counted here.
func TestGuardUsesTheAuthorizersCount(t *testing.T) {
	site := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t1", SiteID: "s", WorkspaceID: "w", Scope: "sites:read", RateLimit: 60}
	reset := guardNow.Truncate(ratelimit.Window).Add(ratelimit.Window)
	refused := ratelimit.Decision{Limit: 60, Reset: reset, RetryAfter: 40 * time.Second}
	allowed := ratelimit.Decision{Allowed: true, Limit: 60, Remaining: 7, Reset: reset}
	tests := []struct {
		name      string
		decision  *ratelimit.Decision
		madeFor   string
		status    int
		remaining string
		took      int
	}{
		{"allowed for this request", &allowed, "req-1", 200, "7", 0},
		{"refused for this request", &refused, "req-1", 429, "0", 0},
		{"made for another request", &refused, "req-0", 200, "59", 1},
		{"made at another limit", &ratelimit.Decision{Limit: 120, Remaining: 0, Reset: reset, RetryAfter: time.Second}, "req-1", 200, "59", 1},
		{"none", nil, "", 200, "59", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			took := 0
			g := countingGuard(&took, reset)
			ev := sitesEvent(site)
			ev.RequestContext.RequestID = "req-1"
			if tc.decision != nil {
				tc.decision.AddToContext(ev.RequestContext.Authorizer, tc.madeFor)
			}
			served := 0
			resp, err := guarded(g, &served)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header(resp.MultiValueHeaders)
			if resp.StatusCode != tc.status || h.Get(HeaderRemaining) != tc.remaining || took != tc.took {
				t.Errorf("got %d, %s %q, counted %d times; want %d, %q, %d", resp.StatusCode, HeaderRemaining, h.Get(HeaderRemaining), took, tc.status, tc.remaining, tc.took)
			}
			if tc.status == 429 && (h.Get(HeaderRetryAfter) != "40" || served != 0) {
				t.Errorf("429: Retry-After %q, served %d; want 40 and not served", h.Get(HeaderRetryAfter), served)
			}
		})
	}
}

// countingGuard is a guard whose limiter allows every request with 59 of 60
// remaining until reset, and counts in took how often it was asked.
func countingGuard(took *int, reset time.Time) *Guard {
	return &Guard{Limiter: &fakeLimiter{TakeFn: func(context.Context, string, int64, time.Time) (ratelimit.Decision, error) {
		*took++
		return ratelimit.Decision{Allowed: true, Limit: 60, Remaining: 59, Reset: reset}, nil
	}}, Uses: &fakeUses{}, Now: func() time.Time { return guardNow }, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
}
