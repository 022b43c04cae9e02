// Package sites serves what an API token may read of sites: a site token
// reads its one site, and nothing of any other.
package sites

import (
	"context"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apperr"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/store"
)

// Service reads sites for API tokens.
type Service struct {
	Store *store.Store
}

// New returns a Service on st.
func New(st *store.Store) *Service { return &Service{Store: st} }

// List returns the sites p is granted.
func (s *Service) List(ctx context.Context, p principal.Principal) ([]tokensmith.Site, error) {
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
// it exists.
func (s *Service) Get(ctx context.Context, p principal.Principal, id string) (tokensmith.Site, error) {
	if p.SiteID == "" || id != p.SiteID {
		return tokensmith.Site{}, apperr.NotFoundError()
	}
	return s.Store.Site(ctx, id)
}
