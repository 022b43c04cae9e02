package secretscanning

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokensmith/tokensmith/internal/token"
)

// Match is one match of a report: a string of a registered secret type,
// where GitHub found it.
type Match struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// The secret types tokensmith registers with GitHub, one per token prefix,
// and the regular expression of the two (docs/API.md).
const (
	TypeSiteToken      = "tokensmith_site_token"
	TypeWorkspaceToken = "tokensmith_workspace_token"
	Pattern            = `\bts[sw]_[0-9A-Za-z]{46}\b`
)

// SecretType returns the secret type GitHub reports a string of Pattern as,
// which its prefix decides.
func SecretType(s string) string {
	if strings.HasPrefix(s, token.KindWorkspace.Prefix()) {
		return TypeWorkspaceToken
	}
	return TypeSiteToken
}

// KeysDocument is GitHub's document of secret scanning keys, as it
// publishes it and Verifier reads it.
type KeysDocument struct {
	PublicKeys []PublicKey `json:"public_keys"`
}

// PublicKey is one key of the document: an identifier and a public key in
// PEM.
type PublicKey struct {
	KeyIdentifier string `json:"key_identifier"`
	Key           string `json:"key"`
	IsCurrent     bool   `json:"is_current"`
}

// ServeHTTP serves d as JSON, as GitHub serves its keys.
func (d KeysDocument) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if d.PublicKeys == nil {
		d.PublicKeys = []PublicKey{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(d)
}

// SigningKey signs reports as GitHub does, with a P-256 key whose
// identifier is the hex SHA-256 of its public key's DER.
type SigningKey struct {
	ID      string
	private *ecdsa.PrivateKey
}

// NewSigningKey returns the signing key of private, a P-256 key.
func NewSigningKey(private *ecdsa.PrivateKey) (SigningKey, error) {
	der, err := x509.MarshalPKIXPublicKey(&private.PublicKey)
	if err != nil {
		return SigningKey{}, fmt.Errorf("secretscanning: encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return SigningKey{ID: hex.EncodeToString(sum[:]), private: private}, nil
}

// Sign returns the base64 ASN.1 ECDSA signature of body's SHA-256, as
// GitHub sends it in Github-Public-Key-Signature.
func (k SigningKey) Sign(body []byte) (string, error) {
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k.private, digest[:])
	if err != nil {
		return "", fmt.Errorf("secretscanning: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Document returns the keys document that publishes keys, the first as
// the current one.
func Document(keys ...SigningKey) KeysDocument {
	doc := KeysDocument{PublicKeys: []PublicKey{}}
	for i, k := range keys {
		der, _ := x509.MarshalPKIXPublicKey(&k.private.PublicKey)
		doc.PublicKeys = append(doc.PublicKeys, PublicKey{
			KeyIdentifier: k.ID,
			Key:           string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
			IsCurrent:     i == 0,
		})
	}
	return doc
}

// Delivery is a report as GitHub posts it: the headers that sign the body,
// and the body, the exact JSON text they sign.
type Delivery struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// Deliver returns the report of matches signed by k.
func (k SigningKey) Deliver(matches []Match) (Delivery, error) {
	if matches == nil {
		matches = []Match{}
	}
	body, err := json.Marshal(matches)
	if err != nil {
		return Delivery{}, fmt.Errorf("secretscanning: encode report: %w", err)
	}
	sig, err := k.Sign(body)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{Headers: map[string]string{HeaderKeyID: k.ID, HeaderSignature: sig}, Body: string(body)}, nil
}
