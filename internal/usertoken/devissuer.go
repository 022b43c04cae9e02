package usertoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DevAudience is the audience of dev-issuer tokens.
const DevAudience = "tokensmith-local"

// DevIssuer is the local stand-in for Cognito: an ES256 key kept in a file
// under .local/, its JWKS served by the local gateway, and tokens signed
// with it by tokenctl dev-token. It is never used in AWS.
type DevIssuer struct {
	URL string
	key *ecdsa.PrivateKey
	kid string
}

// LoadDevIssuer reads the key at path, creating it when create is set and
// there is none, for an issuer at url.
func LoadDevIssuer(path, url string, create bool) (*DevIssuer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		return createDevIssuer(path, url)
	}
	if err != nil {
		return nil, fmt.Errorf("usertoken: read dev issuer key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("usertoken: %s holds no PEM key", path)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("usertoken: parse dev issuer key: %w", err)
	}
	return newDevIssuer(key, url), nil
}

func createDevIssuer(path, url string) (*DevIssuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("usertoken: generate dev issuer key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("usertoken: encode dev issuer key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("usertoken: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("usertoken: write dev issuer key: %w", err)
	}
	return newDevIssuer(key, url), nil
}

func newDevIssuer(key *ecdsa.PrivateKey, url string) *DevIssuer {
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(pub)
	return &DevIssuer{URL: url, key: key, kid: hex.EncodeToString(sum[:8])}
}

// Sign returns a user token for the person sub with email, valid for ttl.
func (d *DevIssuer) Sign(sub, email string, now time.Time, ttl time.Duration) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: d.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", d.kid))
	if err != nil {
		return "", fmt.Errorf("usertoken: signer: %w", err)
	}
	claims := jwt.Claims{
		Issuer: d.URL, Subject: sub, Audience: jwt.Audience{DevAudience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)),
	}
	extra := map[string]any{"email": email, "email_verified": true}
	raw, err := jwt.Signed(signer).Claims(claims).Claims(extra).Serialize()
	if err != nil {
		return "", fmt.Errorf("usertoken: sign: %w", err)
	}
	return raw, nil
}

// JWKSPath is where the dev issuer's keys are served, below its URL.
const JWKSPath = "/.well-known/jwks.json"

// ServeHTTP serves the issuer's OIDC discovery document and JWKS.
func (d *DevIssuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body any
	switch r.URL.Path {
	case JWKSPath:
		body = jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &d.key.PublicKey, KeyID: d.kid, Algorithm: "ES256", Use: "sig"}}}
	case "/.well-known/openid-configuration":
		body = map[string]any{
			"issuer": d.URL, "jwks_uri": d.URL + JWKSPath,
			"id_token_signing_alg_values_supported": []string{"ES256"},
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}
