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

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
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
	// Operator names who makes the changes, in actor.email of their audit
	// events (the AWS caller identity's ARN, or the local OS user); empty
	// when not known.
	Operator string
}

// New returns a Service with the real clock and crypto/rand.
func New(st *store.Store) *Service { return &Service{Store: st, Now: time.Now, Rand: rand.Reader} }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func checkPlan(plan tokensmith.Plan) error {
	if plan != tokensmith.PlanFree && plan != tokensmith.PlanEnterprise {
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

// CreateWorkspace creates a workspace. Its slug may not be shaped like an
// id, since a workspace is looked up by either (tokensmith.Workspace).
func (s *Service) CreateWorkspace(ctx context.Context, slug, name string, plan tokensmith.Plan) (tokensmith.Workspace, error) {
	if err := checkSlug("slug", slug); err != nil {
		return tokensmith.Workspace{}, err
	}
	if token.ValidID(slug) {
		return tokensmith.Workspace{}, invalid("slug must not be 24 hexadecimal digits, which is the shape of an id: %q", slug)
	}
	if strings.TrimSpace(name) == "" {
		return tokensmith.Workspace{}, invalid("name is required")
	}
	if err := checkPlan(plan); err != nil {
		return tokensmith.Workspace{}, err
	}
	now := s.Now().UTC()
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return tokensmith.Workspace{}, err
	}
	ws := tokensmith.Workspace{ID: id, Slug: slug, Name: strings.TrimSpace(name), Plan: plan, CreatedOn: now}
	if err := s.Store.CreateWorkspace(ctx, ws); err != nil {
		if errors.Is(err, store.ErrExists) {
			return tokensmith.Workspace{}, invalid("a workspace with slug %q exists", slug)
		}
		return tokensmith.Workspace{}, err
	}
	return ws, nil
}

// Workspace finds a workspace by id or slug.
func (s *Service) Workspace(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error) {
	ws, err := s.Store.Workspace(ctx, idOrSlug)
	if errors.Is(err, store.ErrNotFound) {
		return tokensmith.Workspace{}, invalid("no workspace %q", idOrSlug)
	}
	return ws, err
}

// SetPlan changes a workspace's plan.
func (s *Service) SetPlan(ctx context.Context, idOrSlug string, plan tokensmith.Plan) (tokensmith.Workspace, error) {
	if err := checkPlan(plan); err != nil {
		return tokensmith.Workspace{}, err
	}
	var ws tokensmith.Workspace
	err := store.Retry(ctx, func() error {
		var err error
		if ws, err = s.Workspace(ctx, idOrSlug); err != nil {
			return err
		}
		o, err := s.origin(ws)
		if err != nil {
			return err
		}
		return s.Store.SetPlan(ctx, ws, plan, audit.PlanChanged(o, plan, ws.Plan))
	})
	ws.Plan = plan
	return ws, err
}

// CreateSite creates a site in a workspace.
func (s *Service) CreateSite(ctx context.Context, wsIDOrSlug, name, shortName string) (tokensmith.Site, error) {
	if strings.TrimSpace(name) == "" {
		return tokensmith.Site{}, invalid("name is required")
	}
	if err := checkSlug("short name", shortName); err != nil {
		return tokensmith.Site{}, err
	}
	ws, err := s.Workspace(ctx, wsIDOrSlug)
	if err != nil {
		return tokensmith.Site{}, err
	}
	now := s.Now().UTC()
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return tokensmith.Site{}, err
	}
	site := tokensmith.Site{ID: id, WorkspaceID: ws.ID, DisplayName: strings.TrimSpace(name), ShortName: shortName,
		TimeZone: "UTC", CreatedOn: now, LastUpdated: now}
	if err := s.Store.CreateSite(ctx, site); err != nil {
		return tokensmith.Site{}, err
	}
	return site, nil
}

