package authorizer_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// overlapDB meets each GetItem with an UpdateItem, each waiting up to a
// second for the other, and notes whether they met: whether the read of a
// secret ran beside the write of its count.
type overlapDB struct {
	store.DB
	updating  chan struct{}
	overlaps  int
	sequenced int
}

func (o *overlapDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	select {
	case <-o.updating:
		o.overlaps++
	case <-time.After(time.Second):
		o.sequenced++
	}
	return o.DB.GetItem(ctx, in, optFns...)
}

func (o *overlapDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	select {
	case o.updating <- struct{}{}:
	case <-time.After(time.Second):
	}
	return o.DB.UpdateItem(ctx, in, optFns...)
}

// counting is an authorizer that counts requests, on tb's table through
// db, on the clock now.
func counting(tb *table, db store.DB, now func() time.Time) *authorizer.Authorizer {
	st := store.New(db, tb.name)
	return &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: st, Now: now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Limiter: &ratelimit.Limiter{Counter: st}}
}

// TestCountsBesideTheRead: a secret read valid for the first time is read,
// then its request counted; from then on its read and its count run side
// by side (one round trip). Either way the context carries the decision,
// naming the request it was made for, and the count is exact.
func TestCountsBesideTheRead(t *testing.T) {
	tb := newTable(t)
	secret := tb.mint(t, "0000000b0000000000000001", 0, seeded(1), nil)
	odb := &overlapDB{DB: tb.db, updating: make(chan struct{})}
	now := time.Now()
	a := counting(tb, odb, func() time.Time { return now })
	ctx := context.Background()
	start := now.Truncate(ratelimit.Window)
	for i, id := range []string{"req-1", "req-2", "req-3"} {
		tb.db.Reset()
		req := request("/v2/sites", "/v2/sites", secret)
		req.RequestContext.RequestID, req.RequestContext.Identity.SourceIP = id, "203.0.113.7"
		resp, err := a.Handle(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		d, ok := ratelimit.FromContext(resp.Context, id)
		if !ok || !d.Allowed || d.Limit != 120 || d.Remaining != int64(120-i-1) {
			t.Errorf("%s: decision in the context = %+v, %v; want allowed, %d remaining", id, d, ok, 120-i-1)
		}
		if r, w := tb.db.Reads.Load(), tb.db.Writes.Load(); r != 1 || w != 1 {
			t.Errorf("%s: %d reads, %d writes; want 1 and 1", id, r, w)
		}
	}
	if n, err := tb.st.RequestCount(ctx, "0000000b0000000000000001", start); err != nil || n != 3 {
		t.Errorf("count = %d, %v; want 3", n, err)
	}
	if odb.overlaps != 2 || odb.sequenced != 1 {
		t.Errorf("reads beside a write %d, before one %d; want 2 and 1 (the first read comes before its count)", odb.overlaps, odb.sequenced)
	}
}

// TestUnknownTokensCostNoWrite: a flood of well-formed tokens that name no
// token (a valid checksum is free to compute) costs one read each, and no
// write: the same string again and again, and new strings each time.
func TestUnknownTokensCostNoWrite(t *testing.T) {
	tb := newTable(t)
	tb.db.Reset()
	a := counting(tb, tb.db, time.Now)
	ctx := context.Background()
	same, err := token.Generate(token.KindSite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range 2 * n {
		cred := same
		if i >= n {
			cred, _ = token.Generate(token.KindSite, rand.Reader)
		}
		req := request("/v2/sites", "/v2/sites", cred)
		req.RequestContext.RequestID = "req"
		if _, err := a.Handle(ctx, req); !errors.Is(err, authorizer.ErrUnauthorized) {
			t.Fatalf("unknown token: %v; want ErrUnauthorized", err)
		}
	}
	if r, w := tb.db.Reads.Load(), tb.db.Writes.Load(); r != 2*n || w != 0 {
		t.Errorf("%d unknown tokens: %d reads, %d writes; want %d reads, no write", 2*n, r, w, 2*n)
	}
}

// TestRefusedRequestsKeepNoCount: a request refused by its secret's read
// (gone, expired) or by its IP allowlist keeps no count: the count made
// beside the read is taken back, or never made; the secret is then
// forgotten, and its next request is read before any write.
func TestRefusedRequestsKeepNoCount(t *testing.T) {
	const id = "0000000b0000000000000001"
	tests := []struct {
		name string
		// change happens after the first request; it returns the time and
		// source address of the next two.
		change func(tb *table, secret string) (time.Time, string)
		// writes are the writes of the refused request, which the count
		// beside the read makes and takes back.
		writes int64
	}{
		{"secret gone", func(tb *table, secret string) (time.Time, string) {
			if _, err := tb.db.DB.(interface {
				DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
			}).DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(tb.name), Key: store.SecretKey(token.Hash(secret))}); err != nil {
				panic(err)
			}
			return tb.now, "203.0.113.7"
		}, 2},
		{"address outside the allowlist", func(*table, string) (time.Time, string) { return time.Time{}, "198.51.100.7" }, 0},
		{"expired since", func(tb *table, _ string) (time.Time, string) {
			return tb.now.Add(token.Inactivity + time.Minute), "203.0.113.7"
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTable(t)
			secret := tb.mint(t, id, 0, seeded(1), []string{"203.0.113.0/24"})
			now := tb.now
			a := counting(tb, tb.db, func() time.Time { return now })
			ctx := context.Background()
			req := request("/v2/sites", "/v2/sites", secret)
			req.RequestContext.RequestID, req.RequestContext.Identity.SourceIP = "req-1", "203.0.113.7"
			if _, err := a.Handle(ctx, req); err != nil {
				t.Fatal(err)
			}
			at, ip := tc.change(tb, secret)
			if !at.IsZero() {
				now = at
			}
			for i, writes := range []int64{tc.writes, 0} {
				tb.db.Reset()
				req.RequestContext.RequestID, req.RequestContext.Identity.SourceIP = "req-2", ip
				if _, err := a.Handle(ctx, req); !errors.Is(err, authorizer.ErrUnauthorized) {
					t.Fatalf("request %d after the change: %v; want ErrUnauthorized", i+2, err)
				}
				if r, w := tb.db.Reads.Load(), tb.db.Writes.Load(); r != 1 || w != writes {
					t.Errorf("request %d after the change: %d reads, %d writes; want 1 and %d", i+2, r, w, writes)
				}
			}
			for _, start := range []time.Time{tb.now.Truncate(ratelimit.Window), now.Truncate(ratelimit.Window)} {
				want := int64(0)
				if start.Equal(tb.now.Truncate(ratelimit.Window)) {
					want = 1
				}
				if n, err := tb.st.RequestCount(ctx, id, start); err != nil || n != want {
					t.Errorf("count of the window at %v = %d, %v; want %d (the first request only)", start, n, err, want)
				}
			}
		})
	}
}

