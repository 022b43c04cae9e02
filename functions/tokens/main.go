// Command tokens is the token management Lambda: people mint, list,
// regenerate and revoke site and workspace tokens; API tokens introspect
// themselves; anyone holding a secret can revoke it.
package main

import (
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/people"
	"github.com/tokensmith/tokensmith/internal/serversecret"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/upstream"
	"github.com/tokensmith/tokensmith/internal/workloadtoken"
)

func main() {
	log := lambdacontext.NewLogger()
	secrets, err := serversecret.Client(os.Getenv)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	h, err := newHandler(os.Getenv, secrets, time.Now, rand.Reader, log, os.Stdout)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function (its metrics records go to stdout): its
// configuration from getenv, the DynamoDB client, the store, the idempotency
// secret (read from secrets at the first create that needs it; the function
// does not start when neither its ARN nor a local value is set), the upstream declaration built into it (its added APIs), the token service on the clock now and the randomness random (of
// secrets and ids), and its HTTP handler as a Lambda proxy handler.
func newHandler(getenv func(string) string, secrets serversecret.API, now func() time.Time, random io.Reader, log *slog.Logger, stdout io.Writer) (httpapi.Proxy, error) {
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	idemSecret, err := serversecret.NewLazy(getenv, secrets)
	if err != nil {
		return nil, err
	}
	// The APIs upstreams.yaml adds are granted as the built-in ones.
	decl, err := upstream.Built(nil)
	if err != nil {
		return nil, err
	}
	decl.Install()
	// Every management call signs the caller in: binds the invitations
	// waiting for their verified email.
	signIn := &people.Service{Store: st, Now: now, Rand: random}
	// Exchanges fetch the keys of the issuers trusted workloads name, at
	// public https addresses only.
	svc := &apitokens.Service{Store: st, People: signIn, Now: now, Rand: random, IdempotencySecret: idemSecret,
		Verifier: workloadtoken.NewVerifier(workloadtoken.NewClient(nil), now)}
	return metrics.Invocations(metrics.FunctionTokens, stdout, now, httpapi.Tokens(svc, httpapi.NewGuard(st, now, log), log).Proxy()), nil
}
