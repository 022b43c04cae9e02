// Package sites serves what an API token may read of sites: a site token
// reads its one site, and nothing of any other.
package sites

import (
	"context"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/tokensmith/tokensmith"
)

// CacheTTL is how long a site read from the table is served from memory at
// most: the same bound as a revocation with the authorizer cache on, so a
// change to a site (by tokenctl) is seen within it.
const CacheTTL = 30 * time.Second

// CacheSize is how many sites an instance keeps in memory at most; the
// least recently read goes first.
const CacheSize = 1024

// Store is the part of the store the service reads.
type Store interface {
	Site(ctx context.Context, id string) (tokensmith.Site, error)
}

var _ tokensmith.SiteService = (*Service)(nil)

// Service reads sites for API tokens, through a per-instance cache of the
// site records. Who may read which site comes from the principal on every
// call, never from the cache.
type Service struct {
	Store Store
	Now   func() time.Time

	cache *lru.Cache[string, cachedSite]
}

type cachedSite struct {
	site    tokensmith.Site
	expires time.Time
}

// New returns a Service on st, on the clock now, caching at most size sites
// for CacheTTL each.
func New(st Store, now func() time.Time, size int) (*Service, error) {
	c, err := lru.New[string, cachedSite](size)
	if err != nil {
		return nil, fmt.Errorf("sites: cache of %d: %w", size, err)
	}
	return &Service{Store: st, Now: now, cache: c}, nil
}

// List returns the sites p is granted.
func (s *Service) List(ctx context.Context, p tokensmith.Caller) ([]tokensmith.Site, error) {
	if p.SiteID == "" {
		return []tokensmith.Site{}, nil
	}
	site, err := s.Get(ctx, p, p.SiteID)
	if err != nil {
		return nil, err
	}
	return []tokensmith.Site{site}, nil
}

// Get returns one site p is granted; any other is not found, whether or not
// it exists, and whether or not it is cached: the site must be p's site and
// belong to p's workspace.
func (s *Service) Get(ctx context.Context, p tokensmith.Caller, id string) (tokensmith.Site, error) {
	if p.SiteID == "" || id != p.SiteID {
		return tokensmith.Site{}, tokensmith.NotFound()
	}
	site, err := s.site(ctx, id)
	if err != nil {
		return tokensmith.Site{}, err
	}
	if site.WorkspaceID != p.WorkspaceID {
		return tokensmith.Site{}, tokensmith.NotFound()
	}
	return site, nil
}

// Forget drops every cached site, leaving the service as a new instance
// starts.
func (s *Service) Forget() { s.cache.Purge() }

// site reads a site from the cache while its entry is younger than
// CacheTTL, and from the table otherwise. A site that is not found is not
// cached.
func (s *Service) site(ctx context.Context, id string) (tokensmith.Site, error) {
	now := s.Now()
	if c, ok := s.cache.Get(id); ok && now.Before(c.expires) {
		return c.site, nil
	}
	site, err := s.Store.Site(ctx, id)
	if err != nil {
		return tokensmith.Site{}, err
	}
	s.cache.Add(id, cachedSite{site: site, expires: now.Add(CacheTTL)})
	return site, nil
}
