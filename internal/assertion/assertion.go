// Package assertion signs what an upstream route tells the upstream about
// its caller (API.md section 13): a JWT signed ES256 by the stack's
// assertion key, bound to the upstream's audience and to the request's
// method and path, and publishes the public keys as a JWKS.
//
// The keys are a Ring: the current key, which signs, and the keys retired by
// a rotation, which stay published until their retirement ends, so that an
// upstream holding a cached key set keeps verifying while it refetches.
package assertion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokensmith/tokensmith"
)

// Lifetime is how long an assertion is valid after it is signed.
const Lifetime = 60 * time.Second

// Retention is how long a retired key stays published after a rotation.
const Retention = 24 * time.Hour

// Header is the request header that carries the assertion to the upstream.
const Header = "Tokensmith-Assertion"

// Key is one P-256 key of the ring with its key id, the RFC 7638 thumbprint
// of its public key.
type Key struct {
	ID      string
	Private *ecdsa.PrivateKey
	// RetiredAt is when a rotation replaced the key; zero for the current key.
	RetiredAt time.Time
}

// NewKey returns k with its key id.
func NewKey(k *ecdsa.PrivateKey) (Key, error) {
	if k == nil || k.Curve != elliptic.P256() {
		return Key{}, errors.New("assertion: the key is not a P-256 key")
	}
	thumb, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return Key{}, fmt.Errorf("assertion: key id: %w", err)
	}
	return Key{ID: base64.RawURLEncoding.EncodeToString(thumb), Private: k}, nil
}

// GenerateKey returns a new P-256 key.
func GenerateKey() (Key, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("assertion: generate key: %w", err)
	}
	return NewKey(k)
}

// Signer signs assertions with the current key of Keys.
type Signer struct {
	// Issuer is the API's base URL, the assertions' iss.
	Issuer string
	// Keys holds the current key first, then the retired ones.
	Keys []Key
	Now  func() time.Time
}

// Request is what an assertion is about: who calls, which upstream, which
// method and path.
type Request struct {
	Caller   tokensmith.Caller
	Audience string
	Method   string
	Path     string
}

// Claims are an assertion's claims, as an upstream reads them.
type Claims struct {
	jwt.RegisteredClaims
	TokenKind   string `json:"token_kind"`
	SiteID      string `json:"site_id,omitempty"`
	WorkspaceID string `json:"workspace_id"`
	Scope       string `json:"scope"`
	Method      string `json:"htm"`
	URL         string `json:"htu"`
}

// Sign returns the assertion of req.
func (s *Signer) Sign(req Request) (string, error) {
	if len(s.Keys) == 0 {
		return "", errors.New("assertion: no signing key")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("assertion: jti: %w", err)
	}
	now := s.Now().Truncate(time.Second)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.Issuer, Subject: req.Caller.TokenID, Audience: jwt.ClaimStrings{req.Audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(Lifetime)),
			ID: hex.EncodeToString(jti[:]),
		},
		TokenKind: req.Caller.Kind, SiteID: req.Caller.SiteID, WorkspaceID: req.Caller.WorkspaceID,
		Scope: req.Caller.Scope, Method: req.Method, URL: req.Path,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = s.Keys[0].ID
	signed, err := t.SignedString(s.Keys[0].Private)
	if err != nil {
		return "", fmt.Errorf("assertion: sign: %w", err)
	}
	return signed, nil
}

// JWKS returns the public keys to publish: the current key and every
// retired key within Retention of its retirement.
func (s *Signer) JWKS() ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	now := s.Now()
	for i, k := range s.Keys {
		if i > 0 && now.Sub(k.RetiredAt) > Retention {
			continue
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return json.Marshal(set)
}
