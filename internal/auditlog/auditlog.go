// Package auditlog serves a workspace's audit log to its workspace tokens.
package auditlog

import (
	"context"
	"errors"

	"github.com/tokensmith/tokensmith/internal/apperr"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Service reads audit logs.
type Service struct {
	Store *store.Store
}

// List returns a page of the audit log of the workspace idOrSlug, which must
// be the workspace p's token belongs to (any other is not found, whether or
// not it exists) and on the enterprise plan.
func (s *Service) List(ctx context.Context, p principal.Principal, idOrSlug string, q store.AuditQuery) (store.AuditPage, error) {
	ws, err := s.workspace(ctx, idOrSlug)
	if err != nil {
		return store.AuditPage{}, err
	}
	if p.Kind != principal.Workspace || p.WorkspaceID != ws.ID {
		return store.AuditPage{}, apperr.NotFoundError()
	}
	if ws.Plan != store.PlanEnterprise {
		return store.AuditPage{}, apperr.New(apperr.NotEnterprise, "Audit logs are only available on enterprise workspaces")
	}
	return s.Store.AuditEvents(ctx, ws.ID, q)
}

func (s *Service) workspace(ctx context.Context, idOrSlug string) (store.Workspace, error) {
	var ws store.Workspace
	var err error
	if token.ValidID(idOrSlug) {
		ws, err = s.Store.Workspace(ctx, idOrSlug)
	} else {
		ws, err = s.Store.WorkspaceBySlug(ctx, idOrSlug)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Workspace{}, apperr.NotFoundError()
	}
	return ws, err
}
