// Package directory manages workspaces, sites and people's memberships, as
// operators do with tokenctl, recording each change in the audit log.
package directory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// ErrInvalid wraps every rejected input.
var ErrInvalid = errors.New("directory: invalid input")

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Service changes the directory.
type Service struct {
	Store *store.Store
	Now   func() time.Time
	Rand  io.Reader
}

// New returns a Service with the real clock and crypto/rand.
func New(st *store.Store) *Service { return &Service{Store: st, Now: time.Now, Rand: rand.Reader} }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func checkPlan(plan string) error {
	if plan != store.PlanFree && plan != store.PlanEnterprise {
		return invalid("plan must be free or enterprise, not %q", plan)
	}
	return nil
}

func checkSlug(field, s string) error {
	if len(s) > 63 || !slugPattern.MatchString(s) {
		return invalid("%s must be lowercase letters, digits and single dashes, at most 63 characters: %q", field, s)
	}
	return nil
}

// CreateWorkspace creates a workspace.
func (s *Service) CreateWorkspace(ctx context.Context, slug, name, plan string) (store.Workspace, error) {
	if err := checkSlug("slug", slug); err != nil {
		return store.Workspace{}, err
	}
	if strings.TrimSpace(name) == "" {
		return store.Workspace{}, invalid("name is required")
	}
	if err := checkPlan(plan); err != nil {
		return store.Workspace{}, err
	}
	now := s.Now().UTC()
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return store.Workspace{}, err
	}
	ws := store.Workspace{ID: id, Slug: slug, Name: strings.TrimSpace(name), Plan: plan, CreatedOn: now}
	if err := s.Store.CreateWorkspace(ctx, ws); err != nil {
		if errors.Is(err, store.ErrExists) {
			return store.Workspace{}, invalid("a workspace with slug %q exists", slug)
		}
		return store.Workspace{}, err
	}
	return ws, nil
}

// Workspace finds a workspace by id or slug.
func (s *Service) Workspace(ctx context.Context, idOrSlug string) (store.Workspace, error) {
	if token.ValidID(idOrSlug) {
		ws, err := s.Store.Workspace(ctx, idOrSlug)
		if !errors.Is(err, store.ErrNotFound) {
			return ws, err
		}
	}
	ws, err := s.Store.WorkspaceBySlug(ctx, idOrSlug)
	if errors.Is(err, store.ErrNotFound) {
		return store.Workspace{}, invalid("no workspace %q", idOrSlug)
	}
	return ws, err
}

// SetPlan changes a workspace's plan.
func (s *Service) SetPlan(ctx context.Context, idOrSlug, plan string) (store.Workspace, error) {
	if err := checkPlan(plan); err != nil {
		return store.Workspace{}, err
	}
	var ws store.Workspace
	err := store.Retry(ctx, func() error {
		var err error
		if ws, err = s.Workspace(ctx, idOrSlug); err != nil {
			return err
		}
		ev, err := s.event(ws, store.EventWorkspaceSetting, "setting_updated", map[string]any{
			"setting": "plan", "previousValue": ws.Plan, "value": plan,
		})
		if err != nil {
			return err
		}
		return s.Store.SetPlan(ctx, ws.ID, plan, ev)
	})
	ws.Plan = plan
	return ws, err
}

// CreateSite creates a site in a workspace.
func (s *Service) CreateSite(ctx context.Context, wsIDOrSlug, name, shortName string) (store.Site, error) {
	if strings.TrimSpace(name) == "" {
		return store.Site{}, invalid("name is required")
	}
	if err := checkSlug("short name", shortName); err != nil {
		return store.Site{}, err
	}
	ws, err := s.Workspace(ctx, wsIDOrSlug)
	if err != nil {
		return store.Site{}, err
	}
	now := s.Now().UTC()
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return store.Site{}, err
	}
	site := store.Site{ID: id, WorkspaceID: ws.ID, DisplayName: strings.TrimSpace(name), ShortName: shortName,
		TimeZone: "UTC", CreatedOn: now, LastUpdated: now}
	if err := s.Store.CreateSite(ctx, site); err != nil {
		return store.Site{}, err
	}
	return site, nil
}

