// Package githubtest stands in for GitHub in tests of the secret scanning
// endpoint: it serves a keys document as GitHub publishes its secret
// scanning keys, over a local httptest server, and signs reports with the
// private halves as GitHub signs them (secretscanning.SigningKey). Linked
// into no Lambda.
package githubtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokensmith/tokensmith/internal/secretscanning"
)

// fixedPEM is the key of Fixed: the sample events of events/ are signed
// with it, so that their signatures verify against the fixture's keys.
const fixedPEM = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILLUAu2sJW2bMD/WCDpa3GshLbhZN7i4noB4pxnLWoguoAoGCCqGSM49
AwEHoUQDQgAEdO5kuAQ/k8PqLaPQIzmsaK10nCfe6FsSymzIYPSxcF1iG4XabBLq
SbFPhUkpI+IqBuS9/J6IVBTXd8n8UG+R/Q==
-----END EC PRIVATE KEY-----
`

// Key is a signing key with the identifier GitHub would give it.
type Key struct {
	ID     string
	signer secretscanning.SigningKey
}

// NewKey returns a new P-256 key.
func NewKey(t testing.TB) Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keyOf(t, k)
}

// Fixed returns the key the sample events are signed with.
func Fixed(t testing.TB) Key {
	t.Helper()
	block, _ := pem.Decode([]byte(fixedPEM))
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return keyOf(t, k)
}

func keyOf(t testing.TB, k *ecdsa.PrivateKey) Key {
	t.Helper()
	s, err := secretscanning.NewSigningKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: s.ID, signer: s}
}

// Sign returns the base64 ASN.1 ECDSA signature of body's SHA-256, as
// GitHub sends it in Github-Public-Key-Signature.
func (k Key) Sign(t testing.TB, body []byte) string {
	t.Helper()
	sig, err := k.signer.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Keys is the stand-in for GitHub's keys URL.
type Keys struct {
	URL  string
	hits atomic.Int64

	mu   sync.Mutex
	keys []secretscanning.SigningKey
	down bool
}

// Serve serves a keys document with keys until the test ends.
func Serve(t testing.TB, keys ...Key) *Keys {
	s := &Keys{}
	s.Publish(keys...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Publish replaces the keys the document holds.
func (s *Keys) Publish(keys ...Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range keys {
		s.keys = append(s.keys, k.signer)
	}
}

// SetDown makes the server answer 503 (down) or the document again.
func (s *Keys) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Hits counts the requests served.
func (s *Keys) Hits() int64 { return s.hits.Load() }

func (s *Keys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	secretscanning.Document(s.keys...).ServeHTTP(w, r)
}

// Hang serves a keys URL that answers no request until the test ends: a
// fetch of it fails only by its timeout.
func Hang(t testing.TB) string {
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hung) })
	return srv.URL
}
