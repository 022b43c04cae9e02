// Command sites is the sites Lambda: API tokens read the sites they are granted.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/sites"
	"github.com/tokensmith/tokensmith/internal/store"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, time.Now, log, os.Stdout)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function (its metrics records go to stdout): its
// configuration from getenv, the DynamoDB client, the store, the sites
// service with its cache of site records on the clock now, and its HTTP
// handler, whose guard counts requests on the same clock, as a Lambda proxy
// handler.
func newHandler(_ context.Context, getenv func(string) string, now func() time.Time, log *slog.Logger, stdout io.Writer) (httpapi.Proxy, error) {
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	svc, err := sites.New(st, now, sites.CacheSize)
	if err != nil {
		return nil, err
	}
	return metrics.Invocations(metrics.FunctionSites, stdout, now, httpapi.Sites(svc, httpapi.NewGuard(st, now, log), log).Proxy()), nil
}
