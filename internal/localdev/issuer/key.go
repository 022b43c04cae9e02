package issuer

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokensmith/tokensmith/internal/localdev/keyfile"
)

// signingKey is the issuer's ES256 key. It implements both op.SigningKey and
// op.Key: the one key signs every token and is the only key in the JWKS.
type signingKey struct {
	private *ecdsa.PrivateKey
	id      string
}

// loadKey reads the key at path (package keyfile). When the file does not
// exist and create is set, it makes a new key and writes it there, so that
// tokens outlive a restart; otherwise a missing file is ErrNoKey.
func loadKey(path string, create bool) (*signingKey, error) {
	load := keyfile.Load
	if create {
		load = keyfile.LoadOrCreate
	}
	private, err := load(path)
	if errors.Is(err, keyfile.ErrNoKey) {
		return nil, fmt.Errorf("%w: %s", ErrNoKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	return newSigningKey(private), nil
}

// newSigningKey names the key by a digest of its public half, so the key id
// is the same in every process that loads the file.
func newSigningKey(private *ecdsa.PrivateKey) *signingKey {
	pub, _ := x509.MarshalPKIXPublicKey(&private.PublicKey)
	sum := sha256.Sum256(pub)
	return &signingKey{private: private, id: hex.EncodeToString(sum[:8])}
}

// SignatureAlgorithm, Key and ID make signingKey an op.SigningKey.
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *signingKey) Key() any                                    { return k.private }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the JWKS entry of the signing key (an op.Key).
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.private.PublicKey }