// place resolves where a membership is: the workspace, or one of its sites.
func (s *Service) place(ctx context.Context, wsIDOrSlug, siteID string) (tokensmith.Workspace, tokensmith.Place, error) {
	ws, err := s.Workspace(ctx, wsIDOrSlug)
	if err != nil {
		return tokensmith.Workspace{}, tokensmith.Place{}, err
	}
	if siteID == "" {
		return ws, tokensmith.Place{WorkspaceID: ws.ID}, nil
	}
	site, err := s.Store.Site(ctx, siteID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && site.WorkspaceID != ws.ID) {
		return tokensmith.Workspace{}, tokensmith.Place{}, invalid("no site %q in workspace %s", siteID, ws.Slug)
	}
	if err != nil {
		return tokensmith.Workspace{}, tokensmith.Place{}, err
	}
	return ws, tokensmith.Place{WorkspaceID: ws.ID, SiteID: site.ID}, nil
}

// AddMember gives the person with email a role in a workspace, or on one of
// its sites (where the only role is admin). The person is created on first use.
func (s *Service) AddMember(ctx context.Context, wsIDOrSlug, siteID, email string, role tokensmith.Role) (tokensmith.User, error) {
	var u tokensmith.User
	err := store.Retry(ctx, func() error {
		var err error
		u, err = s.addMember(ctx, wsIDOrSlug, siteID, email, role)
		return err
	})
	return u, err
}

func (s *Service) addMember(ctx context.Context, wsIDOrSlug, siteID, email string, role tokensmith.Role) (tokensmith.User, error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return tokensmith.User{}, invalid("email %q is not an address", email)
	}
	switch {
	case siteID == "" && role != tokensmith.RoleAdmin && role != tokensmith.RoleMember:
		return tokensmith.User{}, invalid("workspace role must be admin or member, not %q", role)
	case siteID != "" && role != tokensmith.RoleAdmin:
		return tokensmith.User{}, invalid("site role must be admin, not %q", role)
	}
	ws, place, err := s.place(ctx, wsIDOrSlug, siteID)
	if err != nil {
		return tokensmith.User{}, err
	}
	newID, err := token.NewID(s.Now(), s.Rand)
	if err != nil {
		return tokensmith.User{}, err
	}
	u, err := s.Store.EnsureUser(ctx, email, newID)
	if err != nil {
		return tokensmith.User{}, err
	}
	prev, err := s.Store.Role(ctx, place, u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return tokensmith.User{}, err
	}
	if prev == role {
		return u, nil
	}
	o, err := s.origin(ws)
	if err != nil {
		return tokensmith.User{}, err
	}
	ev := audit.MemberAdded(o, place, u, role)
	if prev != "" {
		ev = audit.MemberRoleUpdated(o, place, u, role, prev)
	}
	if err := s.Store.PutMembership(ctx, tokensmith.Membership{Place: place, UserID: u.ID, Role: role}, prev, ev); err != nil {
		return tokensmith.User{}, err
	}
	return u, nil
}

// RemoveMember takes away a person's role in a workspace or on a site.
func (s *Service) RemoveMember(ctx context.Context, wsIDOrSlug, siteID, email string) (tokensmith.User, error) {
	var u tokensmith.User
	err := store.Retry(ctx, func() error {
		var err error
		u, err = s.removeMember(ctx, wsIDOrSlug, siteID, email)
		return err
	})
	return u, err
}

func (s *Service) removeMember(ctx context.Context, wsIDOrSlug, siteID, email string) (tokensmith.User, error) {
	ws, place, err := s.place(ctx, wsIDOrSlug, siteID)
	if err != nil {
		return tokensmith.User{}, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return tokensmith.User{}, invalid("no person with email %q", email)
	}
	if err != nil {
		return tokensmith.User{}, err
	}
	o, err := s.origin(ws)
	if err != nil {
		return tokensmith.User{}, err
	}
	if err := s.Store.DeleteMembership(ctx, place, u.ID, audit.MemberRemoved(o, place, u)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return tokensmith.User{}, invalid("%s is not a member there", email)
		}
		return tokensmith.User{}, err
	}
	return u, nil
}

// origin is the origin of a change the operator makes now in ws: operators
// act as the system, named by Operator where known.
func (s *Service) origin(ws tokensmith.Workspace) (audit.Origin, error) {
	return audit.NewOrigin(s.Now(), s.Rand, tokensmith.Actor{Type: tokensmith.ActorSystem, Email: s.Operator}, ws)
}
