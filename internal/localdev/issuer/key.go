package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is the issuer's ES256 key. It implements both op.SigningKey and
// op.Key: the one key signs every token and is the only key in the JWKS.
type signingKey struct {
	private *ecdsa.PrivateKey
	id      string
}

// loadKey reads the PEM key at path. When the file does not exist and create
// is set, it makes a new key and writes it there (mode 0600), so that tokens
// outlive a restart; otherwise a missing file is ErrNoKey.
func loadKey(path string, create bool) (*signingKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%w: %s", ErrNoKey, path)
		}
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: read key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("issuer: %s holds no PEM key", path)
	}
	private, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("issuer: parse key %s: %w", path, err)
	}
	if private.Curve != elliptic.P256() {
		return nil, fmt.Errorf("issuer: key %s is not on P-256", path)
	}
	return newSigningKey(private), nil
}

func createKey(path string) (*signingKey, error) {
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issuer: generate key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("issuer: encode key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("issuer: key folder: %w", err)
	}
	// O_EXCL keeps two processes starting at once from each writing a key
	// and one of them signing with a key that is no longer on disk.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadKey(path, false)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: write key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("issuer: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("issuer: write key: %w", err)
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
