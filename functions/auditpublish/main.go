// Command auditpublish is the DynamoDB Streams consumer that publishes
// every audit event to the stack's EventBridge bus (internal/eventbus).
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/eventbus"
	"github.com/tokensmith/tokensmith/internal/metrics"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, time.Now, log, os.Stdout)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function (its metrics records go to stdout): the
// bus from getenv, through the EventBridge client, and the stream handler.
func newHandler(_ context.Context, getenv func(string) string, now func() time.Time, log *slog.Logger, stdout io.Writer) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	bus, err := eventbus.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	h := &eventbus.Handler{Publisher: bus, Log: log}
	return metrics.Invocations(metrics.FunctionAuditPublish, stdout, now, h.Handle), nil
}
