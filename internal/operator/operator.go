// Package operator manages workspaces, sites and people's memberships, as
// operators do with tokenctl, recording each change in the audit log with
// the system as its actor.
package operator

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/people"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Service makes the operator's changes.
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

func checkPlan(plan tokensmith.Plan) error {
	if plan != tokensmith.PlanFree && plan != tokensmith.PlanEnterprise {
		return tokensmith.Errorf(tokensmith.EINVALID, "plan must be free or enterprise, not %q", plan)
	}
	return nil
}

func checkSlug(field, s string) error {
	if len(s) > 63 || !slugPattern.MatchString(s) {
		return tokensmith.Errorf(tokensmith.EINVALID, "%s must be lowercase letters, digits and single dashes, at most 63 characters: %q", field, s)
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
		return tokensmith.Workspace{}, tokensmith.Errorf(tokensmith.EINVALID, "slug must not be 24 hexadecimal digits, which is the shape of an id: %q", slug)
	}
	if strings.TrimSpace(name) == "" {
		return tokensmith.Workspace{}, tokensmith.Errorf(tokensmith.EINVALID, "name is required")
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
			return tokensmith.Workspace{}, tokensmith.Errorf(tokensmith.ECONFLICT, "a workspace with slug %q exists", slug)
		}
		return tokensmith.Workspace{}, err
	}
	return ws, nil
}

// Workspace finds a workspace by id or slug.
func (s *Service) Workspace(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error) {
	ws, err := s.Store.Workspace(ctx, idOrSlug)
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
		return tokensmith.Workspace{}, tokensmith.Errorf(tokensmith.ENOTFOUND, "no workspace %q", idOrSlug)
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

// CreateSite creates a site in a workspace, on plan (empty for the default
// plan).
func (s *Service) CreateSite(ctx context.Context, wsIDOrSlug, name, shortName string, plan tokensmith.SitePlan) (tokensmith.Site, error) {
	if plan == "" {
		plan = tokensmith.DefaultSitePlan
	}
	if !plan.Valid() {
		return tokensmith.Site{}, tokensmith.Errorf(tokensmith.EINVALID, "plan must be one of %s, not %q", sitePlanNames(), plan)
	}
	if strings.TrimSpace(name) == "" {
		return tokensmith.Site{}, tokensmith.Errorf(tokensmith.EINVALID, "name is required")
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
		TimeZone: "UTC", CreatedOn: now, LastUpdated: now, Plan: plan}
	if err := s.Store.CreateSite(ctx, site); err != nil {
		return tokensmith.Site{}, err
	}
	return site, nil
}

// SetSitePlan puts a site on plan; rateLimit (requests a minute of each of
// its tokens) is only for enterprise, where 0 keeps the default. The site's
// tokens have the new limit within the authorizer cache bound.
func (s *Service) SetSitePlan(ctx context.Context, siteID string, plan tokensmith.SitePlan, rateLimit int64) (tokensmith.Site, error) {
	switch {
	case !plan.Valid():
		return tokensmith.Site{}, tokensmith.Errorf(tokensmith.EINVALID, "plan must be one of %s, not %q", sitePlanNames(), plan)
	case rateLimit != 0 && plan != tokensmith.SitePlanEnterprise:
		return tokensmith.Site{}, tokensmith.Errorf(tokensmith.EINVALID, "a rate limit is set only with the enterprise plan")
	case rateLimit < 0 || rateLimit > tokensmith.MaxRateLimit:
		return tokensmith.Site{}, tokensmith.Errorf(tokensmith.EINVALID, "rate limit must be from 1 to %d requests a minute", tokensmith.MaxRateLimit)
	}
	var site tokensmith.Site
	err := store.Retry(ctx, func() error {
		var err error
		if site, err = s.Store.Site(ctx, siteID); err != nil {
			return err
		}
		// A change of the plan or the rate limit is recorded; setting
		// them as they are records nothing.
		var ev *tokensmith.Event
		next := site
		next.Plan, next.RateLimit = plan, rateLimit
		prev := site.Plan
		if prev == "" {
			prev = tokensmith.DefaultSitePlan
		}
		if plan != prev || rateLimit != site.RateLimit {
			ws, err := s.Store.Workspace(ctx, site.WorkspaceID)
			if err != nil {
				return err
			}
			o, err := s.origin(ws)
			if err != nil {
				return err
			}
			e := audit.SitePlanChanged(o, site, next)
			ev = &e
		}
		return s.Store.SetSitePlan(ctx, site, plan, rateLimit, ev)
	})
	site.Plan, site.RateLimit = plan, rateLimit
	return site, err
}

func sitePlanNames() string {
	names := make([]string, len(tokensmith.SitePlans))
	for i, p := range tokensmith.SitePlans {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
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
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND || (err == nil && site.WorkspaceID != ws.ID) {
		return tokensmith.Workspace{}, tokensmith.Place{}, tokensmith.Errorf(tokensmith.ENOTFOUND, "no site %q in workspace %s", siteID, ws.Slug)
	}
	if err != nil {
		return tokensmith.Workspace{}, tokensmith.Place{}, err
	}
	return ws, tokensmith.Place{WorkspaceID: ws.ID, SiteID: site.ID}, nil
}

// AddMember grants email a role in a workspace, or on one of its sites
// (where the only role is admin): an invitation, bound to a person on their
// first sign-in. An email already a member there with the same role changes
// nothing; with another role, its role changes.
func (s *Service) AddMember(ctx context.Context, wsIDOrSlug, siteID, email string, role tokensmith.Role) (tokensmith.Member, error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return tokensmith.Member{}, tokensmith.Errorf(tokensmith.EINVALID, "email %q is not an address", email)
	}
	switch {
	case siteID == "" && role != tokensmith.RoleAdmin && role != tokensmith.RoleMember:
		return tokensmith.Member{}, tokensmith.Errorf(tokensmith.EINVALID, "workspace role must be admin or member, not %q", role)
	case siteID != "" && role != tokensmith.RoleAdmin:
		return tokensmith.Member{}, tokensmith.Errorf(tokensmith.EINVALID, "site role must be admin, not %q", role)
	}
	ws, place, err := s.place(ctx, wsIDOrSlug, siteID)
	if err != nil {
		return tokensmith.Member{}, err
	}
	m, err := s.Store.MemberByEmail(ctx, place, email)
	switch {
	case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
		return s.people().Invite(ctx, s.actor(), ws, place, email, role)
	case err != nil:
		return tokensmith.Member{}, err
	case m.Role == role:
		return m, nil
	}
	return s.people().ChangeRole(ctx, s.actor(), ws, place, m.ID, role)
}

// RemoveMember takes away the membership granted to email in a workspace
// or on a site.
func (s *Service) RemoveMember(ctx context.Context, wsIDOrSlug, siteID, email string) (tokensmith.Member, error) {
	ws, place, err := s.place(ctx, wsIDOrSlug, siteID)
	if err != nil {
		return tokensmith.Member{}, err
	}
	m, err := s.Store.MemberByEmail(ctx, place, email)
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
		return tokensmith.Member{}, tokensmith.Errorf(tokensmith.ENOTFOUND, "%s is not a member there", email)
	}
	if err != nil {
		return tokensmith.Member{}, err
	}
	return s.people().Remove(ctx, s.actor(), ws, place, m.ID)
}

