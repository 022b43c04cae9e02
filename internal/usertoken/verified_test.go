package usertoken

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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
// tokens, and entries whose window closed go first.
func TestVerifiedTokensBounded(t *testing.T) {
	m := newVerifiedTokens()
	keys := &fetchedKeys{at: start}
	sum := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	for i := range maxVerified {
		until := start.Add(time.Hour)
		if i == 7 {
			until = start.Add(time.Second)
		}
		m.put(sum(i), verifiedToken{claims: Claims{Subject: fmt.Sprint(i)}, from: start, until: until, keys: keys}, start)
	}
	now := start.Add(time.Minute)
	m.put(sum(-1), verifiedToken{claims: Claims{Subject: "new"}, from: start, until: now.Add(time.Hour), keys: keys}, now)
	if got := m.len(); got != maxVerified {
		t.Errorf("len = %d; want %d", got, maxVerified)
	}
	if _, ok := m.get(sum(7), now, keys); ok {
		t.Error("the expired entry is still there")
	}
	if c, ok := m.get(sum(-1), now, keys); !ok || c.Subject != "new" {
		t.Errorf("new entry = %+v, %v", c, ok)
	}
	for i := range 10 {
		m.put(sum(maxVerified+i), verifiedToken{from: start, until: now.Add(time.Hour), keys: keys}, now)
	}
	if got := m.len(); got != maxVerified {
		t.Errorf("len after evictions = %d; want %d", got, maxVerified)
	}
}
