package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
	"github.com/tokensmith/tokensmith/internal/store"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock. Its metrics records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error), error) {
	return newHandler(ctx, getenv, eventstest.Now, log, stdout)
}

// TestEvents feeds events/authorizer-*.json to the handler main builds, holds its
// metrics records to the catalogue, and
// the DynamoDB actions they call to the function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "AuthorizerFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionAuthorizer, metrics.Decisions, metrics.DecisionLatency, metrics.DynamoDBCalls)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "AuthorizerFunction", wiring)
}

// TestWritesOnlyCounters: the authorizer's grant of UpdateItem holds it to
// the rate-limit counters' partition keys (the store's RateKeysLike), and
// its grants are those two.
func TestWritesOnlyCounters(t *testing.T) {
	tmpl, err := samtemplate.Load()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range fns["AuthorizerFunction"].Policies {
		for _, st := range p.Statement {
			for _, a := range st.Action {
				g := st.Effect + " " + a + " on " + strings.Join(st.Resource, ",")
				for op, keys := range st.Condition {
					for k, vs := range keys {
						g += " if " + op + " " + k + " " + strings.Join(vs, ",")
					}
				}
				got = append(got, g)
			}
		}
	}
	want := []string{
		"Allow dynamodb:GetItem on Table.Arn",
		"Allow dynamodb:UpdateItem on Table.Arn if ForAllValues:StringLike dynamodb:LeadingKeys " + store.RateKeysLike,
	}
	if !slices.Equal(got, want) {
		t.Errorf("grants = %q; want %q", got, want)
	}
}
