package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/metrics"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock. Its metrics records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	return newHandler(ctx, getenv, eventstest.Now, log, stdout)
}

// TestEvents feeds events/auditpublish-*.json to the handler main builds:
// the audit event's record must have reached the fixture's bus as one
// entry, the token record's none. The actions it called are held to the
// function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "AuditPublishFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionAuditPublish, metrics.EventsPublished, metrics.StreamBatchFailures)
	entries := fx.Bus.Entries()
	if len(entries) != 1 {
		t.Fatalf("%d entries on the bus; want 1, from events/auditpublish-token-created.json", len(entries))
	}
	e := entries[0]
	var detail struct {
		ID           string `json:"id"`
		EventSubType string `json:"eventSubType"`
		Workspace    struct{ Slug string }
	}
	if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil {
		t.Fatal(err)
	}
	if e.Source != "tokensmith" || e.DetailType != "API Token Created" || e.EventBusName != fx.Getenv("EVENT_BUS_NAME") ||
		!time.Unix(int64(e.Time), 0).Equal(time.Date(2026, 11, 22, 11, 58, 0, 0, time.UTC)) ||
		detail.ID != "65f0c0ffee000000000000e1" || detail.EventSubType != "token_created" || detail.Workspace.Slug != "hitchhikers" {
		t.Errorf("entry = %+v", e)
	}
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "AuditPublishFunction", wiring)
}
