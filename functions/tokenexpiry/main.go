// Command tokenexpiry is the DynamoDB Streams consumer that writes an
// api_token/token_expired audit event when TTL removes an expired token.
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

	"github.com/tokensmith/tokensmith/internal/expiry"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/store"
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

// newHandler wires the function (its metrics records go to stdout): its
// configuration from getenv, the DynamoDB client, the store, and the stream
// handler on the clock now.
func newHandler(_ context.Context, getenv func(string) string, now func() time.Time, log *slog.Logger, stdout io.Writer) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	h := expiry.New(st, log)
	h.Now = now
	return metrics.Invocations(metrics.FunctionTokenExpiry, stdout, now, h.Handle), nil
}
