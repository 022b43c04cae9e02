package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// userTokenRounds is how many decisions userTokenDecision times.
const userTokenRounds = 20000

// userTokenDecision times the authorizer's decision for a person's user
// token (ES256, from the local OpenID Provider over loopback HTTP) once the
// issuer's discovery document and keys are cached: the CPU time of one
// decision, and the requests made to the issuer while timing, which must be
// none. Beside it, one bare ECDSA P-256 verification on this machine, the
// floor of any ES256 decision.
func userTokenDecision(log *slog.Logger) ([]row, error) {
	dir, err := os.MkdirTemp("", "tokensmith-bench-issuer")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	iss, err := issuer.New(issuer.Config{URL: srv.URL + "/dev-issuer", KeyFile: filepath.Join(dir, "key.pem"),
		RedirectURIs: []string{srv.URL + "/console/"}})
	if err != nil {
		return nil, err
	}
	mux.Handle(iss.Path()+"/", iss)
	var fetches atomic.Int64
	client := &http.Client{Timeout: 3 * time.Second, Transport: countingTransport{n: &fetches, next: http.DefaultTransport}}
	v, err := usertoken.NewVerifier(usertoken.Config{Issuer: iss.URL(), Audience: issuer.DefaultClientID, Client: client})
	if err != nil {
		return nil, err
	}
	raw, err := iss.Sign(issuer.Claims{Email: "admin@example.com"}, time.Now(), time.Hour)
	if err != nil {
		return nil, err
	}
	authz := &authorizer.Authorizer{Users: v, Secrets: mock.OneSecret(tokensmith.Secret{}), Now: time.Now, Log: log}
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/me",
		Resource: "/v2/me", HTTPMethod: "GET", Headers: map[string]string{"Authorization": "Bearer " + raw},
	}
	ctx := context.Background()
	decide := func() error {
		resp, err := authz.Handle(ctx, req)
		if err != nil {
			return err
		}
		if len(resp.PolicyDocument.Statement) == 0 || resp.PolicyDocument.Statement[0].Effect != "Allow" {
			return fmt.Errorf("user token not allowed: %+v", resp.PolicyDocument)
		}
		return nil
	}
	if err := decide(); err != nil { // warms the discovery document and keys
		return nil, err
	}
	before := fetches.Load()
	decision, err := cpuPer(userTokenRounds, decide)
	if err != nil {
		return nil, err
	}
	during := fetches.Load() - before

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(raw))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	bare, err := cpuPer(userTokenRounds, func() error {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			return fmt.Errorf("P-256 signature does not verify")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []row{
		{what: fmt.Sprintf("Authorizer decision for a user token (ES256, discovery document and keys cached), %d decisions: CPU per decision; requests to the issuer while timing", userTokenRounds),
			figure: fmt.Sprintf("%.1fµs; %d", float64(decision)/1e3, during), target: "under 50µs CPU; no network call",
			verdict: verdict(decision < 50*time.Microsecond && during == 0)},
		{what: "One bare ECDSA P-256 signature verification on this machine (the floor of any ES256 decision): CPU",
			figure: fmt.Sprintf("%.1fµs", float64(bare)/1e3)},
	}, nil
}

// cpuPer runs f n times and returns the process's CPU time (user and
// system) per run.
func cpuPer(n int, f func() error) (time.Duration, error) {
	start := processCPU()
	for i := 0; i < n; i++ {
		if err := f(); err != nil {
			return 0, err
		}
	}
	return (processCPU() - start) / time.Duration(n), nil
}

// processCPU is the CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingTransport counts the requests it carries.
type countingTransport struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}
