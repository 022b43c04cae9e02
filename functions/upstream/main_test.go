package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
)

// stdout is the function's standard output in the tests.
var stdout = &eventstest.Output{}

// wiring is newHandler on the fixture's clock, keeping its keys in the
// fixture's Secrets Manager. Its metrics records go to stdout.
func wiring(ctx context.Context, getenv func(string) string, log *slog.Logger) (httpapi.Proxy, error) {
	return newHandler(ctx, getenv, eventstest.AssertionSecrets(ctx), eventstest.Now, log, stdout)
}

// TestEvents feeds events/upstream-*.json to the handler main builds
// (against a local stand-in of the cms upstream), holds its metrics records
// to the catalogue, and the DynamoDB and Secrets Manager actions they call
// (the first key written at the first cold start) to the function's IAM
// policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "UpstreamFunction", wiring)
	eventstest.CheckPolicy(t, fx)
	eventstest.CheckMetrics(t, stdout, metrics.FunctionUpstream, metrics.DynamoDBCalls)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "UpstreamFunction", wiring)
}

// TestUnservedUpstream: an upstream URL set empty leaves its routes
// unserved, not the function: it starts and serves the key set.
func TestUnservedUpstream(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TABLE_NAME": "tokensmith", "DYNAMODB_ENDPOINT": "http://127.0.0.1:8000", EnvBaseURL: "https://api.example.com",
		assertion.EnvKey:   string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})),
		"CMS_UPSTREAM_URL": "",
	}
	h, err := wiring(context.Background(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start with CMS_UPSTREAM_URL empty: %v", err)
	}
	resp, err := h(context.Background(), events.APIGatewayProxyRequest{Resource: "/.well-known/jwks.json", Path: "/.well-known/jwks.json", HTTPMethod: "GET"})
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"keys"`) {
		t.Errorf("key set = %d %s, %v; want 200 and the keys", resp.StatusCode, resp.Body, err)
	}
}
