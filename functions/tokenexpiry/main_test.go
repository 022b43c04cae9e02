package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/metrics"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock. Its metrics records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	return newHandler(ctx, getenv, eventstest.Now, log, stdout)
}

// TestEvents feeds events/tokenexpiry-*.json to the handler main builds.
// Both answer with no failures, so the golden answers alone cannot tell
// them apart: the TTL removal must also have written its token_expired
// event, and the user's delete none. The DynamoDB actions they call are
// held to the function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "TokenExpiryFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionTokenExpiry, metrics.TokensExpired, metrics.StreamBatchFailures, metrics.DynamoDBCalls)
	page, err := fx.Store.AuditEvents(context.Background(), eventstest.WorkspaceID, tokensmith.AuditQuery{EventType: audit.TypeAPIToken, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, e := range page.Events {
		if e.SubType == audit.SubTokenExpired {
			expired++
			if tok, _ := e.Payload["token"].(map[string]any); tok["id"] != "65f0c0ffee00000000000012" || e.Actor.Type != tokensmith.ActorSystem {
				t.Errorf("token_expired event = %+v", e)
			}
		}
	}
	if expired != 1 {
		t.Errorf("%d token_expired events; want 1, from events/tokenexpiry-ttl-removal.json", expired)
	}
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "TokenExpiryFunction", wiring)
}
