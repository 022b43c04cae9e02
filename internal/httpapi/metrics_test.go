package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
)

// TestGuardMetrics: a request over its token's limit counts a 429 under the
// token's plan tier, a request the scope or plan check refuses counts a
// denied_scope decision, and a request let through counts neither; the
// token id and what is left of its limit are fields of the record, never
// dimensions.
func TestGuardMetrics(t *testing.T) {
	site := func(limit int64, scope string) tokensmith.Caller {
		return tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "65f0c0ffee00000000000010", SiteID: "s", WorkspaceID: "w", Scope: scope, RateLimit: limit}
	}
	ws := tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "65f0c0ffee00000000000011", WorkspaceID: "w", Scope: "sites:read", Plan: "enterprise", RateLimit: 120}
	reset := guardNow.Truncate(ratelimit.Window).Add(ratelimit.Window)
	over := ratelimit.Decision{Reset: reset, RetryAfter: time.Second}
	within := ratelimit.Decision{Allowed: true, Remaining: 7, Reset: reset}
	tests := []struct {
		name     string
		p        tokensmith.Caller
		decision ratelimit.Decision
		want     map[string]string // metric name: its second dimension's value
	}{
		{"basic over", site(60, "sites:read"), over, map[string]string{"RateLimited": metrics.PlanBasic}},
		{"cms over", site(120, "sites:read"), over, map[string]string{"RateLimited": metrics.PlanCMS}},
		{"enterprise over", site(1200, "sites:read"), over, map[string]string{"RateLimited": metrics.PlanEnterprise}},
		{"workspace over", ws, over, map[string]string{"RateLimited": metrics.PlanWorkspace}},
		{"missing scope", site(120, "cms:read"), within, map[string]string{"Decisions": metrics.OutcomeDeniedScope}},
		{"let through", site(120, "sites:read"), within, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Guard{
				Limiter: &fakeLimiter{TakeFn: func(context.Context, string, int64, time.Time) (ratelimit.Decision, error) {
					d := tc.decision
					d.Limit = tc.p.RateLimit
					return d, nil
				}},
				Uses: &fakeUses{}, Now: func() time.Time { return guardNow }, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			}
			served := 0
			rec := metrics.New(metrics.FunctionSites)
			if _, err := guarded(g, &served)(metrics.NewContext(context.Background(), rec), sitesEvent(tc.p)); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			lines := rec.Lines(guardNow)
			for _, line := range lines {
				data, err := metrics.Parse(line)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range data {
					for _, dim := range d.Metric.Dimensions[1:] {
						got[d.Metric.Name] = d.Dimensions[dim.Name]
					}
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("metrics = %v; want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q; want %q", k, got[k], v)
				}
			}
			for _, line := range lines {
				var fields map[string]any
				if err := json.Unmarshal(line, &fields); err != nil || fields["tokenId"] != tc.p.TokenID || fields["rateLimitRemaining"] == nil {
					t.Errorf("record %s; want the token id and rateLimitRemaining as fields", line)
				}
			}
		})
	}
}