// membership resolves where a membership is: the workspace, or one of its sites.
func (s *Service) membership(ctx context.Context, wsIDOrSlug, siteID string) (store.Workspace, store.Scope, string, error) {
	ws, err := s.Workspace(ctx, wsIDOrSlug)
	if err != nil {
		return store.Workspace{}, store.Scope{}, "", err
	}
	if siteID == "" {
		return ws, store.Scope{WorkspaceID: ws.ID}, store.EventWorkspaceMembership, nil
	}
	site, err := s.Store.Site(ctx, siteID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && site.WorkspaceID != ws.ID) {
		return store.Workspace{}, store.Scope{}, "", invalid("no site %q in workspace %s", siteID, ws.Slug)
	}
	if err != nil {
		return store.Workspace{}, store.Scope{}, "", err
	}
	return ws, store.Scope{WorkspaceID: ws.ID, SiteID: site.ID}, store.EventSiteMembership, nil
}

// AddMember gives the person with email a role in a workspace, or on one of
// its sites (where the only role is admin). The person is created on first use.
func (s *Service) AddMember(ctx context.Context, wsIDOrSlug, siteID, email, role string) (store.User, error) {
	var u store.User
	err := store.Retry(ctx, func() error {
		var err error
		u, err = s.addMember(ctx, wsIDOrSlug, siteID, email, role)
		return err
	})
	return u, err
}

func (s *Service) addMember(ctx context.Context, wsIDOrSlug, siteID, email, role string) (store.User, error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return store.User{}, invalid("email %q is not an address", email)
	}
	switch {
	case siteID == "" && role != store.RoleAdmin && role != store.RoleMember:
		return store.User{}, invalid("workspace role must be admin or member, not %q", role)
	case siteID != "" && role != store.RoleAdmin:
		return store.User{}, invalid("site role must be admin, not %q", role)
	}
	ws, m, evType, err := s.membership(ctx, wsIDOrSlug, siteID)
	if err != nil {
		return store.User{}, err
	}
	newID, err := token.NewID(s.Now(), s.Rand)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.Store.EnsureUser(ctx, email, newID)
	if err != nil {
		return store.User{}, err
	}
	prev, err := s.Store.Role(ctx, m, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	if prev == role {
		return u, nil
	}
	sub := "user_added"
	payload := map[string]any{"user": map[string]any{"id": u.ID, "email": u.Email}, "role": role}
	if prev != "" {
		sub = "user_role_updated"
		payload["previousRole"] = prev
	}
	if siteID != "" {
		payload["site"] = map[string]any{"id": siteID}
	}
	ev, err := s.event(ws, evType, sub, payload)
	if err != nil {
		return store.User{}, err
	}
	if err := s.Store.PutMembership(ctx, m, u.ID, role, prev, ev); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// RemoveMember takes away a person's role in a workspace or on a site.
func (s *Service) RemoveMember(ctx context.Context, wsIDOrSlug, siteID, email string) (store.User, error) {
	var u store.User
	err := store.Retry(ctx, func() error {
		var err error
		u, err = s.removeMember(ctx, wsIDOrSlug, siteID, email)
		return err
	})
	return u, err
}

func (s *Service) removeMember(ctx context.Context, wsIDOrSlug, siteID, email string) (store.User, error) {
	ws, m, evType, err := s.membership(ctx, wsIDOrSlug, siteID)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, invalid("no person with email %q", email)
	}
	if err != nil {
		return store.User{}, err
	}
	payload := map[string]any{"user": map[string]any{"id": u.ID, "email": u.Email}}
	if siteID != "" {
		payload["site"] = map[string]any{"id": siteID}
	}
	ev, err := s.event(ws, evType, "user_removed", payload)
	if err != nil {
		return store.User{}, err
	}
	if err := s.Store.DeleteMembership(ctx, m, u.ID, ev); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, invalid("%s is not a member there", email)
		}
		return store.User{}, err
	}
	return u, nil
}

// event builds an audit event made by the operator (actor type system).
func (s *Service) event(ws store.Workspace, typ, sub string, payload map[string]any) (store.AuditEvent, error) {
	now := s.Now().UTC()
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return store.AuditEvent{}, err
	}
	return store.AuditEvent{
		ID: id, EventType: typ, EventSubType: sub, Timestamp: now,
		Actor:     store.Actor{Type: store.ActorSystem},
		Workspace: store.WorkspaceRef{ID: ws.ID, Slug: ws.Slug},
		Payload:   payload,
	}, nil
}
