// Package githubtest stands in for GitHub in tests of the secret scanning
// endpoint: it serves a keys document as GitHub publishes its secret
// scanning keys, over a local httptest server, and signs reports with the
// private halves as GitHub signs them. Linked into no Lambda.
package githubtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// fixedPEM is the key of Fixed: the sample events of events/ are signed
// with it, so that their signatures verify against the fixture's keys.
const fixedPEM = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILLUAu2sJW2bMD/WCDpa3GshLbhZN7i4noB4pxnLWoguoAoGCCqGSM49
AwEHoUQDQgAEdO5kuAQ/k8PqLaPQIzmsaK10nCfe6FsSymzIYPSxcF1iG4XabBLq
SbFPhUkpI+IqBuS9/J6IVBTXd8n8UG+R/Q==
-----END EC PRIVATE KEY-----
`

// Key is a signing key with the identifier GitHub would give it: the hex
// SHA-256 of its public key's DER.
type Key struct {
	ID      string
	private *ecdsa.PrivateKey
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
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return Key{ID: hex.EncodeToString(sum[:]), private: k}
}

// Sign returns the base64 ASN.1 ECDSA signature of body's SHA-256, as
// GitHub sends it in Github-Public-Key-Signature.
func (k Key) Sign(t testing.TB, body []byte) string {
	t.Helper()
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k.private, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// publicPEM is the public half, as the keys document holds it.
func (k Key) publicPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&k.private.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Keys is the stand-in for GitHub's keys URL.
type Keys struct {
	URL  string
	hits atomic.Int64

	mu   sync.Mutex
	keys []Key
	down bool
}

// Serve serves a keys document with keys until the test ends.
func Serve(t testing.TB, keys ...Key) *Keys {
	s := &Keys{keys: keys}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Publish replaces the keys the document holds.
func (s *Keys) Publish(keys ...Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

// SetDown makes the server answer 503 (down) or the document again.
func (s *Keys) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Hits counts the requests served.
func (s *Keys) Hits() int64 { return s.hits.Load() }

func (s *Keys) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	type entry struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	}
	doc := struct {
		PublicKeys []entry `json:"public_keys"`
	}{PublicKeys: []entry{}}
	for i, k := range s.keys {
		doc.PublicKeys = append(doc.PublicKeys, entry{k.ID, k.publicPEM(), i == 0})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}
