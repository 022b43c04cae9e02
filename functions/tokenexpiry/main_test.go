package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/eventstest"
)

func TestEvents(t *testing.T) {
	getenv := eventstest.Env(t)
	h, err := newHandler(context.Background(), getenv, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Check(t, "tokenexpiry", func(ctx context.Context, raw []byte) (any, error) {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		return h(ctx, ev)
	})
}

func TestNewHandlerFailsFast(t *testing.T) {
	_, err := newHandler(context.Background(), func(string) string { return "" }, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Errorf("newHandler with no environment = %v; want an error naming TABLE_NAME", err)
	}
}
