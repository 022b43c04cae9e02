package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/gateway"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/people"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
	"github.com/tokensmith/tokensmith/internal/sites"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/usage"
)

// gatewayOverhead measures what the local gateway adds to a request over
// calling the same handlers directly with the events it would build: the
// authorizer on a store in memory and the tokens function's introspection,
// which reads nothing, so that only CPU is timed. The two are interleaved,
// samples times each, and compared at the median.
func gatewayOverhead(st *store.Store, secret string, sec tokensmith.Secret, samples int) (row, error) {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tmpl, err := samtemplate.Load()
	if err != nil {
		return row{}, err
	}
	authz := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(sec), Now: time.Now, Log: log}
	siteSvc, err := sites.New(st, time.Now, sites.CacheSize)
	if err != nil {
		return row{}, err
	}
	// The guard counts nothing here and notes uses in memory, so that only
	// CPU is timed, as with the authorizer.
	guard := func() *httpapi.Guard {
		return &httpapi.Guard{Limiter: unlimited{}, Uses: &usage.Recorder{Store: mock.OneSecret(sec), Log: log}, Now: time.Now, Log: log}
	}
	tokens := httpapi.Tokens(apitokens.New(st, people.New(st), []byte(defaults.IdempotencySecret)), guard(), log).Proxy()
	gw, err := gateway.New(tmpl, authz.Handle, withUnmeasured(st, log, map[string]gateway.Proxy{
		route.Tokens:    tokens,
		route.Sites:     httpapi.Sites(siteSvc, guard(), log).Proxy(),
		route.AuditLogs: httpapi.AuditLogs(audit.New(st), guard(), log).Proxy(),
	}), 0, log)
	if err != nil {
		return row{}, err
	}
	const path = "/v2/token/introspect"
	viaGateway := func() error {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			return fmt.Errorf("gateway: GET %s = %d %s", path, w.Code, w.Body)
		}
		return nil
	}
	// The events the gateway builds for the same request, built once.
	headers := map[string]string{"Authorization": "Bearer " + secret}
	multi := map[string][]string{"Authorization": {"Bearer " + secret}}
	authReq := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:local/prod/GET" + path,
		Resource: path, Path: path, HTTPMethod: "GET", Headers: headers, MultiValueHeaders: multi,
	}
	proxyReq := events.APIGatewayProxyRequest{Resource: path, Path: path, HTTPMethod: "GET", Headers: headers, MultiValueHeaders: multi}
	direct := func() error {
		dec, err := authz.Handle(ctx, authReq)
		if err != nil {
			return err
		}
		ev := proxyReq
		ev.RequestContext.Authorizer = dec.Context
		resp, err := tokens(ctx, ev)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = errors.New("direct introspect: " + resp.Body)
		}
		return err
	}
	for i := 0; i < 1000; i++ {
		if err := viaGateway(); err != nil {
			return row{}, err
		}
		if err := direct(); err != nil {
			return row{}, err
		}
	}
	times, err := interleave(samples, viaGateway, direct)
	if err != nil {
		return row{}, err
	}
	p50g, p50d := percentile(times[0], 50), percentile(times[1], 50)
	over := p50g - p50d
	return row{
		what: "Local gateway's own overhead per request (GET /v2/token/introspect, store in memory): gateway p50 - direct handler calls p50",
		figure: fmt.Sprintf("%s (%s through the gateway, %s calling the authorizer and the function with prebuilt events)",
			over, p50g, p50d),
		target: "< 0.2 ms p50", verdict: verdict(over < 200*time.Microsecond),
	}, nil
}

// interleave times each of fs samples times, one after another, starting
// warmThenInterleave calls each of fs 300 times, in turn, then times them
// as interleave does.
func warmThenInterleave(samples int, fs ...func() error) ([][]time.Duration, error) {
	for range 300 {
		for _, f := range fs {
			if err := f(); err != nil {
				return nil, err
			}
		}
	}
	return interleave(samples, fs...)
}

// each round with the next of them, so that none always follows another.
func interleave(samples int, fs ...func() error) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(fs))
	for i := 0; i < samples; i++ {
		for j := range fs {
			k := (i + j) % len(fs)
			start := time.Now()
			if err := fs[k](); err != nil {
				return nil, err
			}
			out[k] = append(out[k], time.Since(start))
		}
	}
	return out, nil
}

// withUnmeasured adds to m the functions the benchmark does not time (the
// people API, the console and the secret scanning endpoint), which the
// local gateway needs all the same.
func withUnmeasured(st *store.Store, log *slog.Logger, m map[string]gateway.Proxy) map[string]gateway.Proxy {
	m[route.People] = httpapi.People(people.New(st), log).Proxy()
	m[route.Console] = httpapi.Adapt(http.NotFoundHandler())
	m[route.SecretScanning] = httpapi.Adapt(http.NotFoundHandler())
	return m
}
