package operator

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// MaxRevokePasses bounds the passes of a revoke-all over its tokens: each
// pass lists them again, so that a token created while the previous pass
// ran is revoked too, and the command ends with a pass that finds none.
const MaxRevokePasses = 10

// ErrStillMinting means tokens kept being created while every pass of a
// revoke-all ran: some may be live.
var ErrStillMinting = errors.New("operator: tokens are still being created; revoke-all again")

// RevokeSiteTokens revokes every active token of a site, the kill switch for
// a site whose tokens leaked: each revocation is its own transaction with a
// token_revoked event whose actor is the operator. It returns how many it
// revoked; a second run revokes none. Each revoked secret is refused from
// the next decision on (within the authorizer cache TTL when that is on).
func (s *Service) RevokeSiteTokens(ctx context.Context, siteID string) (tokensmith.Site, int, error) {
	site, err := s.Store.Site(ctx, siteID)
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
		return tokensmith.Site{}, 0, tokensmith.Errorf(tokensmith.ENOTFOUND, "no site %q", siteID)
	}
	if err != nil {
		return tokensmith.Site{}, 0, err
	}
	ws, err := s.Store.Workspace(ctx, site.WorkspaceID)
	if err != nil {
		return tokensmith.Site{}, 0, err
	}
	n, err := s.revokeAll(ctx, ws, []tokensmith.Site{site}, false)
	return site, n, err
}

// RevokeWorkspaceTokens revokes every active token of a workspace, its own
// workspace tokens and the site tokens of every site in it, as
// RevokeSiteTokens does for one site.
func (s *Service) RevokeWorkspaceTokens(ctx context.Context, idOrSlug string) (tokensmith.Workspace, int, error) {
	ws, err := s.Workspace(ctx, idOrSlug)
	if err != nil {
		return tokensmith.Workspace{}, 0, err
	}
	sites, err := s.Store.Sites(ctx, ws.ID)
	if err != nil {
		return tokensmith.Workspace{}, 0, err
	}
	n, err := s.revokeAll(ctx, ws, sites, true)
	return ws, n, err
}

// revokeAll revokes the active tokens of sites, and of ws itself with
// withWorkspace, pass after pass until a pass finds none.
func (s *Service) revokeAll(ctx context.Context, ws tokensmith.Workspace, sites []tokensmith.Site, withWorkspace bool) (int, error) {
	type owned struct {
		owner tokensmith.Owner
		site  *tokensmith.Site
	}
	var owners []owned
	if withWorkspace {
		owners = append(owners, owned{owner: tokensmith.Owner{Kind: token.KindWorkspace, ID: ws.ID}})
	}
	for i := range sites {
		owners = append(owners, owned{owner: tokensmith.Owner{Kind: token.KindSite, ID: sites[i].ID}, site: &sites[i]})
	}
	total := 0
	for range MaxRevokePasses {
		n := 0
		for _, o := range owners {
			tokens, err := s.Store.Tokens(ctx, o.owner)
			if err != nil {
				return total + n, err
			}
			if o.site != nil {
				// The short-lived tokens its trusted workloads' exchanges
				// minted are the site's tokens too.
				minted, err := s.Store.SiteWorkloadTokens(ctx, o.site.ID)
				if err != nil {
					return total + n, err
				}
				tokens = append(tokens, minted...)
			}
			for _, t := range tokens {
				revoked, err := s.revoke(ctx, ws, o.site, t)
				if err != nil {
					return total + n, err
				}
				if revoked {
					n++
				}
			}
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
	return total, ErrStillMinting
}

// revoke revokes t, as listed, if it is active; when it changed since
// (a regenerate), it is read again. It reports whether it revoked it: a
// token gone or expired meanwhile is not revoked again.
func (s *Service) revoke(ctx context.Context, ws tokensmith.Workspace, site *tokensmith.Site, t tokensmith.Token) (bool, error) {
	revoked := false
	first := true
	err := store.Retry(ctx, func() error {
		if !first {
			var err error
			if t, err = s.Store.TokenAgain(ctx, t); tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
				return nil
			} else if err != nil {
				return err
			}
		}
		first = false
		if !t.Active(s.Now()) {
			return nil
		}
		o, err := s.origin(ws)
		if err != nil {
			return err
		}
		if err := s.Store.RevokeToken(ctx, t, audit.TokenRevoked(o, t, site)); err != nil {
			return err
		}
		revoked = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("revoke token %s: %w", t.ID, err)
	}
	if revoked {
		metrics.FromContext(ctx).Add(metrics.TokensRevoked, 1, metrics.ActorOperator)
	}
	return revoked, nil
}
