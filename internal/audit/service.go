package audit

import (
	"context"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
)

var _ tokensmith.AuditService = (*Service)(nil)

// Service serves a workspace's audit log to its workspace tokens and its
// admins.
type Service struct {
	Store *store.Store
}

// New returns a Service on st.
func New(st *store.Store) *Service { return &Service{Store: st} }

// List returns a page of the audit log of the workspace idOrSlug, which must
// be on the enterprise plan and be the workspace p's token belongs to, or
// one p administers. Any other is not found, whether or not it exists,
// except that a member who is not an admin is forbidden.
func (s *Service) List(ctx context.Context, p tokensmith.Caller, idOrSlug string, q tokensmith.AuditQuery) (tokensmith.AuditPage, error) {
	ws, err := s.Store.Workspace(ctx, idOrSlug)
	if err != nil {
		return tokensmith.AuditPage{}, err
	}
	switch p.Kind {
	case tokensmith.CallerWorkspace:
		if p.WorkspaceID != ws.ID {
			return tokensmith.AuditPage{}, tokensmith.NotFound()
		}
	case tokensmith.CallerPerson:
		if err := s.admin(ctx, p, ws); err != nil {
			return tokensmith.AuditPage{}, err
		}
	default:
		return tokensmith.AuditPage{}, tokensmith.NotFound()
	}
	if ws.Plan != tokensmith.PlanEnterprise {
		return tokensmith.AuditPage{}, tokensmith.Errorf(tokensmith.ENOTENTERPRISE, "Audit logs are only available on enterprise workspaces")
	}
	return s.Store.AuditEvents(ctx, ws.ID, q)
}

// admin checks that the person p is an admin of ws: one who belongs to it
// (holds a role in it or in one of its sites) but is not an admin is
// forbidden, anyone else does not find it. It reads the person's bound
// memberships and binds nothing: reading the log is not a sign-in (the
// console's first call, GET /v2/me, is), so this function writes nothing.
func (s *Service) admin(ctx context.Context, p tokensmith.Caller, ws tokensmith.Workspace) error {
	u, err := s.Store.UserByIdentity(ctx, p.Issuer, p.Subject)
	if err != nil {
		return err
	}
	held, err := s.Store.Memberships(ctx, u.ID)
	if err != nil {
		return err
	}
	belongs := false
	for _, m := range held {
		if m.Place.WorkspaceID != ws.ID {
			continue
		}
		belongs = true
		if m.Place.SiteID == "" && m.Role == tokensmith.RoleAdmin {
			return nil
		}
	}
	if belongs {
		return tokensmith.Errorf(tokensmith.EFORBIDDEN, "You do not have permission to read the audit log of this workspace")
	}
	return tokensmith.NotFound()
}
