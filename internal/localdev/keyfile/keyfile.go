// Package keyfile keeps the local stack's signing keys: P-256 private keys
// in PEM files under its folder, made on the first start and read by every
// process after (the stack, tokenctl), so that what they sign outlives a
// restart. No Lambda links it.
package keyfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNoKey means the key file does not exist.
var ErrNoKey = errors.New("no signing key")

// Load reads the P-256 key in PEM at path; a missing file is ErrNoKey.
func Load(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key", path)
	}
	private, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse key %s: %w", path, err)
	}
	if private.Curve != elliptic.P256() {
		return nil, fmt.Errorf("key %s is not on P-256", path)
	}
	return private, nil
}

// LoadOrCreate reads the key at path, or makes a new one and writes it
// there (mode 0600, its folder 0700) when the file does not exist.
func LoadOrCreate(path string) (*ecdsa.PrivateKey, error) {
	private, err := Load(path)
	if !errors.Is(err, ErrNoKey) {
		return private, err
	}
	private, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("key folder: %w", err)
	}
	// O_EXCL keeps two processes starting at once from each writing a key
	// and one of them signing with a key that is no longer on disk.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return Load(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	return private, nil
}
