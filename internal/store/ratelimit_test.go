package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// TestCountRequestConcurrent: many clients counting one token's requests at
// once against DynamoDB Local get at most limit counts through in a window
// (exactly limit unless an attempt timed out and was retried), the rest
// ErrLimitReached, and the count stops at the limit; another token, and the next window, count from
// zero; the counter carries a TTL past its window.
func TestCountRequestConcurrent(t *testing.T) {
	db, table := dynamotest.NewTable(t)
	s := store.New(db, table)
	ctx := context.Background()
	start := t0.Truncate(time.Minute)
	end := start.Add(time.Minute)
	const limit, clients, each = 25, 12, 5
	var mu sync.Mutex
	var allowed, refused, failed int
	counts := map[int64]bool{}
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n, err := s.CountRequest(ctx, "tok-a", start, end, limit)
				mu.Lock()
				switch {
				case errors.Is(err, store.ErrLimitReached):
					refused++
				case err != nil:
					// DynamoDB Local too slow on a loaded machine: the
					// caller fails closed.
					failed++
				default:
					allowed++
					if counts[n] {
						t.Errorf("count %d returned twice", n)
					}
					counts[n] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Never more than the limit. The SDK retries a write whose answer was
	// lost (an attempt timing out on a loaded machine), which may count a
	// request twice: fewer pass then, never more.
	if allowed > limit || allowed+refused+failed != clients*each || allowed == 0 {
		t.Errorf("allowed %d, refused %d, failed %d; want at most %d allowed and the rest refused", allowed, refused, failed, limit)
	}
	if n, err := s.RequestCount(ctx, "tok-a", start); err != nil || n > limit || (failed == 0 && n != limit) {
		t.Errorf("RequestCount = %d, %v; want %d", n, err, limit)
	}
	if n, err := s.CountRequest(ctx, "tok-b", start, end, limit); err != nil || n != 1 {
		t.Errorf("another token's first count = %d, %v; want 1", n, err)
	}
	if n, err := s.CountRequest(ctx, "tok-a", end, end.Add(time.Minute), limit); err != nil || n != 1 {
		t.Errorf("next window's first count = %d, %v; want 1", n, err)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 3 {
		t.Fatalf("%d counter items; want 3 (two tokens' windows and one next window)", len(out.Items))
	}
	for _, it := range out.Items {
		if _, ok := it[store.AttrExpiresAt]; !ok {
			t.Errorf("counter %v has no TTL attribute", it[store.AttrPK])
		}
	}
}

// TestSitePlanReachesSecrets: a site's plan change writes the resulting
// limit on every secret of its tokens (one in its grace period too) and
// moves the site's version, so that a token created from the site as read
// before loses.
func TestSitePlanReachesSecrets(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	tok := newToken("0000000b0000000000000001", site, "tss_first")
	if err := s.CreateToken(ctx, 0, "", site.TokenRateLimit(), tok, event(ws, "token_created"), nil, t0); err != nil {
		t.Fatal(err)
	}
	grace := t0.Add(time.Hour)
	if _, err := s.RegenerateToken(ctx, tok, readSite(t, s, site.ID), token.Hash("tss_second"), "x", nil, &grace, event(ws, "token_regenerated")); err != nil {
		t.Fatal(err)
	}
	limits := func() []int64 {
		var out []int64
		for _, sec := range []string{"tss_first", "tss_second"} {
			got, err := s.Secret(ctx, token.Hash(sec))
			if err != nil {
				t.Fatalf("Secret(%s) = %v", sec, err)
			}
			out = append(out, got.TokenRateLimit())
		}
		return out
	}
	if got := limits(); got[0] != 120 || got[1] != 120 {
		t.Errorf("limits on cms = %v; want 120, 120", got)
	}
	read := readSite(t, s, site.ID)
	if err := s.SetSitePlan(ctx, read, tokensmith.SitePlanEnterprise, 900, nil); err != nil {
		t.Fatal(err)
	}
	if got := limits(); got[0] != 900 || got[1] != 900 {
		t.Errorf("limits on enterprise 900 = %v; want 900, 900", got)
	}
	if now := readSite(t, s, site.ID); now.Plan != tokensmith.SitePlanEnterprise || now.TokenRateLimit() != 900 {
		t.Errorf("site = %+v; want enterprise, 900", now)
	}
	late := newToken("0000000b0000000000000002", site, "tss_late")
	if err := s.CreateToken(ctx, read.TokenVersion, "", read.TokenRateLimit(), late, event(ws, "token_created"), nil, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateToken from the site as read before the plan change = %v; want ErrConflict", err)
	}
	current, err := s.Token(ctx, tokensmith.Owner{Kind: token.KindSite, ID: site.ID}, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegenerateToken(ctx, current, read, token.Hash("tss_stale"), "x", nil, nil, event(ws, "token_regenerated")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("RegenerateToken from the site as read before the plan change = %v; want ErrConflict", err)
	}
	if err := s.SetSitePlan(ctx, read, tokensmith.SitePlanStarter, 0, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetSitePlan from a stale site = %v; want ErrConflict", err)
	}
	if err := s.SetSitePlan(ctx, readSite(t, s, site.ID), tokensmith.SitePlanStarter, 0, nil); err != nil {
		t.Fatal(err)
	}
	if got := limits(); got[0] != 60 || got[1] != 60 {
		t.Errorf("limits on starter = %v; want 60, 60", got)
	}
}

// TestUncountRequest: a count taken back lowers the window's count by one,
// never below zero, and a window never counted gets no item.
func TestUncountRequest(t *testing.T) {
	db, table := dynamotest.NewTable(t)
	s := store.New(db, table)
	ctx := context.Background()
	start := t0.Truncate(time.Minute)
	end := start.Add(time.Minute)
	for range 2 {
		if _, err := s.CountRequest(ctx, "tok", start, end, 10); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []int64{1, 0, 0} {
		if err := s.UncountRequest(ctx, "tok", start); err != nil {
			t.Fatalf("UncountRequest %d: %v", i+1, err)
		}
		if n, err := s.RequestCount(ctx, "tok", start); err != nil || n != want {
			t.Errorf("count after %d uncounts = %d, %v; want %d", i+1, n, err, want)
		}
	}
	if err := s.UncountRequest(ctx, "tok", end); err != nil {
		t.Fatal(err)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil || len(out.Items) != 1 {
		t.Errorf("%d items, %v; want 1 (no counter for a window never counted)", len(out.Items), err)
	}
}
