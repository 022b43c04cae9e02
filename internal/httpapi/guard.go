package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/usage"
)

// Rate-limit response headers, as Webflow sends them.
const (
	HeaderLimit      = "X-RateLimit-Limit"
	HeaderRemaining  = "X-RateLimit-Remaining"
	HeaderReset      = "X-RateLimit-Reset"
	HeaderRetryAfter = "Retry-After"
)

// msgTooManyRequests is the message of a request over its token's limit.
const msgTooManyRequests = "Too Many Requests"

// Limiter counts a request against its token's rate limit.
type Limiter interface {
	Take(ctx context.Context, tokenID string, limit int64, now time.Time) (ratelimit.Decision, error)
}

// Uses notes a successful use of a token's secret that exercised a scope
// ("" for none); it reports whether it wrote the use at now.
type Uses interface {
	Record(ctx context.Context, sec tokensmith.Secret, sc string, now time.Time) bool
}

// Guard is what every API token route goes through, in the function that
// serves it, before its handler: the request is counted against the token's
// rate limit (every request of a valid token, whatever it is answered),
// then refused when over it (429) or when the token's workspace plan or
// scopes do not allow the route (403), and only then noted as a use of the
// token. The authorizer allows every valid token so that these decisions
// are made here, whether or not API Gateway cached its decision. Where the
// authorizer counted this very request, its decision is used as it is;
// otherwise (a decision API Gateway cached for an earlier request, or none)
// the request is counted here.
type Guard struct {
	Limiter Limiter
	Uses    Uses
	Now     func() time.Time
	Log     *slog.Logger
}

// NewGuard returns the guard of one running function on the store st: the
// counter is shared through the table, and the usage not yet written is the
// instance's own.
func NewGuard(st *store.Store, now func() time.Time, log *slog.Logger) *Guard {
	return &Guard{Limiter: &ratelimit.Limiter{Counter: st}, Uses: &usage.Recorder{Store: st, Log: log}, Now: now, Log: log}
}

type principalKey struct{}

// wrap guards h, the handler of route rt, which takes API tokens. A route
// that takes user tokens too passes a person's call through unguarded: the
// limits are API tokens'.
func (g *Guard) wrap(rt route.Route, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := caller(r)
		if err == nil && p.Kind == tokensmith.CallerPerson && rt.Auth.TakesUserToken() {
			h(w, r)
			return
		}
		if err != nil || (p.Kind != tokensmith.CallerSite && p.Kind != tokensmith.CallerWorkspace) {
			writeError(w, r, g.Log, tokensmith.Unauthorized())
			return
		}
		now := g.Now()
		d, ok := countedForThisRequest(r, p)
		if !ok {
			d, err = g.Limiter.Take(r.Context(), p.TokenID, p.RateLimit, now)
		}
		if err != nil {
			// Fail closed: a count that cannot be made is a 500, never a pass.
			writeError(w, r, g.Log, err)
			return
		}
		rec := metrics.FromContext(r.Context())
		rec.Set("tokenId", p.TokenID)
		rec.Set("rateLimitRemaining", d.Remaining)
		hdr := w.Header()
		hdr.Set(HeaderLimit, strconv.FormatInt(d.Limit, 10))
		hdr.Set(HeaderRemaining, strconv.FormatInt(d.Remaining, 10))
		hdr.Set(HeaderReset, strconv.FormatInt(d.Reset.Unix(), 10))
		if !d.Allowed {
			hdr.Set(HeaderRetryAfter, strconv.FormatInt(int64(d.RetryAfter/time.Second), 10))
			rec.Add(metrics.RateLimited, 1, planTier(p))
			writeError(w, r, g.Log, tokensmith.Errorf(tokensmith.ETOOMANYREQUESTS, msgTooManyRequests))
			return
		}
		if err := allows(p, rt); err != nil {
			rec.Add(metrics.Decisions, 1, metrics.OutcomeDeniedScope)
			writeError(w, r, g.Log, err)
			return
		}
		if g.Uses.Record(r.Context(), p.Secret(), rt.Scope, now) {
			// Introspection shows this use, as the decision did not.
			p.LastUsed, p.ExpiresOn = &now, tokensmith.EarlierEnd(now.Add(token.Inactivity), p.ExpiresAt)
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// countedForThisRequest returns the authorizer's decision of r's count, if
// the authorizer made it for r itself (not for an earlier request whose
// decision API Gateway cached) at the limit of the caller p.
func countedForThisRequest(r *http.Request, p tokensmith.Caller) (ratelimit.Decision, bool) {
	gw, ok := core.GetAPIGatewayContextFromContext(r.Context())
	if !ok {
		return ratelimit.Decision{}, false
	}
	d, ok := ratelimit.FromContext(gw.Authorizer, gw.RequestID)
	return d, ok && d.Limit == p.RateLimit
}

// planTier is the metrics plan of token p: its rate-limit tier, as the
// limit its secret carries says (metrics.Plan).
func planTier(p tokensmith.Caller) string {
	switch {
	case p.Kind == tokensmith.CallerWorkspace:
		return metrics.PlanWorkspace
	case p.RateLimit == tokensmith.SitePlanBasic.RateLimit(0):
		return metrics.PlanBasic
	case p.RateLimit == tokensmith.SitePlanCMS.RateLimit(0):
		return metrics.PlanCMS
	}
	return metrics.PlanEnterprise
}

// allows refuses what token p may not do on route rt: everything, for a
// workspace token of a workspace not on the enterprise plan; and a route
// whose scope p lacks, naming the missing scopes.
func allows(p tokensmith.Caller, rt route.Route) error {
	if p.Kind == tokensmith.CallerWorkspace && tokensmith.Plan(p.Plan) != tokensmith.PlanEnterprise {
		return tokensmith.Errorf(tokensmith.ENOTENTERPRISE, "Workspace tokens are only available on enterprise workspaces")
	}
	if rt.Scope != "" {
		if missing := scope.Missing(scope.Split(p.Scope), rt.Scope); len(missing) > 0 {
			return tokensmith.Errorf(tokensmith.EMISSINGSCOPES, "You are missing the following scopes - %s", strings.Join(missing, ", "))
		}
	}
	return nil
}

// apiTokenCaller returns the API token principal of a request the guard
// let through; any other request has none.
func apiTokenCaller(r *http.Request) (tokensmith.Caller, error) {
	p, ok := r.Context().Value(principalKey{}).(tokensmith.Caller)
	if !ok {
		return tokensmith.Caller{}, tokensmith.Unauthorized()
	}
	return p, nil
}
