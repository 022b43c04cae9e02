package secretscanning_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/githubtest"
	"github.com/tokensmith/tokensmith/internal/keyage"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newVerifier(keys *githubtest.Keys, c *clock) *secretscanning.Verifier {
	return &secretscanning.Verifier{URL: keys.URL, Client: http.DefaultClient, Now: c.Now}
}

func TestVerify(t *testing.T) {
	github, other := githubtest.NewKey(t), githubtest.NewKey(t)
	keys := githubtest.Serve(t, github)
	body := []byte(`[{"token":"tss_x","type":"tokensmith_site_token","url":"https://github.com/o/r/blob/1/f","source":"content"}]`)
	good := github.Sign(t, body)
	tests := []struct {
		name, keyID, sig string
		body             []byte
		want             error
	}{
		{"valid", github.ID, good, body, nil},
		{"signed by another key", github.ID, other.Sign(t, body), body, secretscanning.ErrBadSignature},
		{"tampered body", github.ID, good, append([]byte(`[{"token":"tss_y"}],`), body...), secretscanning.ErrBadSignature},
		{"one byte changed", github.ID, good, append(append([]byte{}, body[:len(body)-2]...), '_', ']'), secretscanning.ErrBadSignature},
		{"no identifier", "", good, body, secretscanning.ErrBadSignature},
		{"no signature", github.ID, "", body, secretscanning.ErrBadSignature},
		{"signature not base64", github.ID, "%%%", body, secretscanning.ErrBadSignature},
		{"signature not ASN.1", github.ID, "AAAA", body, secretscanning.ErrBadSignature},
		{"unknown identifier", other.ID, other.Sign(t, body), body, secretscanning.ErrBadSignature},
	}
	v := newVerifier(keys, &clock{t0})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := v.Verify(context.Background(), tc.keyID, tc.sig, tc.body); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v; want %v", err, tc.want)
			}
		})
	}
}

// TestKeysRefresh: keys are fetched once and kept; an unknown identifier
// fetches them again at most once a minute (a key GitHub published since
// is then accepted); keys older than an hour are fetched again.
func TestKeysRefresh(t *testing.T) {
	first, second := githubtest.NewKey(t), githubtest.NewKey(t)
	keys := githubtest.Serve(t, first)
	c := &clock{t0}
	v := newVerifier(keys, c)
	body := []byte(`[]`)
	ctx := context.Background()
	check := func(k githubtest.Key, want error, hits int64) {
		t.Helper()
		if err := v.Verify(ctx, k.ID, k.Sign(t, body), body); !errors.Is(err, want) {
			t.Errorf("at %s: Verify with %s = %v; want %v", c.now.Sub(t0), k.ID[:8], err, want)
		}
		if got := keys.Hits(); got != hits {
			t.Errorf("at %s: %d fetches; want %d", c.now.Sub(t0), got, hits)
		}
	}
	check(first, nil, 1)
	check(first, nil, 1)
	keys.Publish(first, second)
	// Unknown: fetched again at once, since the last fetch was a while ago...
	c.now = t0.Add(2 * time.Minute)
	check(second, nil, 2)
	// ...but a flood of unknown identifiers fetches at most once a minute.
	stranger := githubtest.NewKey(t)
	c.now = t0.Add(2*time.Minute + time.Second)
	check(stranger, secretscanning.ErrBadSignature, 2)
	check(stranger, secretscanning.ErrBadSignature, 2)
	c.now = t0.Add(3*time.Minute + time.Second)
	check(stranger, secretscanning.ErrBadSignature, 3)
	// An hour on, the keys are fetched again: a withdrawn key stops working.
	keys.Publish(second)
	c.now = t0.Add(3*time.Minute + time.Second + keyage.MaxAge)
	check(first, secretscanning.ErrBadSignature, 4)
	check(second, nil, 4)
}

// TestFailsClosed: with the keys URL down, a report cannot be checked and
// is refused as unavailable (a 5xx: GitHub delivers it again), never let
// through; a first fetch that fails is retried no sooner than a minute on.
func TestFailsClosed(t *testing.T) {
	k := githubtest.NewKey(t)
	keys := githubtest.Serve(t, k)
	keys.SetDown(true)
	c := &clock{t0}
	v := newVerifier(keys, c)
	body := []byte(`[]`)
	for _, at := range []time.Duration{0, 30 * time.Second} {
		c.now = t0.Add(at)
		if err := v.Verify(context.Background(), k.ID, k.Sign(t, body), body); !errors.Is(err, secretscanning.ErrKeysUnavailable) {
			t.Errorf("at %s with keys down: Verify = %v; want ErrKeysUnavailable", at, err)
		}
	}
	if got := keys.Hits(); got != 1 {
		t.Errorf("%d fetches within a minute; want 1", got)
	}
	keys.SetDown(false)
	c.now = t0.Add(time.Minute)
	if err := v.Verify(context.Background(), k.ID, k.Sign(t, body), body); err != nil {
		t.Errorf("keys back: Verify = %v", err)
	}
	// Unreachable altogether.
	v = &secretscanning.Verifier{URL: "http://127.0.0.1:1/keys", Client: http.DefaultClient, Now: c.Now}
	if err := v.Verify(context.Background(), k.ID, k.Sign(t, body), body); !errors.Is(err, secretscanning.ErrKeysUnavailable) {
		t.Errorf("keys unreachable: Verify = %v; want ErrKeysUnavailable", err)
	}
}

