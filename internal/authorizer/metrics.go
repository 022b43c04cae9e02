package authorizer

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/metrics"
)

// Handler is the authorizer's Lambda handler (Authorizer.Handle).
type Handler = func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Measure returns h recording, in the metrics record of each invocation
// (metrics.FromContext), the decision's outcome and how long it took, and
// the principal it allowed as a log field. Latency is read from the
// monotonic clock, as it measures the handler rather than deciding
// anything.
func Measure(h Handler) Handler {
	return func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		elapsed := time.Since(start)
		r := metrics.FromContext(ctx)
		if r == nil {
			return resp, err
		}
		outcome := Outcome(err)
		r.Add(metrics.Decisions, 1, outcome)
		r.Observe(metrics.DecisionLatency, metrics.Millis(elapsed), outcome)
		if outcome == metrics.OutcomeAllowed {
			r.Set("principalId", resp.PrincipalID)
		}
		return resp, err
	}
}

// Outcome is the metrics outcome of a decision: allowed, unauthorized
// (ErrUnauthorized) or failed (any other error, which API Gateway answers
// with a 500). The authorizer never denies a valid credential: scopes are
// the function's to refuse (httpapi.Guard), which counts denied_scope.
func Outcome(err error) string {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return metrics.OutcomeUnauthorized
	case err != nil:
		return metrics.OutcomeFailed
	}
	return metrics.OutcomeAllowed
}
