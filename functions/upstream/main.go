// Command upstream is the upstream Lambda: it forwards the upstream routes
// of upstreams.yaml (built into it) to the operator's APIs, with a signed
// assertion of the caller, and serves the assertion key set.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/serversecret"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/upstream"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// EnvBaseURL is the API's base URL, the assertions' issuer.
const EnvBaseURL = "API_BASE_URL"

func main() {
	log := lambdacontext.NewLogger()
	secrets, err := serversecret.Client(os.Getenv)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	h, err := newHandler(context.Background(), os.Getenv, secrets, time.Now, log, os.Stdout)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function (its metrics records go to stdout): its
// configuration from getenv, the store, the declaration built into it (its
// URLs from getenv) put in force, the assertion keys (from secrets in AWS,
// the first written at the first cold start), the authorizer's decision run
// in-process, and the forwarding handler as a Lambda proxy handler.
func newHandler(ctx context.Context, getenv func(string) string, secrets assertion.API, now func() time.Time, log *slog.Logger, stdout io.Writer) (httpapi.Proxy, error) {
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	baseURL := getenv(EnvBaseURL)
	if baseURL == "" {
		return nil, errors.New(EnvBaseURL + " is not set")
	}
	// Lambda sets every variable the template names, the empty ones too: a
	// url variable set empty leaves its upstream unserved.
	decl, err := upstream.Built(func(k string) (string, bool) { return getenv(k), true })
	if err != nil {
		return nil, err
	}
	decl.Install()
	keys, err := assertion.FromEnv(ctx, getenv, secrets)
	if err != nil {
		return nil, err
	}
	// Upstream routes take API tokens only: no user token is verified here.
	authz := &authorizer.Authorizer{Users: noUsers{}, Secrets: st, Now: now, Log: log}
	fwd := &httpapi.Upstreams{
		Declaration: decl, Decide: authz.Handle, Guard: httpapi.NewGuard(st, now, log), Log: log,
		Assertions: &assertion.Signer{Issuer: baseURL, Keys: keys, Now: now},
		Client:     httpapi.NewUpstreamClient(),
	}
	return metrics.Invocations(metrics.FunctionUpstream, stdout, now, fwd.Proxy()), nil
}

// noUsers refuses every user token.
type noUsers struct{}

func (noUsers) Verify(context.Context, string) (usertoken.Claims, error) {
	return usertoken.Claims{}, errors.New("upstream routes take no user token")
}
