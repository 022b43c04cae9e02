// Package sites serves what an API token may read of sites: a site token
// reads its one site, and nothing of any other.
package sites

import (
	"context"
	"errors"

	"github.com/tokensmith/tokensmith/internal/apperr"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/store"
)

// Service reads sites for API tokens.
type Service struct {
	Store *store.Store
}

// List returns the sites p is granted.
func (s *Service) List(ctx context.Context, p principal.Principal) ([]store.Site, error) {
	if p.SiteID == "" {
		return []store.Site{}, nil
	}
	site, err := s.Get(ctx, p, p.SiteID)
	if err != nil {
		return nil, err
	}
	return []store.Site{site}, nil
}

// Get returns one site p is granted; any other is not found, whether or not
// it exists.
func (s *Service) Get(ctx context.Context, p principal.Principal, id string) (store.Site, error) {
	if p.SiteID == "" || id != p.SiteID {
		return store.Site{}, apperr.NotFoundError()
	}
	site, err := s.Store.Site(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Site{}, apperr.NotFoundError()
	}
	return site, err
}