// RecountAdmins sets the count of accepted admins of a workspace to what
// its members hold, for data stored before the count held accepted admins
// only, and returns the workspace with the count it had and the one it has
// now. A rerun changes nothing.
func (s *Service) RecountAdmins(ctx context.Context, wsIDOrSlug string) (ws tokensmith.Workspace, was, now int64, err error) {
	ws, err = s.Store.Workspace(ctx, wsIDOrSlug)
	if err != nil {
		return tokensmith.Workspace{}, 0, 0, err
	}
	err = store.Retry(ctx, func() error {
		was, now, err = s.Store.RecountAdmins(ctx, ws.ID)
		return err
	})
	return ws, was, now, err
}

// actor is the actor of the operator's changes: the system, named by
// Operator where known.
func (s *Service) actor() tokensmith.Actor {
	return tokensmith.Actor{Type: tokensmith.ActorSystem, Email: s.Operator}
}

// people is the members service on the operator's store, clock and
// randomness. Operators create no accounts: tokenctl has no user pool.
func (s *Service) people() *people.Service {
	return &people.Service{Store: s.Store, Now: s.Now, Rand: s.Rand}
}

// origin is the origin of a change the operator makes now in ws: operators
// act as the system, named by Operator where known.
func (s *Service) origin(ws tokensmith.Workspace) (audit.Origin, error) {
	return audit.NewOrigin(s.Now(), s.Rand, s.actor(), ws)
}
