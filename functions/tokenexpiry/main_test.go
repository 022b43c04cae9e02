package main

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/lambdafn"
	"github.com/tokensmith/tokensmith/internal/store"
)

// TestEvents feeds events/tokenexpiry-*.json to the handler main builds.
// Both answer with no failures, so the golden answers alone cannot tell
// them apart: the TTL removal must also have written its token_expired
// event, and the user's delete none.
func TestEvents(t *testing.T) {
	getenv := eventstest.Run[events.DynamoDBEvent, events.DynamoDBEventResponse](t, "tokenexpiry", newHandler)
	st, err := lambdafn.Table(getenv)
	if err != nil {
		t.Fatal(err)
	}
	page, err := st.AuditEvents(context.Background(), eventstest.WorkspaceID, store.AuditQuery{EventType: audit.TypeAPIToken, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	expired := 0
	for _, e := range page.Events {
		if e.SubType == "token_expired" {
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
