// Command tokenexpiry is the DynamoDB Streams consumer that writes an
// api_token/token_expired audit event when TTL removes an expired token.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/lambdafn"
)

func main() { lambdafn.Main(newHandler) }

// newHandler wires the function from its environment.
func newHandler(_ context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	st, err := lambdafn.Table(getenv)
	if err != nil {
		return nil, err
	}
	return lambdafn.TokenExpiry(st, time.Now, log), nil
}
