// Package devissuer is the local stand-in for Cognito that `make run`, the
// end-to-end tests and tokenctl dev-token use: an ES256 key kept in a file
// under the local folder, its OIDC discovery document and JWKS served by the
// local stack, and user tokens signed with it. It is never used in AWS.
package devissuer

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

// Where the issuer lives and what it signs.
const (
	// Audience is the audience of dev-issuer tokens.
	Audience = "tokensmith-local"
	// Path is where the issuer is served below the local stack's base URL.
	Path = "/dev-issuer"
	// KeyFile is the issuer's key, under the local folder.
	KeyFile = "dev-issuer.pem"
	// TokenTTL is how long dev-issuer user tokens last.
	TokenTTL = 12 * time.Hour
)

// Issuer signs user tokens with a key kept in a file.
type Issuer struct {
	URL string
	key *ecdsa.PrivateKey
	kid string
}

// Load reads the key at path, creating it when create is set and
// there is none, for an issuer at url.
func Load(path, url string, create bool) (*Issuer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		return generate(path, url)
	}
	if err != nil {
		return nil, fmt.Errorf("devissuer: read dev issuer key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("devissuer: %s holds no PEM key", path)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devissuer: parse dev issuer key: %w", err)
	}
	return newIssuer(key, url), nil
}

func generate(path, url string) (*Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devissuer: generate dev issuer key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devissuer: encode dev issuer key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("devissuer: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("devissuer: write dev issuer key: %w", err)
	}
	return newIssuer(key, url), nil
}

func newIssuer(key *ecdsa.PrivateKey, url string) *Issuer {
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(pub)
	return &Issuer{URL: url, key: key, kid: hex.EncodeToString(sum[:8])}
}

// Sign returns a user token for the person sub with email, valid for ttl.
func (d *Issuer) Sign(sub, email string, now time.Time, ttl time.Duration) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: d.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", d.kid))
	if err != nil {
		return "", fmt.Errorf("devissuer: signer: %w", err)
	}
	claims := jwt.Claims{
		Issuer: d.URL, Subject: sub, Audience: jwt.Audience{Audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)),
	}
	extra := map[string]any{"email": email, "email_verified": true}
	raw, err := jwt.Signed(signer).Claims(claims).Claims(extra).Serialize()
	if err != nil {
		return "", fmt.Errorf("devissuer: sign: %w", err)
	}
	return raw, nil
}

// JWKSPath is where the dev issuer's keys are served, below its URL.
const JWKSPath = "/.well-known/jwks.json"

// ServeHTTP serves the issuer's OIDC discovery document and JWKS.
func (d *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
