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

// wiring is newHandler on the fixture's clock. Its metrics records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (httpapi.Proxy, error) {
	return newHandler(ctx, getenv, eventstest.Now, log, stdout)
}

// TestEvents feeds events/auditlogs-*.json to the handler main builds, holds its
// metrics records to the catalogue, and
// the DynamoDB actions they call to the function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "AuditLogsFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionAuditLogs, metrics.DynamoDBCalls)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "AuditLogsFunction", wiring)
}
