// Command secretscanning is GitHub's secret scanning partner endpoint:
// GitHub reports tokens it found leaked, signed with its published keys,
// and each live one is revoked at once.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/store"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, time.Now, rand.Reader, log, os.Stdout)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function: its configuration from getenv (the table,
// and the URL of GitHub's secret scanning keys), the DynamoDB client, the
// store, the token service on the clock now and the randomness random (of
// event ids), the signature verifier with its HTTP client, and the HTTP
// handler as a Lambda proxy handler, whose metrics records go to stdout.
func newHandler(_ context.Context, getenv func(string) string, now func() time.Time, random io.Reader, log *slog.Logger, stdout io.Writer) (httpapi.Proxy, error) {
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	keysURL := getenv(secretscanning.EnvKeysURL)
	if keysURL == "" {
		return nil, errors.New("environment variable " + secretscanning.EnvKeysURL + " is not set")
	}
	svc := &apitokens.Service{Store: st, Now: now, Rand: random}
	v := secretscanning.NewVerifier(keysURL, now)
	return metrics.Invocations(metrics.FunctionSecretScanning, stdout, now, httpapi.SecretScanning(svc, v, log).Proxy()), nil
}
