package ddbclient

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tokensmith/tokensmith/internal/metrics"
)

// throttles tells an attempt refused for throughput as the SDK's retryer
// does, by the same list of error codes.
var throttles = retry.ThrottleErrorCode{Codes: retry.DefaultThrottleErrorCodes}

type attemptsKey struct{}

// Measured adds to a client's options the middleware that counts, in the
// metrics record of the invocation whose context a call is made with
// (metrics.FromContext), each call, each attempt after a call's first, and
// each attempt refused for throughput. A call without a record counts
// nothing.
func Measured(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		if err := s.Initialize.Add(middleware.InitializeMiddlewareFunc("tokensmithMetricsCall",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				r := metrics.FromContext(ctx)
				if r == nil {
					return next.HandleInitialize(ctx, in)
				}
				r.Add(metrics.DynamoDBCalls, 1)
				return next.HandleInitialize(context.WithValue(ctx, attemptsKey{}, new(int)), in)
			}), middleware.Before); err != nil {
			return err
		}
		// After the retry middleware, this runs once per attempt.
		return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("tokensmithMetricsAttempt",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				attempts, ok := ctx.Value(attemptsKey{}).(*int)
				if !ok {
					return next.HandleFinalize(ctx, in)
				}
				r := metrics.FromContext(ctx)
				if *attempts++; *attempts > 1 {
					r.Add(metrics.DynamoDBRetries, 1)
				}
				out, md, err := next.HandleFinalize(ctx, in)
				if throttled(err) {
					r.Add(metrics.DynamoDBThrottles, 1)
				}
				return out, md, err
			}), "Retry", middleware.After)
	})
}

// throttled reports whether err is DynamoDB refusing an attempt for
// throughput, a transaction cancelled for it included.
func throttled(err error) bool {
	if err == nil {
		return false
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if r.Code != nil && *r.Code == "ThrottlingError" {
				return true
			}
		}
		return false
	}
	return throttles.IsErrorThrottle(err) == aws.TrueTernary
}
