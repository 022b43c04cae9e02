package main

import (
	"crypto/rsa"
	"encoding/json"
	"strings"

	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
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

// userTokenRounds is how many decisions userTokenDecision times for one
// token; firstSightRounds how many distinct tokens it times once each.
const (
	userTokenRounds  = 20000
	firstSightRounds = 1000
)

// userTokenDecision times the authorizer's decision for a person's user
// token once the issuer's discovery document and keys are cached: the CPU
// time of one decision, and the requests made to the issuer while timing,
// which must be none. A token is timed the first time the authorizer sees
// it (its signature verified) and again (answered from the verifier's
// memory of verified tokens, as for every call after a person's first).
// Two issuers over loopback HTTP: one signing RS256, as Cognito (the stack's
// default issuer) does, and the local OpenID Provider, which signs ES256.
// Beside them, one bare ECDSA P-256 verification on this machine, the floor
// of any first ES256 decision.
func userTokenDecision(log *slog.Logger) ([]row, error) {
	dir, err := os.MkdirTemp("", "tokensmith-bench-issuer")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	local, err := issuer.New(issuer.Config{URL: srv.URL + "/dev-issuer", KeyFile: filepath.Join(dir, "key.pem"),
		RedirectURIs: []string{srv.URL + "/console/"}})
	if err != nil {
		return nil, err
	}
	mux.Handle(local.Path()+"/", local)
	// ECDSA signatures are randomised: every token signed is distinct.
	signES256 := func(int) (string, error) {
		return local.Sign(issuer.Claims{Email: "admin@example.com"}, time.Now(), time.Hour)
	}
	signRS256, err := rsaIssuer(mux, srv.URL+"/rsa", issuer.DefaultClientID)
	if err != nil {
		return nil, err
	}

	var rows []row
	for _, c := range []struct {
		alg, iss string
		sign     func(int) (string, error)
	}{
		{"RS256, as Cognito signs", srv.URL + "/rsa", signRS256},
		{"ES256, as the local OpenID Provider signs", local.URL(), signES256},
	} {
		raws := make([]string, firstSightRounds+1)
		for i := range raws {
			if raws[i], err = c.sign(i); err != nil {
				return nil, err
			}
		}
		first, again, fetches, err := decisionCPU(log, c.iss, raws)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.alg, err)
		}
		rows = append(rows, row{
			what: fmt.Sprintf("Authorizer decision for a user token seen before (%s; discovery document and keys cached; answered from the verifier's memory of verified tokens, as every call after a person's first), %d decisions: CPU per decision; requests to the issuer while timing",
				c.alg, userTokenRounds),
			figure: fmt.Sprintf("%.1fµs; %d", float64(again)/1e3, fetches), target: "under 50µs CPU; no network call",
			verdict: verdict(again < 50*time.Microsecond && fetches == 0),
		}, row{
			what: fmt.Sprintf("Authorizer decision for a user token seen for the first time (%s; keys cached; signature verified), %d tokens: CPU per decision",
				c.alg, firstSightRounds),
			figure: fmt.Sprintf("%.1fµs", float64(first)/1e3), target: "under 50µs CPU",
			verdict: verdict(first < 50*time.Microsecond),
		})
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte("header.payload"))
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
	return append(rows, row{what: "One bare ECDSA P-256 signature verification on this machine (the floor of any ES256 decision): CPU",
		figure: fmt.Sprintf("%.1fµs", float64(bare)/1e3)}), nil
}

// decisionCPU warms an authorizer verifying user tokens of the issuer iss
// with raws[0], then returns the CPU time of one decision on a user-token
// route for each other token of raws, seen for the first time; of one
// decision for a token seen before; and the requests made to the issuer
// while timing.
func decisionCPU(log *slog.Logger, iss string, raws []string) (first, again time.Duration, fetches int64, err error) {
	var requests atomic.Int64
	client := &http.Client{Timeout: 3 * time.Second, Transport: countingTransport{n: &requests, next: http.DefaultTransport}}
	v, err := usertoken.NewVerifier(usertoken.Config{Issuer: iss, Audience: issuer.DefaultClientID, Client: client})
	if err != nil {
		return 0, 0, 0, err
	}
	authz := &authorizer.Authorizer{Users: v, Secrets: mock.OneSecret(tokensmith.Secret{}), Now: time.Now, Log: log}
	ctx := context.Background()
	decide := func(raw string) error {
		req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/me",
			Resource: "/v2/me", HTTPMethod: "GET", Headers: map[string]string{"Authorization": "Bearer " + raw},
		}
		resp, err := authz.Handle(ctx, req)
		if err != nil {
			return err
		}
		if len(resp.PolicyDocument.Statement) == 0 || resp.PolicyDocument.Statement[0].Effect != "Allow" {
			return fmt.Errorf("user token not allowed: %+v", resp.PolicyDocument)
		}
		return nil
	}
	if err := decide(raws[0]); err != nil { // warms the discovery document and keys
		return 0, 0, 0, err
	}
	before := requests.Load()
	next := 1
	if first, err = cpuPer(len(raws)-1, func() error { next++; return decide(raws[next-1]) }); err != nil {
		return 0, 0, 0, err
	}
	if again, err = cpuPer(userTokenRounds, func() error { return decide(raws[0]) }); err != nil {
		return 0, 0, 0, err
	}
	return first, again, requests.Load() - before, nil
}

// rsaIssuer serves, below url on mux, a minimal OpenID Provider signing
// RS256 with a 2048-bit key (Cognito's kind): its discovery document and
// JWKS. It returns a function signing the i-th distinct ID token for aud.
func rsaIssuer(mux *http.ServeMux, url, aud string) (func(i int) (string, error), error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	path := strings.TrimPrefix(url, "http://")
	path = path[strings.Index(path, "/"):]
	mux.HandleFunc("GET "+path+"/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": url, "jwks_uri": url + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET "+path+"/jwks", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"}}})
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "rsa-1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return func(i int) (string, error) {
		now := time.Now()
		return jwt.Signed(signer).Claims(map[string]any{"iss": url, "sub": "bench", "aud": aud, "email": "admin@example.com",
			"email_verified": true, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": fmt.Sprint(i)}).Serialize()
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
