package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/localdev"
)

// drive runs do from conc workers for d and returns the latencies.
func drive(conc int, d time.Duration, do func() error) ([]time.Duration, error) {
	var mu sync.Mutex
	var all []time.Duration
	var failed atomic.Value
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) {
				start := time.Now()
				if err := do(); err != nil {
					failed.Store(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return nil, err
	}
	return all, nil
}

// stack is the whole local stack served on loopback, as `make run` serves
// it with the authorizer cache off, its DynamoDB calls counted by ops.
type stack struct {
	*localdev.Stack
	url    string
	client *http.Client
	ops    *dynamotest.Ops
	close  func()
}

// serveStack starts a stack on table, for up to conns clients at once,
// with the authorizer cache off, its DynamoDB operations counted.
func serveStack(ctx context.Context, endpoint, table string, conns int) (*stack, error) {
	return serveStackWith(ctx, endpoint, table, conns, nil)
}

// serveStackWith is serveStack with env as the environment of its upstream
// declaration (localdev.Config.Getenv).
func serveStackWith(ctx context.Context, endpoint, table string, conns int, env map[string]string) (*stack, error) {
	ops := &dynamotest.Ops{}
	s, err := serveWith(ctx, endpoint, table, conns, 0, ops.Option, env)
	if err != nil {
		return nil, err
	}
	s.ops = ops
	return s, nil
}

// serveWith starts a stack on table, for up to conns clients at once, with
// the authorizer cache at ttl (0: off), the client option opt and env as the
// environment of its upstream declaration (localdev.Config.Getenv).
func serveWith(ctx context.Context, endpoint, table string, conns int, ttl time.Duration, opt func(*dynamodb.Options), env map[string]string) (*stack, error) {
	dir, err := os.MkdirTemp("", "tokensmith-bench-")
	if err != nil {
		return nil, err
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	closeAll := func() {
		srv.Close()
		os.RemoveAll(dir)
	}
	st, err := localdev.Start(ctx, localdev.Config{
		Endpoint: endpoint, Table: table, Dir: dir, BaseURL: srv.URL, CacheTTL: ttl,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), ClientOptions: []func(*dynamodb.Options){opt},
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	h = st.Handler
	return &stack{Stack: st, url: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}, close: func() {
		st.Close()
		closeAll()
	}}, nil
}

// get returns a call of GET path with secret that must answer 200.
func (s *stack) get(path, secret string) func() error {
	return s.status(path, secret, http.StatusOK)
}

// status returns a call of GET path with secret that must answer want: a
// timed answer is never one the run did not mean to time (a 429 of a
// token over its limit).
func (s *stack) status(path, secret string, want int) func() error {
	return func() error {
		req, _ := http.NewRequest("GET", s.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := s.client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("GET %s: %d; want %d", path, resp.StatusCode, want)
		}
		return nil
	}
}

// e2eLoad serves the whole local stack on loopback and drives GET /v2/sites
// with a valid site token at concurrency conc for d, then the same load of
// bare GetItems of the token's item, and reports both side by side.
func e2eLoad(ctx context.Context, endpoint, table, secret string, bare func() error, conc int, d time.Duration) ([]row, error) {
	srv, err := serveStack(ctx, endpoint, table, conc)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	ops := srv.ops
	call := srv.get("/v2/sites", secret)
	for i := 0; i < 200; i++ { // warm up: connections, the first usage write
		if err := call(); err != nil {
			return nil, err
		}
	}
	ops.Reset()
	gw, err := drive(conc, d, call)
	if err != nil {
		return nil, err
	}
	counts := ops.Reset()
	floor, err := drive(conc, d, bare)
	if err != nil {
		return nil, err
	}
	rps := float64(len(gw)) / d.Seconds()
	floorRPS := float64(len(floor)) / d.Seconds()
	reads := float64(counts["GetItem"]) / float64(len(gw))
	counted := float64(counts["UpdateItem"]) / float64(len(gw))
	var others []string
	for op, n := range counts {
		if op != "GetItem" && op != "UpdateItem" {
			others = append(others, op+" "+strconv.FormatInt(n, 10))
		}
	}
	if len(others) == 0 {
		others = []string{"none"}
	}
	rss, _ := vmHWM("self")
	return []row{
		{what: fmt.Sprintf("End to end, GET /v2/sites through the local gateway (authorizer, sites function), concurrency %d for %s: requests/s, p50, p99", conc, d),
			figure: fmt.Sprintf("%.0f/s, %s, %s", rps, percentile(gw, 50), percentile(gw, 99))},
		{what: fmt.Sprintf("Same load of bare GetItems, same run: requests/s, p50, p99"),
			figure: fmt.Sprintf("%.0f/s, %s, %s", floorRPS, percentile(floor, 50), percentile(floor, 99))},
		{what: "End to end / bare GetItem: throughput ratio, p50 ratio", figure: fmt.Sprintf("%.2f, %.2f", rps/floorRPS, float64(percentile(gw, 50))/float64(percentile(floor, 50)))},
		{what: "DynamoDB operations per authorized GET /v2/sites under that load (SDK middleware)",
			figure: fmt.Sprintf("%.4f GetItem (the authorizer's; the sites function answers from its cache), %.4f UpdateItem (the rate-limit counter); other operations in %s: %s", reads, counted, d, strings.Join(others, ", ")),
			target: "1 read, 1 counter write; usage writes at most 1 per token per minute per function instance", verdict: verdict(reads <= 1.001 && counted <= 1.001 && counts["TransactWriteItems"] <= int64(d/time.Minute)+1)},
		{what: "Peak RSS of the bench process serving that load (gateway, authorizer, functions, client)", figure: fmt.Sprintf("%.1f MiB", float64(rss)/(1<<20))},
	}, nil
}
