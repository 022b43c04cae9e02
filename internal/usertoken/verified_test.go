package usertoken

import (
	"context"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestVerifiedTokensRemembered: a token verified once is answered from
// memory (shown by swapping the cached key for a stranger's in place, which
// a fresh verification would refuse) only while its claims hold and for at
// most verifiedTTL; tokens that fail are not remembered.
func TestVerifiedTokensRemembered(t *testing.T) {
	k := newKey(t, "k-1", jose.ES256)
	iss := newTestIssuer(t, k)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	ctx := context.Background()
	long := k.sign(t, claims(iss.URL, start))
	short := k.sign(t, with(claims(iss.URL, start), "exp", start.Add(2*time.Minute).Unix()))
	for _, raw := range []string{long, short} {
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Fatalf("first Verify: %v", err)
		}
	}
	stranger := newKey(t, "k-1", jose.ES256)
	forged := stranger.sign(t, claims(iss.URL, start))
	if _, err := v.Verify(ctx, forged); !errors.Is(err, ErrInvalid) {
		t.Fatalf("forged: Verify err = %v; want ErrInvalid", err)
	}
	if got := v.verified.len(); got != 2 {
		t.Fatalf("remembered %d tokens; want 2 (the forged one not)", got)
	}
	v.keys.current().keys[0].Key = stranger.priv.Public()

	steps := []struct {
		name    string
		advance time.Duration
		raw     string
		err     error
	}{
		{"remembered, its key swapped", time.Minute, long, nil},
		{"remembered, before its exp", 0, short, nil},
		{"past its exp and the leeway", 2*time.Minute + time.Second, short, ErrInvalid},
		{"within verifiedTTL", verifiedTTL - 4*time.Minute, long, nil},
		{"past verifiedTTL: verified anew", time.Minute, long, ErrInvalid},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		_, err := v.Verify(ctx, s.raw)
		if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Errorf("%s: Verify err = %v; want %v", s.name, err, s.err)
		}
	}
}

// TestVerifiedTokensBounded: the memory never holds more than maxVerified
// tokens; entries whose window closed go first, then an eighth of the rest.
func TestVerifiedTokensBounded(t *testing.T) {
	m := newVerifiedTokens()
	keys := &fetchedKeys{at: start, thumbprint: []string{"k"}}
	sum := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	for i := range maxVerified {
		until := start.Add(time.Hour)
		if i == 7 {
			until = start.Add(time.Second)
		}
		m.put(sum(i), verifiedToken{claims: Claims{Subject: fmt.Sprint(i)}, from: start, until: until, key: "k"}, start)
	}
	now := start.Add(time.Minute)
	m.put(sum(-1), verifiedToken{claims: Claims{Subject: "new"}, from: start, until: now.Add(time.Hour), key: "k"}, now)
	if got := m.len(); got != maxVerified {
		t.Errorf("len = %d; want %d (the expired entry made room)", got, maxVerified)
	}
	if _, ok := m.get(sum(7), now, keys); ok {
		t.Error("the expired entry is still there")
	}
	if c, ok := m.get(sum(-1), now, keys); !ok || c.Subject != "new" {
		t.Errorf("new entry = %+v, %v", c, ok)
	}
	for i := range 10 {
		m.put(sum(maxVerified+i), verifiedToken{from: start, until: now.Add(time.Hour), key: "k"}, now)
	}
	if got := m.len(); got > maxVerified || got < maxVerified-maxVerified/8 {
		t.Errorf("len after evictions = %d; want between %d and %d", got, maxVerified-maxVerified/8, maxVerified)
	}
}

// TestVerifiedTokensOneEntryPerToken: spellings of one token that verify
// (stray bits in a segment's last character, the other form of an ES256
// signature) never make more than one entry.
func TestVerifiedTokensOneEntryPerToken(t *testing.T) {
	k := newKey(t, "k-1", jose.ES256)
	iss := newTestIssuer(t, k)
	v := newTestVerifier(t, iss.URL, audience, &clock{t: start})
	ctx := context.Background()
	raw := k.sign(t, claims(iss.URL, start))
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(elliptic.P256().Params().N, s).FillBytes(sig[32:])
	otherForm := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	var variants []string
	for i := range parts {
		seg := parts[i]
		if len(seg)%4 == 0 {
			continue // no stray bits to set
		}
		last := strings.IndexByte(alphabet, seg[len(seg)-1])
		stray := seg[:len(seg)-1] + string(alphabet[last|1])
		p := append([]string(nil), parts...)
		p[i] = stray
		variants = append(variants, strings.Join(p, "."))
	}
	for _, r := range append(variants, otherForm) {
		if r == raw {
			continue
		}
		if _, err := v.Verify(ctx, r); err != nil && r == otherForm {
			t.Errorf("the other form of the signature: %v", err)
		}
	}
	if got := v.verified.len(); got != 1 {
		t.Errorf("%d entries for one token; want 1", got)
	}
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestVerifiedTokensOutliveARefetch: a refetch of the same keys (which a
// token with an unknown key id causes once a minute) keeps remembered
// tokens; a rotation that withdraws their key ends them.
func TestVerifiedTokensOutliveARefetch(t *testing.T) {
	k := newKey(t, "k-1", jose.ES256)
	iss := newTestIssuer(t, k)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	ctx := context.Background()
	raw := k.sign(t, claims(iss.URL, start))
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	clk.Add(refreshInterval + time.Second)
	junk := newKey(t, "unknown", jose.ES256)
	if _, err := v.Verify(ctx, junk.sign(t, claims(iss.URL, start))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown key id: %v; want ErrInvalid", err)
	}
	if _, j := iss.fetches(); j != 2 {
		t.Fatalf("JWKS fetches = %d; want 2 (the unknown key id refetched)", j)
	}
	// Swapped in place, the key would refuse the token if it were verified
	// again: accepted means remembered.
	v.keys.current().keys[0].Key = junk.priv.Public()
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Errorf("after a refetch of the same keys: %v; want remembered", err)
	}

	rotated := newKey(t, "k-2", jose.ES256)
	iss.set(func(iss *testIssuer) { iss.keys = []key{rotated} })
	clk.Add(refreshInterval + time.Second)
	if _, err := v.Verify(ctx, rotated.sign(t, claims(iss.URL, clk.Now()))); err != nil {
		t.Fatalf("the rotated key: %v", err)
	}
	if _, err := v.Verify(ctx, raw); !errors.Is(err, ErrInvalid) {
		t.Errorf("a token of the withdrawn key: %v; want ErrInvalid", err)
	}
}
