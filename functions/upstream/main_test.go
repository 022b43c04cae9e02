package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock, keeping its keys in the
// fixture's Secrets Manager. Its metrics records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (httpapi.Proxy, error) {
	return newHandler(ctx, getenv, eventstest.AssertionSecrets(ctx), eventstest.Now, log, stdout)
}

// TestEvents feeds events/upstream-*.json to the handler main builds
// (against a local stand-in of the cms upstream), holds its metrics records
// to the catalogue, and the DynamoDB and Secrets Manager actions they call
// (the first key written at the first cold start) to the function's IAM
// policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "UpstreamFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionUpstream, metrics.DynamoDBCalls)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "UpstreamFunction", wiring)
}
