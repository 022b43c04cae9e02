package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/httpapi"
)

// wiring is newHandler on the fixture's clock and randomness.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (httpapi.Proxy, error) {
	return newHandler(ctx, getenv, eventstest.Now, eventstest.Rand(), log)
}

// TestEvents feeds events/tokens-*.json to the handler main builds, and
// holds the DynamoDB actions they call to the function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "TokensFunction", wiring)
	eventstest.CheckPolicy(t, fx)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "TokensFunction", wiring)
}
