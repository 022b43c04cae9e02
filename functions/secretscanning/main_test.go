package main

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock and randomness. Its metrics
// records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (httpapi.Proxy, error) {
	return newHandler(ctx, getenv, eventstest.Now, eventstest.Rand(), log, stdout)
}

// TestEvents feeds events/secretscanning-*.json (reports signed with the
// fixture's GitHub key, served at GITHUB_KEYS_URL) to the handler main
// builds, holds the DynamoDB actions they call to the function's IAM
// policy, and its metrics records to the catalogue: the report revokes a
// live token, counted as revoked by secret scanning.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "SecretScanningFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionSecretScanning, metrics.Decisions, metrics.DynamoDBCalls, metrics.TokensRevoked)
	var revoked []map[string]string
	for _, d := range stdout.Data() {
		if d.Metric.Name == metrics.TokensRevoked.Name {
			revoked = append(revoked, d.Dimensions)
		}
	}
	if len(revoked) == 0 || slices.ContainsFunc(revoked, func(dims map[string]string) bool {
		return dims[metrics.ActorType.Name] != metrics.ActorSecretScanning
	}) {
		t.Errorf("%s recorded with %v; want actorType %s", metrics.TokensRevoked.Name, revoked, metrics.ActorSecretScanning)
	}
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "SecretScanningFunction", wiring)
}
