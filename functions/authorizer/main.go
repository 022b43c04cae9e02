// Command authorizer is the API Gateway REQUEST authorizer Lambda: it checks
// the Bearer credential of every call.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/usertoken"
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
// configuration from getenv, the DynamoDB client, the store of secrets and
// rate-limit counters, the verifier of user tokens, and the authorizer on
// the clock now.
func newHandler(_ context.Context, getenv func(string) string, now func() time.Time, log *slog.Logger, stdout io.Writer) (func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error), error) {
	env := map[string]string{}
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"OIDC_ISSUER", "OIDC_AUDIENCE"} {
		if env[name] = getenv(name); env[name] == "" {
			return nil, fmt.Errorf("environment variable %s is not set", name)
		}
	}
	users, err := usertoken.NewVerifier(usertoken.Config{Issuer: env["OIDC_ISSUER"], Audience: env["OIDC_AUDIENCE"]})
	if err != nil {
		return nil, err
	}
	a := &authorizer.Authorizer{Users: users, Secrets: st, Now: now, Log: log, Limiter: &ratelimit.Limiter{Counter: st}}
	return metrics.Invocations(metrics.FunctionAuthorizer, stdout, now, authorizer.Measure(a.Handle)), nil
}
