package authorizer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/metrics"
)

// TestMeasure: each decision counts one Decisions and one DecisionLatency
// under its outcome, and an allow names its principal as a field.
func TestMeasure(t *testing.T) {
	allow := events.APIGatewayCustomAuthorizerResponse{PrincipalID: "65f0c0ffee00000000000010",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Statement: []events.IAMPolicyStatement{{Effect: "Allow"}}}}
	tests := []struct {
		name string
		resp events.APIGatewayCustomAuthorizerResponse
		err  error
		want string
	}{
		{"allow", allow, nil, metrics.OutcomeAllowed},
		{"no credential", events.APIGatewayCustomAuthorizerResponse{}, authorizer.ErrUnauthorized, metrics.OutcomeUnauthorized},
		{"table down", events.APIGatewayCustomAuthorizerResponse{}, errors.New("authorizer: connection refused"), metrics.OutcomeFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := authorizer.Measure(func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				time.Sleep(time.Millisecond)
				return tc.resp, tc.err
			})
			rec := metrics.New(metrics.FunctionAuthorizer)
			resp, err := h(metrics.NewContext(context.Background(), rec), events.APIGatewayCustomAuthorizerRequestTypeRequest{})
			if err != tc.err || resp.PrincipalID != tc.resp.PrincipalID {
				t.Errorf("Measure changed the decision: %+v, %v", resp, err)
			}
			lines := rec.Lines(time.Now())
			if len(lines) != 1 {
				t.Fatalf("%d lines; want 1", len(lines))
			}
			data, err := metrics.Parse(lines[0])
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]metrics.Datum{}
			for _, d := range data {
				got[d.Metric.Name] = d
			}
			dec, lat := got[metrics.Decisions.Name], got[metrics.DecisionLatency.Name]
			if dec.Dimensions["outcome"] != tc.want || len(dec.Values) != 1 || dec.Values[0] != 1 {
				t.Errorf("Decisions = %+v; want 1 %s", dec, tc.want)
			}
			if lat.Dimensions["outcome"] != tc.want || len(lat.Values) != 1 || lat.Values[0] < 1 {
				t.Errorf("DecisionLatency = %+v; want one value of at least 1 ms under %s", lat, tc.want)
			}
		})
	}
}
