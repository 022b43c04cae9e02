package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/eventstest"
)

// wiring is newHandler on the fixture's clock.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error), error) {
	return newHandler(ctx, getenv, eventstest.Now, log)
}

// TestEvents feeds events/authorizer-*.json to the handler main builds,.
func TestEvents(t *testing.T) {
	eventstest.Run(t, "AuthorizerFunction", wiring)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "AuthorizerFunction", wiring)
}