// TestStaleKeysWhileFetchFails: when the hourly fetch fails, the keys held
// still verify reports by their keys for up to keyage.MaxStale (every signature is
// still checked), retried at most once a minute; past keyage.MaxStale, or for a
// key they do not hold, nothing is verified.
func TestStaleKeysWhileFetchFails(t *testing.T) {
	k := githubtest.NewKey(t)
	keys := githubtest.Serve(t, k)
	c := &clock{t0}
	v := newVerifier(keys, c)
	body := []byte(`[]`)
	ctx := context.Background()
	if err := v.Verify(ctx, k.ID, k.Sign(t, body), body); err != nil {
		t.Fatal(err)
	}
	keys.SetDown(true)
	stranger := githubtest.NewKey(t)
	for _, tc := range []struct {
		at   time.Duration
		key  githubtest.Key
		sig  string
		want error
		hits int64
	}{
		{keyage.MaxAge, k, k.Sign(t, body), nil, 2},
		{keyage.MaxAge + time.Second, k, k.Sign(t, body), nil, 2},
		{keyage.MaxAge + time.Second, k, stranger.Sign(t, body), secretscanning.ErrBadSignature, 2},
		{keyage.MaxAge + 2*time.Minute, stranger, stranger.Sign(t, body), secretscanning.ErrKeysUnavailable, 3},
		{keyage.MaxStale - time.Minute, k, k.Sign(t, body), nil, 4},
		{keyage.MaxStale, k, k.Sign(t, body), secretscanning.ErrKeysUnavailable, 5},
	} {
		c.now = t0.Add(tc.at)
		if err := v.Verify(ctx, tc.key.ID, tc.sig, body); !errors.Is(err, tc.want) {
			t.Errorf("at %s with keys down: Verify with %s = %v; want %v", tc.at, tc.key.ID[:8], err, tc.want)
		}
		if got := keys.Hits(); got != tc.hits {
			t.Errorf("at %s: %d fetches; want %d", tc.at, got, tc.hits)
		}
	}
	keys.SetDown(false)
	c.now = t0.Add(keyage.MaxStale + time.Minute)
	if err := v.Verify(ctx, k.ID, k.Sign(t, body), body); err != nil {
		t.Errorf("keys back: Verify = %v", err)
	}
}

// TestKeysFetch: the client follows no redirect (the keys come from the
// configured URL only), and a report whose caller gave up does not spend
// the minute's fetch for the next one.
func TestKeysFetch(t *testing.T) {
	k := githubtest.NewKey(t)
	keys := githubtest.Serve(t, k)
	body := []byte(`[]`)
	redirect := httptest.NewServer(http.RedirectHandler(keys.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	c := &clock{t0}
	v := secretscanning.NewVerifier(redirect.URL, c.Now)
	if err := v.Verify(context.Background(), k.ID, k.Sign(t, body), body); !errors.Is(err, secretscanning.ErrKeysUnavailable) {
		t.Errorf("keys behind a redirect: Verify = %v; want ErrKeysUnavailable", err)
	}
	if got := keys.Hits(); got != 0 {
		t.Errorf("the redirect was followed: %d fetches of the keys", got)
	}

	v = secretscanning.NewVerifier(keys.URL, c.Now)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Verify(gone, k.ID, k.Sign(t, body), body); err != nil {
		t.Errorf("a caller that gave up: Verify = %v; want the keys fetched all the same", err)
	}
	if err := v.Verify(context.Background(), k.ID, k.Sign(t, body), body); err != nil {
		t.Errorf("the next report: Verify = %v", err)
	}
}

// TestKeysTimeout: keys that do not come within Timeout are unavailable;
// the report is refused then, not held.
func TestKeysTimeout(t *testing.T) {
	k := githubtest.NewKey(t)
	c := &clock{t0}
	v := secretscanning.NewVerifier(githubtest.Hang(t), c.Now)
	v.Timeout = 100 * time.Millisecond
	body := []byte(`[]`)
	start := time.Now()
	if err := v.Verify(context.Background(), k.ID, k.Sign(t, body), body); !errors.Is(err, secretscanning.ErrKeysUnavailable) {
		t.Errorf("keys that hang: Verify = %v; want ErrKeysUnavailable", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Verify took %s; want about its timeout, %s", took, v.Timeout)
	}
}
