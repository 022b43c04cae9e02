package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock and randomness. Its metrics records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (httpapi.Proxy, error) {
	return newHandler(ctx, getenv, eventstest.Now, eventstest.Rand(), log, stdout)
}

// TestEvents feeds events/people-*.json to the handler main builds, holds its
// metrics records to the catalogue, and
// the DynamoDB actions they call to the function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "PeopleFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionPeople, metrics.DynamoDBCalls)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "PeopleFunction", wiring)
}

// TestUserPool checks that a user pool in the environment needs the
// region and credentials of a Lambda environment, and that the function
// may create accounts in the stack's own user pool only, and only when the
// stack has one.
func TestUserPool(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	env := map[string]string{"TABLE_NAME": "t", "DYNAMODB_ENDPOINT": "http://127.0.0.1:1", "USER_POOL_ID": "us-east-1_example"}
	getenv := func(k string) string { return env[k] }
	if _, err := wiring(context.Background(), getenv, log); err == nil {
		t.Error("a user pool without AWS credentials wired; want an error")
	}
	env["AWS_REGION"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "us-east-1", "AKIDEXAMPLE", "secret"
	if _, err := wiring(context.Background(), getenv, log); err != nil {
		t.Errorf("a user pool with AWS credentials: %v", err)
	}

	tmpl, err := samtemplate.Load()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range fns["PeopleFunction"].Policies {
		for _, st := range p.Statement {
			for _, a := range st.Action {
				if a == "cognito-idp:AdminCreateUser" || a == "cognito-idp:AdminGetUser" {
					got = append(got, p.Condition+" "+st.Effect+" "+a+" on "+st.Resource[0])
				}
			}
		}
	}
	want := []string{"UseCognito Allow cognito-idp:AdminCreateUser on UserPool.Arn", "UseCognito Allow cognito-idp:AdminGetUser on UserPool.Arn"}
	if !slices.Equal(got, want) {
		t.Errorf("user pool grants = %q; want %q", got, want)
	}
}
