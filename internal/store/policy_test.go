package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// TestLifetimePolicyHoldsAtCommit: a workspace's maximum token lifetime,
// once stored, refuses (ErrConflict) the write of a secret that outlives
// it, created or regenerated, even by a caller that read the workspace
// before the policy was set; one within it is written; a policy set from a
// stale read of the workspace loses.
func TestLifetimePolicyHoldsAtCommit(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	if err := s.SetTokenLifetimePolicy(ctx, ws, 30, event(ws, audit.SubSettingUpdated)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTokenLifetimePolicy(ctx, ws, 7, event(ws, audit.SubSettingUpdated)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetTokenLifetimePolicy from a stale read = %v; want ErrConflict", err)
	}
	if got, err := s.Workspace(ctx, ws.ID); err != nil || got.MaxTokenLifetimeDays != 30 {
		t.Fatalf("Workspace = %+v, %v; want a policy of 30 days", got, err)
	}
	ends := func(tok tokensmith.Token, days int) tokensmith.Token {
		at := tok.CreatedOn.Add(time.Duration(days) * 24 * time.Hour)
		tok.ExpiresAt, tok.ExpiresOn = &at, tokensmith.EarlierEnd(tok.InactiveUntil(), &at)
		return tok
	}
	forever := newToken("0000000b0000000000000001", site, "tss_forever")
	if err := s.CreateToken(ctx, 0, "", 0, forever, event(ws, audit.SubTokenCreated), nil, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateToken without a fixed end under the policy = %v; want ErrConflict", err)
	}
	if err := s.CreateToken(ctx, 0, "", 0, ends(forever, 31), event(ws, audit.SubTokenCreated), nil, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateToken of 31 days under a 30-day policy = %v; want ErrConflict", err)
	}
	month := ends(newToken("0000000b0000000000000002", site, "tss_month"), 30)
	if err := s.CreateToken(ctx, 0, "", 0, month, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatalf("CreateToken of 30 days under a 30-day policy = %v", err)
	}
	rec, err := s.Token(ctx, month.Owner(), month.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegenerateToken(ctx, rec, readSite(t, s, site.ID), token.Hash("tss_next"), "x", nil, nil, event(ws, audit.SubTokenRegenerated)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RegenerateToken without a fixed end under the policy = %v; want ErrConflict", err)
	}
	at := t0.Add(30 * 24 * time.Hour)
	regen, err := s.RegenerateToken(ctx, rec, readSite(t, s, site.ID), token.Hash("tss_next"), "x", &at, nil, event(ws, audit.SubTokenRegenerated))
	if err != nil || regen.ExpiresAt == nil || !regen.ExpiresAt.Equal(at) || !regen.ExpiresOn.Equal(at) {
		t.Fatalf("RegenerateToken within the policy = %+v, %v", regen, err)
	}
	if sec, err := s.Secret(ctx, token.Hash("tss_next")); err != nil || sec.ExpiresAt == nil || !sec.ExpiresAt.Equal(at) || sec.Active(at) || !sec.Active(at.Add(-time.Second)) {
		t.Errorf("the new secret = %+v, %v; want it to end at %v", sec, err, at)
	}
}
