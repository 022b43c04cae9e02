package audit

import (
	"context"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apperr"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/store"
)

// Service serves a workspace's audit log to its workspace tokens.
type Service struct {
	Store *store.Store
}

// New returns a Service on st.
func New(st *store.Store) *Service { return &Service{Store: st} }

// List returns a page of the audit log of the workspace idOrSlug, which must
// be the workspace p's token belongs to (any other is not found, whether or
// not it exists) and on the enterprise plan.
func (s *Service) List(ctx context.Context, p principal.Principal, idOrSlug string, q store.AuditQuery) (store.AuditPage, error) {
	ws, err := s.Store.Workspace(ctx, idOrSlug)
	if err != nil {
		return store.AuditPage{}, err
	}
	if p.Kind != principal.Workspace || p.WorkspaceID != ws.ID {
		return store.AuditPage{}, apperr.NotFoundError()
	}
	if ws.Plan != tokensmith.PlanEnterprise {
		return store.AuditPage{}, apperr.New(apperr.NotEnterprise, "Audit logs are only available on enterprise workspaces")
	}
	return s.Store.AuditEvents(ctx, ws.ID, q)
}
