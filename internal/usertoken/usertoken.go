// Package usertoken verifies OIDC user tokens (JWTs signed by the configured
// issuer: Cognito by default).
package usertoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Errors of Verify.
var (
	ErrInvalid = errors.New("usertoken: invalid")
	// ErrIssuerUnavailable means the issuer's keys could not be fetched: a
	// dependency failure, not a verdict on the token.
	ErrIssuerUnavailable = errors.New("usertoken: issuer keys unavailable")
)

// Claims is who a verified user token names.
type Claims struct {
	Subject string
	Email   string
}

// Verifier checks signature (by the issuer's JWKS), issuer, audience and
// expiry of user tokens.
type Verifier struct {
	verifier *oidc.IDTokenVerifier
}

// Config configures a Verifier.
type Config struct {
	Issuer   string
	Audience string
	// JWKSURL defaults to the issuer's /.well-known/jwks.json (Cognito's).
	JWKSURL string
	// Client fetches the JWKS; nil uses a client with a 3-second timeout.
	Client *http.Client
	// Now is the clock for expiry; nil uses time.Now.
	Now func() time.Time
}

// NewVerifier returns a Verifier for cfg. Keys are fetched on first use and
// cached by go-oidc, which fetches again when it meets an unknown key id.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("usertoken: issuer and audience are required")
	}
	jwks := cfg.JWKSURL
	if jwks == "" {
		jwks = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 3 * time.Second}
	}
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), jwks)
	return &Verifier{verifier: oidc.NewVerifier(cfg.Issuer, fetchWatch{keys}, &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256},
		Now:                  cfg.Now,
	})}, nil
}

// Verify checks raw and returns its claims. A token without an email, or
// whose email the issuer says is unverified, is invalid: people are matched
// to their memberships by email.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	var failed fetchFailure
	tok, err := v.verifier.Verify(context.WithValue(ctx, fetchFailureKey{}, &failed), raw)
	if failed.err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrIssuerUnavailable, failed.err)
	}
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var c struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	}
	if err := tok.Claims(&c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	if c.Email == "" || (c.EmailVerified != nil && !*c.EmailVerified) {
		return Claims{}, fmt.Errorf("%w: no verified email", ErrInvalid)
	}
	return Claims{Subject: tok.Subject, Email: c.Email}, nil
}

// fetchWatch wraps the remote key set to tell a JWKS that cannot be fetched
// from a bad signature: go-oidc reports both as one error.
type fetchWatch struct{ keys *oidc.RemoteKeySet }

type fetchFailureKey struct{}

type fetchFailure struct{ err error }

func (f fetchWatch) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := f.keys.VerifySignature(ctx, jwt)
	if err != nil && strings.Contains(err.Error(), "fetching keys") {
		if ff, ok := ctx.Value(fetchFailureKey{}).(*fetchFailure); ok {
			ff.err = err
		}
	}
	return payload, err
}
