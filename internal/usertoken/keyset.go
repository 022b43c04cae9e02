package usertoken

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/tokensmith/tokensmith/internal/keyage"
)

// How often the key set asks the issuer, and how long its keys serve
// (package keyage, shared with the secret scanning verifier).
const (
	// retryAfterFailure bounds the attempts while no keys have ever been
	// fetched: the discovery document or the JWKS failed, and every
	// verification in between fails closed without a request.
	retryAfterFailure = 5 * time.Second
	// refreshInterval bounds the refetches made for tokens whose key id is
	// not in the cached JWKS, so tokens with made-up key ids cannot make the
	// service hammer the issuer.
	refreshInterval = keyage.MinRefresh
	// maxKeyAge is how long fetched keys are used before they are fetched
	// again, so a key the issuer withdraws stops being accepted. While that
	// refetch fails the old keys stay in use up to keyage.MaxStale.
	maxKeyAge = keyage.MaxAge
	// maxDocument bounds what is read of a discovery document or a JWKS
	// (real ones are a few KiB): an issuer that answers with more fails, and
	// cannot fill the function's memory.
	maxDocument = 256 << 10
)

// errTooLarge is the error of reading past maxDocument.
var errTooLarge = fmt.Errorf("usertoken: document larger than %d bytes", maxDocument)

// boundedTransport makes every body read through it end with errTooLarge
// past maxDocument bytes, the discovery document go-oidc reads whole among
// them.
type boundedTransport struct{ next http.RoundTripper }

func (b boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: maxDocument}
	return resp, nil
}

type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly maxDocument from a longer one.
		var one [1]byte
		if n, _ := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return b.ReadCloser.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// keySet finds the issuer's JWKS through its discovery document and caches
// the keys. go-oidc's RemoteKeySet fetches again for every unknown key id;
// this one does so at most once per refreshInterval, by its clock.
type keySet struct {
	issuer string
	client *http.Client
	now    func() time.Time

	// cached is what warm verifications read, without a lock.
	cached atomic.Pointer[fetchedKeys]

	// mu is held across a fetch, so concurrent misses make one request, and
	// guards the fields below.
	mu          sync.Mutex
	jwksURL     string // from the discovery document, once it was read
	lastAttempt time.Time
	lastErr     error // of the last attempt, while no keys were ever fetched
}

type fetchedKeys struct {
	keys []jose.JSONWebKey
	// thumbprint holds each key's RFC 7638 thumbprint (base64url of its
	// SHA-256).
	thumbprint []string
	at         time.Time
}

// newFetchedKeys returns keys fetched at, with their thumbprints.
func newFetchedKeys(keys []jose.JSONWebKey, at time.Time) (*fetchedKeys, error) {
	f := &fetchedKeys{keys: keys, at: at, thumbprint: make([]string, len(keys))}
	for i := range keys {
		t, err := keys[i].Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("thumbprint of key %q: %w", keys[i].KeyID, err)
		}
		f.thumbprint[i] = base64.RawURLEncoding.EncodeToString(t)
	}
	return f, nil
}

func newKeySet(issuer string, client *http.Client, now func() time.Time) *keySet {
	bounded := *client
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	bounded.Transport = boundedTransport{next: next}
	return &keySet{issuer: issuer, client: &bounded, now: now}
}

// current returns the keys verifications use now, if any were fetched.
func (k *keySet) current() *fetchedKeys {
	return k.cached.Load()
}

// keys returns the keys to try for a token with key id kid, fetching them
// when none were fetched yet, when kid is unknown, or when they are older
// than maxKeyAge, each within its bound. Keys older than keyage.MaxStale
// verify nothing: while refetching fails, tokens fail closed.
func (k *keySet) keys(ctx context.Context, kid string) (*fetchedKeys, error) {
	if c := k.cached.Load(); c != nil && fresh(c, kid, k.now()) {
		return c, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	c := k.cached.Load()
	switch {
	case c == nil:
		if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < retryAfterFailure {
			return nil, k.lastErr
		}
		first, err := k.fetch(ctx, now)
		if err != nil {
			k.lastErr = err
			return nil, err
		}
		return first, nil
	case fresh(c, kid, now):
		// Another caller refreshed meanwhile.
		return c, nil
	case now.Sub(k.lastAttempt) < refreshInterval:
		// One did lately: an unknown key id now is the token's fault, unless
		// the keys are too old to trust.
		if !keyage.Usable(c.at, now) {
			return nil, fmt.Errorf("keys fetched %s ago; the last refetch failed", now.Sub(c.at))
		}
		return c, nil
	}
	refreshed, err := k.fetch(ctx, now)
	switch {
	case err == nil:
		return refreshed, nil
	case !has(c.keys, kid):
		// The key may be one the issuer just rotated in: no verdict.
		return nil, err
	case !keyage.Usable(c.at, now):
		return nil, fmt.Errorf("keys fetched %s ago: %w", now.Sub(c.at), err)
	}
	// Only age called for the refresh: the keys in hand still serve.
	return c, nil
}

// fresh reports whether c can decide a token with key id kid at now
// without asking the issuer.
func fresh(c *fetchedKeys, kid string, now time.Time) bool {
	return now.Sub(c.at) < maxKeyAge && has(c.keys, kid)
}

// has reports whether keys hold kid; a token without a key id is checked
// against every key.
func has(keys []jose.JSONWebKey, kid string) bool {
	if kid == "" {
		return len(keys) > 0
	}
	for i := range keys {
		if keys[i].KeyID == kid {
			return true
		}
	}
	return false
}

// fetch reads the discovery document (once it has succeeded, never again)
// and the JWKS, and caches the keys. k.mu is held. A fetch that fails
// because the caller gave up does not count as an attempt.
func (k *keySet) fetch(ctx context.Context, now time.Time) (*fetchedKeys, error) {
	c, err := k.fetchKeys(ctx, now)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	k.lastAttempt = now
	if err != nil {
		return nil, err
	}
	k.cached.Store(c)
	return c, nil
}

func (k *keySet) fetchKeys(ctx context.Context, now time.Time) (*fetchedKeys, error) {
	if k.jwksURL == "" {
		// go-oidc's provider reads the discovery document and checks that it
		// names the configured issuer.
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, k.client), k.issuer)
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		var doc struct {
			JWKSURL string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil || doc.JWKSURL == "" {
			return nil, fmt.Errorf("discovery of %s: no jwks_uri", k.issuer)
		}
		k.jwksURL = doc.JWKSURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks %s: %s", k.jwksURL, resp.Status)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", k.jwksURL, err)
	}
	return newFetchedKeys(keys, now)
}

// parseJWKS reads a JWKS, skipping keys it cannot use (a type go-jose does
// not know, or private material) rather than refusing the whole set.
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() || !key.IsPublic() {
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable keys")
	}
	return keys, nil
}
