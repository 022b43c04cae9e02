package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/serversecret"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock, randomness and Secrets Its metrics records go to stdout.
// Manager.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (httpapi.Proxy, error) {
	return newHandler(getenv, eventstest.Secrets(ctx), eventstest.Now, eventstest.Rand(), log, stdout)
}

// TestEvents feeds events/tokens-*.json to the handler main builds, holds its
// metrics records to the catalogue, and
// the DynamoDB and Secrets Manager actions they call to the
// function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "TokensFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionTokens, metrics.TokensMinted, metrics.TokensRegenerated, metrics.TokensRevoked, metrics.DynamoDBCalls)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "TokensFunction", wiring)
}

// TestFailsClosedWithoutSecret: the function does not start when the
// idempotency secret is unset or a local value is short. (One that cannot
// be read is read at the first create that needs it: serversecret's and
// apitokens' tests.)
func TestFailsClosedWithoutSecret(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset", map[string]string{}, "IDEMPOTENCY_SECRET"},
		{"short", map[string]string{serversecret.EnvValue: "dev"}, "too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"TABLE_NAME": "t", "DYNAMODB_ENDPOINT": "http://127.0.0.1:1"}
			for k, v := range tc.env {
				env[k] = v
			}
			getenv := func(k string) string { return env[k] }
			_, err := newHandler(getenv, eventstest.Secrets(context.Background()), eventstest.Now, eventstest.Rand(), log, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("newHandler = %v; want an error naming %q", err, tc.want)
			}
		})
	}
}
