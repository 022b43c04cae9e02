package main

import (
	"context"
	"fmt"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/people"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/localdev/gateway"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
	"github.com/tokensmith/tokensmith/internal/sites"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/usage"
)

// partitionWCU is what one DynamoDB partition takes: 1,000 write units a
// second, whatever the table's capacity mode.
const partitionWCU = 1000

// unlimited is a limiter that counts nothing: the stack without rate
// limits, for comparison.
type unlimited struct{}

func (unlimited) Take(_ context.Context, _ string, limit int64, now time.Time) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: true, Limit: limit, Remaining: limit, Reset: now.Truncate(ratelimit.Window).Add(ratelimit.Window)}, nil
}

// rateLimitRows serves two local gateways on the same table, with the same
// authorizer and functions, one counting requests against the token's
// limit as deployed (the authorizer counts beside its read) and one not, and times GET /v2/sites through each one
// request at a time, interleaved; then counts the DynamoDB operations of
// each. It returns the rows and the median the count adds.
func rateLimitRows(db *mock.CountingDB, st *store.Store, secret string, samples int) ([]row, time.Duration, error) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tmpl, err := samtemplate.Load()
	if err != nil {
		return nil, 0, err
	}
	serve := func(limiter *ratelimit.Limiter, g func() *httpapi.Guard) (*stack, error) {
		siteSvc, err := sites.New(st, time.Now, sites.CacheSize)
		if err != nil {
			return nil, err
		}
		authz := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: st, Now: time.Now, Log: log, Limiter: limiter}
		gw, err := gateway.New(tmpl, authz.Handle, withUnmeasured(st, log, map[string]gateway.Proxy{
			route.Tokens:    httpapi.Tokens(apitokens.New(st, people.New(st), []byte(defaults.IdempotencySecret)), g(), log).Proxy(),
			route.Sites:     httpapi.Sites(siteSvc, g(), log).Proxy(),
			route.AuditLogs: httpapi.AuditLogs(audit.New(st), g(), log).Proxy(),
		}), 0, log)
		if err != nil {
			return nil, err
		}
		srv := httptest.NewServer(gw)
		return &stack{url: srv.URL, client: srv.Client(), close: srv.Close}, nil
	}
	limited, err := serve(&ratelimit.Limiter{Counter: st}, func() *httpapi.Guard { return httpapi.NewGuard(st, time.Now, log) })
	if err != nil {
		return nil, 0, err
	}
	defer limited.close()
	open, err := serve(nil, func() *httpapi.Guard {
		return &httpapi.Guard{Limiter: unlimited{}, Uses: &usage.Recorder{Store: st, Log: log}, Now: time.Now, Log: log}
	})
	if err != nil {
		return nil, 0, err
	}
	defer open.close()
	with, without := limited.get("/v2/sites", secret), open.get("/v2/sites", secret)
	for i := 0; i < 300; i++ { // warm up: connections, site caches, the first usage writes
		if err := with(); err != nil {
			return nil, 0, err
		}
		if err := without(); err != nil {
			return nil, 0, err
		}
	}
	times, err := interleave(samples, with, without)
	if err != nil {
		return nil, 0, err
	}
	p50w, p50o := percentile(times[0], 50), percentile(times[1], 50)
	ratio := float64(p50w) / float64(p50o)
	ops := func(f func() error) (reads, writes float64, err error) {
		const n = 500
		db.Reset()
		for i := 0; i < n; i++ {
			if err := f(); err != nil {
				return 0, 0, err
			}
		}
		return float64(db.Reads.Load()) / n, float64(db.Writes.Load()) / n, nil
	}
	rw, ww, err := ops(with)
	if err != nil {
		return nil, 0, err
	}
	ro, wo, err := ops(without)
	if err != nil {
		return nil, 0, err
	}
	perMinute := partitionWCU * int64(time.Minute/time.Second)
	return []row{
		{what: "End to end GET /v2/sites, one at a time, with the rate limit / without it, same run: p50 (p99)",
			figure: fmt.Sprintf("%s (%s) / %s (%s)", p50w, percentile(times[0], 99), p50o, percentile(times[1], 99))},
		{what: "Median ratio, with the rate limit / without", figure: fmt.Sprintf("%.3f", ratio), target: "<= 1.3", verdict: verdict(ratio <= 1.3)},
		{what: "DynamoDB operations per authorized GET /v2/sites with the rate limit (500 in a row, after warm-up)",
			figure: fmt.Sprintf("%.3f reads, %.3f writes (without it: %.3f reads, %.3f writes)", rw, ww, ro, wo),
			target: "at most 1 write, no extra read", verdict: verdict(ww <= 1.001+wo && rw <= ro+0.001)},
		{what: "Highest sustainable request rate of one token before its counter's partition throttles (a counter item is under 1 KB: 1 WCU per counted request)",
			figure: fmt.Sprintf("%d requests/s (%d a minute; tokensmith caps an enterprise limit at %d)", partitionWCU, perMinute, tokensmith.MaxRateLimit)},
	}, p50w - p50o, nil
}