// failingCounter is a counter that cannot be written.
type failingCounter struct{ err error }

func (f failingCounter) CountRequest(context.Context, string, time.Time, time.Time, int64) (int64, error) {
	return 0, f.err
}
func (f failingCounter) UncountRequest(context.Context, string, time.Time) error { return f.err }

// TestCountLeftToTheFunction: a request without a request id to name, or
// whose count fails, is allowed with no decision in its context: the
// function counts it, and fails closed if it cannot.
func TestCountLeftToTheFunction(t *testing.T) {
	secret, _ := token.Generate(token.KindSite, seeded(3))
	sec := tokensmith.Secret{Hash: token.Hash(secret), TokenID: "0000000b0000000000000001", Kind: token.KindSite, SiteID: "s", WorkspaceID: "w",
		Scope: "sites:read", ExpiresOn: time.Now().Add(time.Hour)}
	tests := []struct {
		name, requestID string
		counter         ratelimit.Counter
	}{
		{"no request id", "", failingCounter{errors.New("never called")}},
		{"counter down", "req-1", failingCounter{errors.New("table unavailable")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(sec), Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
				Limiter: &ratelimit.Limiter{Counter: tc.counter}}
			for i := range 2 { // read first, then beside the read
				req := request("/v2/sites", "/v2/sites", secret)
				req.RequestContext.RequestID = tc.requestID
				resp, err := a.Handle(context.Background(), req)
				if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
					t.Fatalf("request %d: %+v, %v; want an allow", i+1, resp, err)
				}
				if _, ok := resp.Context["countFor"]; ok {
					t.Errorf("request %d: context carries a decision: %v", i+1, resp.Context)
				}
			}
		})
	}
}
