package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// exchangeN exchanges n tokens of w, each moving it to its next version,
// and returns w as it then is.
func exchangeN(t *testing.T, s *store.Store, ws tokensmith.Workspace, site tokensmith.Site, w tokensmith.Workload, n int) tokensmith.Workload {
	t.Helper()
	for i := range n {
		tok := newToken(fmt.Sprintf("0000000b%016x", w.Version+1), site, fmt.Sprintf("tss_%s%d", w.ID, w.Version))
		tok.WorkloadID, tok.ExpiresOn = w.ID, t0.Add(15*time.Minute)
		next := w
		next.Version++
		if err := s.Exchange(context.Background(), w, next, tok, 120, store.Use{Key: fmt.Sprintf("%s-%d", w.ID, i), Until: t0.Add(time.Hour)}, event(ws, "token_exchanged")); err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		w = next
	}
	return w
}

func TestWorkloadTokens(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	perms := scope.Permissions{"sites": scope.Read}
	w := tokensmith.Workload{ID: "0000000d0000000000000001", SiteID: site.ID, WorkspaceID: ws.ID, Name: "ci", Issuer: "https://i.example",
		Audience: "a", Subject: "s", Permissions: perms, Scope: "sites:read", TokenLifetime: 15 * time.Minute, CreatedOn: t0}
	if err := s.CreateWorkload(ctx, w, event(ws, "workload_created")); err != nil {
		t.Fatal(err)
	}
	// More tokens than one transaction deletes.
	w = exchangeN(t, s, ws, site, w, 25)
	live, err := s.WorkloadTokens(ctx, w, t0)
	if err != nil || len(live) != 25 {
		t.Fatalf("WorkloadTokens = %d, %v; want 25", len(live), err)
	}
	if after, _ := s.WorkloadTokens(ctx, w, t0.Add(15*time.Minute)); len(after) != 0 {
		t.Errorf("%d live tokens at their expiry; want none", len(after))
	}
	// The site's own tokens do not list them.
	if own, err := s.Tokens(ctx, tokensmith.Owner{Kind: token.KindSite, ID: site.ID}); err != nil || len(own) != 0 {
		t.Errorf("Tokens = %v, %v; want none", own, err)
	}
	// A token's secret finds its record, under its workload.
	sec, err := s.Secret(ctx, live[0].SecretHash)
	if err != nil || sec.WorkloadID != w.ID {
		t.Fatalf("Secret = %+v, %v", sec, err)
	}
	if rec, err := s.TokenOf(ctx, sec); err != nil || rec.ID != live[0].ID {
		t.Errorf("TokenOf = %+v, %v", rec, err)
	}
	// A workload token is exchanged once.
	stale := w
	stale.Version--
	next := w
	next.Version++
	tok := newToken("0000000c0000000000000001", site, "tss_again")
	tok.WorkloadID = w.ID
	if err := s.Exchange(ctx, w, next, tok, 120, store.Use{Key: w.ID + "-0", Until: t0.Add(time.Hour)}, event(ws, "token_exchanged")); !errors.Is(err, store.ErrUsed) {
		t.Errorf("a second exchange of one token = %v; want ErrUsed", err)
	}
	// An exchange or a delete that read an older version loses.
	if err := s.Exchange(ctx, stale, w, tok, 120, store.Use{Key: "fresh", Until: t0.Add(time.Hour)}, event(ws, "token_exchanged")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("an exchange at a stale version = %v; want ErrConflict", err)
	}
	if err := s.DeleteWorkload(ctx, stale, live, event(ws, "workload_deleted")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a delete at a stale version = %v; want ErrConflict", err)
	}
	if err := s.DeleteWorkload(ctx, w, live, event(ws, "workload_deleted")); err != nil {
		t.Fatal(err)
	}
	for _, tk := range live {
		if _, err := s.Secret(ctx, tk.SecretHash); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			t.Fatalf("secret of %s after the delete: %v; want not found", tk.ID, err)
		}
	}
	if _, err := s.Workload(ctx, site.ID, w.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("workload after the delete: %v", err)
	}
	// An exchange of the deleted workload finds nothing to move.
	if err := s.Exchange(ctx, w, next, tok, 120, store.Use{Key: "fresh", Until: t0.Add(time.Hour)}, event(ws, "token_exchanged")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("an exchange of a deleted workload = %v; want ErrConflict", err)
	}
}
