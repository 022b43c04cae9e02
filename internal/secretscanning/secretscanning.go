// Package secretscanning is GitHub's secret scanning partner protocol: a
// report of leaked tokens, signed with ECDSA (P-256, SHA-256) over the raw
// body by one of the keys GitHub publishes as JSON. Verifier checks reports
// as the endpoint receives them: the keys are fetched from a configurable
// URL and kept; an unknown key identifier fetches them again, at most once
// a minute, and a report that cannot be checked is refused, never let
// through. SigningKey signs reports and publishes its key as GitHub does,
// for the tests and the local stack.
package secretscanning

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith/internal/keyage"
)

// GitHub's headers on a report.
const (
	HeaderKeyID     = "Github-Public-Key-Identifier"
	HeaderSignature = "Github-Public-Key-Signature"
)

// EnvKeysURL names the environment variable that holds the URL of the keys
// (template parameter GitHubKeysUrl).
const EnvKeysURL = "GITHUB_KEYS_URL"

// KeysTimeout bounds a fetch of the keys, within the function's own timeout.
const KeysTimeout = 5 * time.Second

// NewVerifier returns the verifier of the keys at url, on the clock now: it
// follows no redirect, so that the keys come from the configured URL
// (https, as the template requires) and nowhere else.
func NewVerifier(url string, now func() time.Time) *Verifier {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return &Verifier{URL: url, Client: client, Now: now}
}

// maxKeysBody bounds what is read of the keys document.
const maxKeysBody = 1 << 20

// Errors of Verify.
var (
	// ErrBadSignature means the report is not signed by a key GitHub
	// publishes: a header missing or malformed, an unknown key, or a
	// signature that does not verify.
	ErrBadSignature = errors.New("secretscanning: bad signature")
	// ErrKeysUnavailable means the keys could not be fetched: the report
	// cannot be checked, and is refused.
	ErrKeysUnavailable = errors.New("secretscanning: keys unavailable")
)

// Doer sends HTTP requests (an *http.Client).
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Verifier checks reports' signatures against the keys at URL.
type Verifier struct {
	URL    string
	Client Doer
	Now    func() time.Time
	// Timeout bounds a fetch of the keys, answer and body; zero is
	// KeysTimeout.
	Timeout time.Duration

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time // of the keys held; zero for none
	tried   time.Time // the last fetch, whether it succeeded or not
}

// Verify checks that signature (base64 of an ASN.1 ECDSA signature) is the
// signature of body by the key GitHub names keyID: nil, ErrBadSignature or
// ErrKeysUnavailable.
func (v *Verifier) Verify(ctx context.Context, keyID, signature string, body []byte) error {
	if keyID == "" || signature == "" {
		return fmt.Errorf("%w: header missing", ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	key, err := v.key(ctx, keyID)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(key, digest[:], sig) {
		return fmt.Errorf("%w: signature does not verify", ErrBadSignature)
	}
	return nil
}

// key returns the key id names, fetching the keys when none are held, when
// those held are older than keyage.MaxAge, or when id is not among them;
// fetches are keyage.MinRefresh apart at least. While fetching fails, keys
// held for less than keyage.MaxStale still serve the ids they hold.
func (v *Verifier) key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.Now()
	held, ok := v.keys[id]
	fresh := keyage.Fresh(v.fetched, now)
	usable := ok && keyage.Usable(v.fetched, now)
	if ok && fresh {
		return held, nil
	}
	if !v.tried.IsZero() && now.Sub(v.tried) < keyage.MinRefresh {
		switch {
		case usable:
			return held, nil
		case !fresh:
			return nil, fmt.Errorf("%w: last fetch failed less than %s ago", ErrKeysUnavailable, keyage.MinRefresh)
		}
		return nil, fmt.Errorf("%w: unknown key identifier", ErrBadSignature)
	}
	v.tried = now
	// The fetch outlives the report that asked for it: a caller that gives
	// up does not spend the minute's fetch for the next one.
	keys, err := v.fetch(context.WithoutCancel(ctx))
	if err != nil {
		if usable {
			return held, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	v.keys, v.fetched = keys, now
	if k, ok := keys[id]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown key identifier", ErrBadSignature)
}

// fetch reads the keys document within Timeout; keys that are not P-256
// public keys in PEM are left out, and a document with none is an error.
func (v *Verifier) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = KeysTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("keys request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch keys: status %d", resp.StatusCode)
	}
	var doc KeysDocument
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxKeysBody)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode keys: %w", err)
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range doc.PublicKeys {
		if pub, ok := parseKey(k.Key); ok && k.KeyIdentifier != "" {
			keys[k.KeyIdentifier] = pub
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("keys document holds no P-256 key")
	}
	return keys, nil
}

func parseKey(s string) (*ecdsa.PublicKey, bool) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, false
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, false
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, false
	}
	return k, true
}
