package people

import (
	"context"
	"sort"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Me signs c in and returns their workspaces and the sites they can see.
func (s *Service) Me(ctx context.Context, c tokensmith.Caller) (tokensmith.Me, error) {
	a, err := s.SignIn(ctx, c)
	if err != nil {
		return tokensmith.Me{}, err
	}
	me := tokensmith.Me{User: a.User, Workspaces: []tokensmith.MyWorkspace{}, Sites: []tokensmith.MySite{}, Invitations: []tokensmith.MyInvitation{}}
	seen := map[string]bool{}
	addSite := func(site tokensmith.Site) {
		if seen[site.ID] {
			return
		}
		seen[site.ID] = true
		can := a.Role(tokensmith.Place{WorkspaceID: site.WorkspaceID}) == tokensmith.RoleAdmin ||
			a.Role(tokensmith.Place{WorkspaceID: site.WorkspaceID, SiteID: site.ID}) == tokensmith.RoleAdmin
		me.Sites = append(me.Sites, tokensmith.MySite{Site: site, CanManageTokens: can})
	}
	for _, m := range a.Memberships {
		if m.Place.IsSite() {
			continue
		}
		ws, err := s.Store.Workspace(ctx, m.Place.WorkspaceID)
		if err != nil {
			return tokensmith.Me{}, err
		}
		me.Workspaces = append(me.Workspaces, tokensmith.MyWorkspace{Workspace: ws, Role: m.Role})
		sites, err := s.Store.Sites(ctx, ws.ID)
		if err != nil {
			return tokensmith.Me{}, err
		}
		for _, site := range sites {
			addSite(site)
		}
	}
	for _, m := range a.Memberships {
		if !m.Place.IsSite() || seen[m.Place.SiteID] {
			continue
		}
		site, err := s.Store.Site(ctx, m.Place.SiteID)
		if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
			continue
		}
		if err != nil {
			return tokensmith.Me{}, err
		}
		addSite(site)
	}
	for _, m := range a.Invitations {
		inv, err := s.myInvitation(ctx, m)
		if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
			continue
		}
		if err != nil {
			return tokensmith.Me{}, err
		}
		me.Invitations = append(me.Invitations, inv)
	}
	sort.Slice(me.Workspaces, func(i, j int) bool { return me.Workspaces[i].Workspace.Slug < me.Workspaces[j].Workspace.Slug })
	sort.Slice(me.Sites, func(i, j int) bool { return me.Sites[i].Site.ID < me.Sites[j].Site.ID })
	return me, nil
}

// myInvitation is the pending invitation m with its workspace and site.
func (s *Service) myInvitation(ctx context.Context, m tokensmith.Member) (tokensmith.MyInvitation, error) {
	ws, err := s.Store.Workspace(ctx, m.Place.WorkspaceID)
	if err != nil {
		return tokensmith.MyInvitation{}, err
	}
	inv := tokensmith.MyInvitation{Member: m, Workspace: ws}
	if m.Place.IsSite() {
		site, err := s.Store.Site(ctx, m.Place.SiteID)
		if err != nil {
			return tokensmith.MyInvitation{}, err
		}
		inv.Site = &site
	}
	return inv, nil
}

// admin signs c in and checks that they are an admin of the workspace of
// w. Someone who belongs to that workspace, or administers one of its
// sites, but is not its admin is forbidden; anyone else, like an id of the
// wrong shape or of nothing, is not found.
func (s *Service) admin(ctx context.Context, c tokensmith.Caller, w tokensmith.Place) (tokensmith.Person, tokensmith.Workspace, tokensmith.Place, error) {
	return s.adminOf(ctx, c, w, "Only workspace admins may manage members")
}

// adminOf is admin, forbidding with message.
func (s *Service) adminOf(ctx context.Context, c tokensmith.Caller, w tokensmith.Place, message string) (tokensmith.Person, tokensmith.Workspace, tokensmith.Place, error) {
	fail := func(err error) (tokensmith.Person, tokensmith.Workspace, tokensmith.Place, error) {
		return tokensmith.Person{}, tokensmith.Workspace{}, tokensmith.Place{}, err
	}
	p := w
	if w.SiteID != "" {
		if !token.ValidID(w.SiteID) {
			return fail(tokensmith.NotFound())
		}
		site, err := s.Store.Site(ctx, w.SiteID)
		if err != nil {
			return fail(err)
		}
		p.WorkspaceID = site.WorkspaceID
	} else if !token.ValidID(w.WorkspaceID) {
		return fail(tokensmith.NotFound())
	}
	ws, err := s.Store.Workspace(ctx, p.WorkspaceID)
	if err != nil {
		return fail(err)
	}
	a, err := s.SignIn(ctx, c)
	if err != nil {
		return fail(err)
	}
	switch {
	case a.Role(tokensmith.Place{WorkspaceID: ws.ID}) == tokensmith.RoleAdmin:
		return a, ws, p, nil
	case a.Belongs(ws.ID):
		return fail(tokensmith.Errorf(tokensmith.EFORBIDDEN, "%s", message))
	}
	return fail(tokensmith.NotFound())
}

// Members lists the members of w, oldest first, for a workspace admin;
// lapsed invitations are removed, not listed.
func (s *Service) Members(ctx context.Context, c tokensmith.Caller, w tokensmith.Place) ([]tokensmith.Member, error) {
	_, _, p, err := s.admin(ctx, c, w)
	if err != nil {
		return nil, err
	}
	ms, err := s.Store.Members(ctx, p)
	if err != nil {
		return nil, err
	}
	if ms, err = s.dropLapsed(ctx, ms); err != nil {
		return nil, err
	}
	sortMembers(ms)
	return ms, nil
}

// AddMember grants email role in w, as the workspace admin c.
func (s *Service) AddMember(ctx context.Context, c tokensmith.Caller, w tokensmith.Place, email string, role tokensmith.Role) (tokensmith.Member, error) {
	a, ws, p, err := s.admin(ctx, c, w)
	if err != nil {
		return tokensmith.Member{}, err
	}
	return s.Invite(ctx, a.User.Actor(), ws, p, email, role)
}

// UpdateMember sets the role of member id of w, as the workspace admin c.
func (s *Service) UpdateMember(ctx context.Context, c tokensmith.Caller, w tokensmith.Place, id string, role tokensmith.Role) (tokensmith.Member, error) {
	a, ws, p, err := s.admin(ctx, c, w)
	if err != nil {
		return tokensmith.Member{}, err
	}
	m, err := s.ChangeRole(ctx, a.User.Actor(), ws, p, id, role)
	return m, err
}

// RemoveMember removes member id of w, as the workspace admin c.
func (s *Service) RemoveMember(ctx context.Context, c tokensmith.Caller, w tokensmith.Place, id string) error {
	a, ws, p, err := s.admin(ctx, c, w)
	if err != nil {
		return err
	}
	_, err = s.Remove(ctx, a.User.Actor(), ws, p, id)
	return err
}
