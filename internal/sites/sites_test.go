package sites_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/sites"
)

// countingStore holds sites in memory, as the table would, and counts the
// reads: the service's cache and tenant check are pure logic.
type countingStore struct {
	mu    sync.Mutex
	sites map[string]tokensmith.Site
	reads atomic.Int64
}

func (c *countingStore) Site(_ context.Context, id string) (tokensmith.Site, error) {
	c.reads.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sites[id]
	if !ok {
		return tokensmith.Site{}, tokensmith.NotFound()
	}
	return s, nil
}

// clock is a test's movable time.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

type fixture struct {
	svc   *sites.Service
	reads *countingStore
	clock *clock
	sites []tokensmith.Site // in two workspaces: 0 and 1 in ws1, 2 in ws2
}

func newFixture(t *testing.T, size int) *fixture {
	t.Helper()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	fx := &fixture{reads: &countingStore{sites: map[string]tokensmith.Site{}}, clock: &clock{now: now}}
	for i, ws := range []string{"0000000a0000000000000001", "0000000a0000000000000001", "0000000a0000000000000009"} {
		s := tokensmith.Site{ID: "0000000b000000000000000" + string(rune('1'+i)), WorkspaceID: ws, DisplayName: "Site", ShortName: "site",
			TimeZone: "UTC", CreatedOn: now, LastUpdated: now}
		fx.reads.sites[s.ID] = s
		fx.sites = append(fx.sites, s)
	}
	svc, err := sites.New(fx.reads, fx.clock.Now, size)
	if err != nil {
		t.Fatal(err)
	}
	fx.svc = svc
	return fx
}

// token is the caller of a site token of s.
func token(s tokensmith.Site) tokensmith.Caller {
	return tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t-" + s.ID, SiteID: s.ID, WorkspaceID: s.WorkspaceID, Scope: "sites:read"}
}

// rename changes a site's display name behind the service's back, as an
// operator's change does.
func (fx *fixture) rename(t *testing.T, id, name string) {
	t.Helper()
	fx.reads.mu.Lock()
	defer fx.reads.mu.Unlock()
	s := fx.reads.sites[id]
	s.DisplayName = name
	fx.reads.sites[id] = s
}

func TestCacheExpiry(t *testing.T) {
	tests := []struct {
		name      string
		after     time.Duration
		wantReads int64
		wantName  string
	}{
		{"hit at once", 0, 1, "Site"},
		{"hit within 30 s", sites.CacheTTL - time.Millisecond, 1, "Site"},
		{"miss at 30 s", sites.CacheTTL, 2, "Renamed"},
		{"miss after 30 s", time.Hour, 2, "Renamed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, sites.CacheSize)
			s := fx.sites[0]
			if _, err := fx.svc.Get(t.Context(), token(s), s.ID); err != nil {
				t.Fatal(err)
			}
			fx.rename(t, s.ID, "Renamed")
			fx.clock.now = fx.clock.now.Add(tc.after)
			got, err := fx.svc.Get(t.Context(), token(s), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.DisplayName != tc.wantName || fx.reads.reads.Load() != tc.wantReads {
				t.Errorf("after %s: Get = %q with %d reads; want %q with %d", tc.after, got.DisplayName, fx.reads.reads.Load(), tc.wantName, tc.wantReads)
			}
		})
	}
}

func TestCacheIsBounded(t *testing.T) {
	fx := newFixture(t, 1)
	a, b := fx.sites[0], fx.sites[1]
	for _, s := range []tokensmith.Site{a, b, a} {
		if _, err := fx.svc.Get(t.Context(), token(s), s.ID); err != nil {
			t.Fatal(err)
		}
	}
	// One entry: reading b evicted a, so a is read again.
	if got := fx.reads.reads.Load(); got != 3 {
		t.Errorf("reads for a, b, a with room for one site = %d; want 3", got)
	}
	if _, err := fx.svc.Get(t.Context(), token(a), a.ID); err != nil {
		t.Fatal(err)
	}
	if got := fx.reads.reads.Load(); got != 3 {
		t.Errorf("reads after a again = %d; want 3 (a is cached)", got)
	}
}

func TestTenantCheckEvenWhenCached(t *testing.T) {
	fx := newFixture(t, sites.CacheSize)
	mine, sameWorkspace, otherWorkspace := fx.sites[0], fx.sites[1], fx.sites[2]
	for _, s := range fx.sites {
		if _, err := fx.svc.Get(t.Context(), token(s), s.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Every site is cached now; whoever asks is still checked.
	forged := token(otherWorkspace)
	forged.WorkspaceID = mine.WorkspaceID
	tests := []struct {
		name string
		p    tokensmith.Caller
		id   string
	}{
		{"site of another workspace", token(mine), otherWorkspace.ID},
		{"another site of the same workspace", token(mine), sameWorkspace.ID},
		{"own site id, principal of another workspace", forged, otherWorkspace.ID},
		{"workspace token", tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "w", WorkspaceID: mine.WorkspaceID}, mine.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fx.svc.Get(t.Context(), tc.p, tc.id)
			if tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
				t.Errorf("Get(%s) = %v; want not found", tc.id, err)
			}
		})
	}
	if got, err := fx.svc.List(t.Context(), forged); err == nil {
		t.Errorf("List for a principal whose site is of another workspace = %v; want not found", got)
	}
}
