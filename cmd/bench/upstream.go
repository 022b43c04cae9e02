package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/localdev"
)

// upstreamsHeading starts the report's section on upstream routes.
const upstreamsHeading = "\n## Upstream routes\n"

// writeUpstreamsOnly measures the upstream routes and replaces that section
// of the report out (or adds it before the console's), leaving the rest as
// it is.
func writeUpstreamsOnly(out string, samples int) error {
	ctx := context.Background()
	endpoint := benchEndpoint()
	table, secret, sec, drop, err := benchTable(ctx, endpoint)
	if err != nil {
		return err
	}
	defer drop()
	s, err := upstreamsSection(ctx, endpoint, table, secret, sec, samples)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	report := strings.Replace(string(old), section(string(old), upstreamsHeading), "", 1)
	console := consoleSection(report)
	report = strings.TrimRight(strings.Replace(report, console, "", 1), "\n") + "\n" + s + console
	return os.WriteFile(out, []byte(report), 0o644)
}

// upstreamsSection serves the local stack with the repository's upstreams
// routed to a loopback upstream that answers at once, and times, one at a
// time and interleaved: the upstream called straight, the same request
// through an upstream route, and GET /v2/sites (the built-in data route's
// own cost, site cache warm). It counts the DynamoDB operations of both
// routes, and times signing an assertion against taking one signed before
// for the same token (what reusing it per token would cost instead).
func upstreamsSection(ctx context.Context, endpoint, table, secret string, sec tokensmith.Secret, samples int) (string, error) {
	const path = "/v2/collections/bench/items"
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"items":[]}`)
	}))
	defer upstream.Close()
	srv, err := serveStackWith(ctx, endpoint, table, 4, map[string]string{localdev.EnvCMSURL: upstream.URL})
	if err != nil {
		return "", err
	}
	defer srv.close()
	direct := func() error {
		resp, err := srv.client.Get(upstream.URL + path)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s straight: %d", path, resp.StatusCode)
		}
		return nil
	}
	viaRoute := srv.get(path, secret)
	sites := srv.get("/v2/sites", secret)
	measured := []func() error{direct, viaRoute, sites}
	warm := min(300, samples)
	for range warm { // warm up: connections, the first usage writes, the site cache
		for _, f := range measured {
			if err := f(); err != nil {
				return "", err
			}
		}
	}
	times, err := interleave(samples, measured...)
	if err != nil {
		return "", err
	}
	p50 := func(i int) time.Duration { return percentile(times[i], 50) }
	p99 := func(i int) time.Duration { return percentile(times[i], 99) }
	overhead := p50(1) - p50(0)
	beyond := overhead - p50(2)

	// DynamoDB operations per request, steady state.
	const perRoute = 50
	opsOf := func(call func() error) (string, float64, error) {
		srv.ops.Reset()
		for range perRoute {
			if err := call(); err != nil {
				return "", 0, err
			}
		}
		counts := srv.ops.Reset()
		var names []string
		total := 0.0
		for op, n := range counts {
			names = append(names, fmt.Sprintf("%s %.2f", op, float64(n)/perRoute))
			total += float64(n) / perRoute
		}
		sort.Strings(names)
		return strings.Join(names, ", "), total, nil
	}
	routeOps, routeTotal, err := opsOf(viaRoute)
	if err != nil {
		return "", err
	}
	sitesOps, sitesTotal, err := opsOf(sites)
	if err != nil {
		return "", err
	}

	// Signing, against reusing an assertion signed before for the token:
	// the fastest of many short interleaved rounds, as other work on the
	// machine only adds time.
	key, err := assertion.GenerateKey()
	if err != nil {
		return "", err
	}
	signer := &assertion.Signer{Issuer: srv.url, Keys: []assertion.Key{key}, Now: time.Now}
	req := assertion.Request{Caller: sec.Caller(), Audience: "cms-backend", Method: "GET", Path: path}
	var mu sync.Mutex
	cache := map[string]string{}
	sign := func() {
		if _, err := signer.Sign(req); err != nil {
			panic(err)
		}
	}
	reuse := func() {
		mu.Lock()
		s, ok := cache[sec.TokenID]
		mu.Unlock()
		if !ok {
			s, _ = signer.Sign(req)
			mu.Lock()
			cache[sec.TokenID] = s
			mu.Unlock()
		}
	}
	const rounds, ops = 40, 500
	perOp := func(f func()) time.Duration {
		start := time.Now()
		for range ops {
			f()
		}
		return time.Since(start) / ops
	}
	signNs, reuseNs := time.Duration(1<<62), time.Duration(1<<62)
	for range rounds {
		signNs = min(signNs, perOp(sign))
		reuseNs = min(reuseNs, perOp(reuse))
	}
	saved := signNs - reuseNs

	var b strings.Builder
	fmt.Fprintf(&b, `%s
Written by `+"`make bench`"+`, or alone by `+"`go run ./cmd/bench -upstreams-only`"+` (with DynamoDB Local as for
`+"`make test`"+`), on this machine: %d cores, %s/%s, %s; %s; load average %s when written.
The local stack as `+"`make run`"+` serves it (authorizer cache off), the repository's upstreams.yaml with
its cms upstream at a loopback server that answers `+"`200 {\"items\":[]}`"+` at once. %d interleaved
samples of each request, one at a time, after %d warm-up rounds; every timed request must answer 200.

| measure | figure | target | verdict |
|---|---|---|---|
| GET %s straight to the upstream: p50 / p99 | %s / %s | | |
| The same through the upstream route (token, limit, scope, assertion, forwarding): p50 / p99 | %s / %s | | |
| GET /v2/sites, site cache warm (the built-in data route's own cost), same run: p50 / p99 | %s / %s | | |
| The upstream route's p50 overhead over the upstream straight | %s | | |
| That overhead beyond GET /v2/sites's own p50 | %s | <= 1ms | %s |
| DynamoDB operations per request (SDK middleware, mean of %d), upstream route | %s | as GET /v2/sites | %s |
| DynamoDB operations per request, GET /v2/sites, site cache warm | %s | | |
| Signing an assertion (ES256), fastest of %d interleaved rounds of %d | %s/op | | |
| Reusing one signed before for the token (a locked map lookup) instead | %s/op; saves %s of CPU a request | | |

Notes:

- The overhead beyond GET /v2/sites is what an upstream route costs over a built-in data route
  that does its own work in the function: both make the authorizer's read and the limiter's
  write; the upstream route adds matching the path, signing the assertion and a loopback HTTP
  exchange with the upstream.
- Each request gets its own assertion: `+"`htm`, `htu` and `jti`"+` bind it to one request, which is
  what stops an upstream from accepting it on another route or twice. Reusing one per token
  would save the signing CPU above and drop that binding, so the service signs per request.
`, upstreamsHeading, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), time.Now().UTC().Format("2006-01-02"), loadAverage(), samples, warm,
		path, p50(0), p99(0), p50(1), p99(1), p50(2), p99(2),
		overhead, beyond, verdict(beyond <= time.Millisecond),
		perRoute, routeOps, verdict(routeTotal <= sitesTotal), sitesOps,
		rounds, ops, signNs, reuseNs, saved)
	return b.String(), nil
}
