package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/route"
)

// personCaller returns the caller, who must be a person: the authorizer
// lets only user tokens through to the management routes, and this holds
// even if it did not.
func personCaller(r *http.Request) (tokensmith.Caller, error) {
	p, err := caller(r)
	if err != nil || !p.IsPerson() {
		return tokensmith.Caller{}, tokensmith.Unauthorized()
	}
	return p, nil
}

// ref is a person or actor as the API names them.
type ref struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// member is a membership as the API shows it; userId is null until bound,
// addedBy null when an operator (tokenctl) added it.
type member struct {
	ID      string          `json:"id"`
	Email   string          `json:"email"`
	UserID  *string         `json:"userId"`
	Role    tokensmith.Role `json:"role"`
	AddedOn string          `json:"addedOn"`
	AddedBy *ref            `json:"addedBy"`
}

func newMember(m tokensmith.Member) member {
	out := member{ID: m.ID, Email: m.Email, Role: m.Role, AddedOn: formatTime(m.AddedOn)}
	if m.AddedBy.Type == tokensmith.ActorPerson {
		out.AddedBy = &ref{ID: m.AddedBy.ID, Email: m.AddedBy.Email}
	}
	if m.Bound() {
		id := m.UserID
		out.UserID = &id
	}
	return out
}

type meWorkspace struct {
	ID          string          `json:"id"`
	Slug        string          `json:"slug"`
	DisplayName string          `json:"displayName"`
	Plan        tokensmith.Plan `json:"plan"`
	Role        tokensmith.Role `json:"role"`
}

type meSite struct {
	ID              string `json:"id"`
	WorkspaceID     string `json:"workspaceId"`
	DisplayName     string `json:"displayName"`
	ShortName       string `json:"shortName"`
	CanManageTokens bool   `json:"canManageTokens"`
}

// place is a workspace or site as an invitation names it.
type place struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

type inviter struct {
	Email string `json:"email"`
}

// invitation is an invitation waiting for the person's consent; site is
// null for a workspace membership.
type invitation struct {
	ID        string          `json:"id"`
	Workspace place           `json:"workspace"`
	Site      *place          `json:"site"`
	Role      tokensmith.Role `json:"role"`
	InvitedBy inviter         `json:"invitedBy"`
	InvitedOn string          `json:"invitedOn"`
}

type me struct {
	User        ref           `json:"user"`
	Workspaces  []meWorkspace `json:"workspaces"`
	Sites       []meSite      `json:"sites"`
	Invitations []invitation  `json:"invitations"`
}

func newMe(m tokensmith.Me) me {
	out := me{User: ref{ID: m.User.ID, Email: m.User.Email}, Workspaces: []meWorkspace{}, Sites: []meSite{}, Invitations: []invitation{}}
	for _, inv := range m.Invitations {
		i := invitation{ID: inv.Member.ID, Workspace: place{ID: inv.Workspace.ID, DisplayName: inv.Workspace.Name},
			Role: inv.Member.Role, InvitedBy: inviter{Email: inv.Member.AddedBy.Email}, InvitedOn: formatTime(inv.Member.AddedOn)}
		if inv.Site != nil {
			i.Site = &place{ID: inv.Site.ID, DisplayName: inv.Site.DisplayName}
		}
		out.Invitations = append(out.Invitations, i)
	}
	for _, w := range m.Workspaces {
		out.Workspaces = append(out.Workspaces, meWorkspace{ID: w.Workspace.ID, Slug: w.Workspace.Slug,
			DisplayName: w.Workspace.Name, Plan: w.Workspace.Plan, Role: w.Role})
	}
	for _, s := range m.Sites {
		out.Sites = append(out.Sites, meSite{ID: s.Site.ID, WorkspaceID: s.Site.WorkspaceID, DisplayName: s.Site.DisplayName,
			ShortName: s.Site.ShortName, CanManageTokens: s.CanManageTokens})
	}
	return out
}

// People serves the people routes of the route table: GET /v2/me and the
// members of workspaces and sites.
func People(svc tokensmith.PeopleService, log *slog.Logger) *Router {
	h := &peopleHandler{svc: svc, log: log}
	ws := func(r *http.Request) tokensmith.Place {
		return tokensmith.Place{WorkspaceID: r.PathValue("workspace_id")}
	}
	site := func(r *http.Request) tokensmith.Place { return tokensmith.Place{SiteID: r.PathValue("site_id")} }
	return mux(route.People, map[string]http.HandlerFunc{
		"getMe":                   asPerson(h.log, h.me),
		"acceptInvitation":        asPerson(h.log, h.accept),
		"declineInvitation":       asPerson(h.log, h.decline),
		"listWorkspaceMembers":    h.list(ws),
		"addWorkspaceMember":      h.add(ws),
		"updateWorkspaceMember":   h.update(ws),
		"removeWorkspaceMember":   h.remove(ws),
		"listSiteMembers":         h.list(site),
		"addSiteMember":           h.add(site),
		"removeSiteMember":        h.remove(site),
		"getWorkspaceSettings":    asPerson(h.log, h.settings),
		"updateWorkspaceSettings": asPerson(h.log, h.updateSettings),
	}, nil, log)
}

type peopleHandler struct {
	svc tokensmith.PeopleService
	log *slog.Logger
}

// asPerson serves one call of a person: the caller, then f, whose error is
// written.
func asPerson(log *slog.Logger, f func(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := personCaller(r)
		if err == nil {
			err = f(w, r, c)
		}
		if err != nil {
			writeError(w, r, log, err)
		}
	}
}

func (h *peopleHandler) me(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
	m, err := h.svc.Me(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newMe(m))
	return nil
}

func (h *peopleHandler) accept(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
	id := r.PathValue("invitation_id")
	m, err := h.svc.AcceptInvitation(r.Context(), c, id)
	if err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "invitation accepted", "memberId", id)
	writeJSON(w, http.StatusOK, newMe(m))
	return nil
}

func (h *peopleHandler) decline(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
	id := r.PathValue("invitation_id")
	if err := h.svc.DeclineInvitation(r.Context(), c, id); err != nil {
		return err
	}
	h.log.InfoContext(r.Context(), "invitation declined", "memberId", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *peopleHandler) list(where func(*http.Request) tokensmith.Place) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
		ms, err := h.svc.Members(r.Context(), c, where(r))
		if err != nil {
			return err
		}
		out := make([]member, 0, len(ms))
		for _, m := range ms {
			out = append(out, newMember(m))
		}
		writeJSON(w, http.StatusOK, map[string][]member{"members": out})
		return nil
	})
}

// add grants a membership: an email and a role in a workspace, an email
// alone on a site, where the role is admin.
func (h *peopleHandler) add(where func(*http.Request) tokensmith.Place) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
		wh := where(r)
		var in struct {
			Email string          `json:"email"`
			Role  tokensmith.Role `json:"role"`
		}
		var site struct {
			Email string `json:"email"`
		}
		if wh.SiteID != "" {
			if err := decode(r, &site, false); err != nil {
				return err
			}
			in.Email, in.Role = site.Email, tokensmith.RoleAdmin
		} else if err := decode(r, &in, false); err != nil {
			return err
		}
		m, err := h.svc.AddMember(r.Context(), c, wh, in.Email, in.Role)
		if err != nil {
			return err
		}
		h.log.InfoContext(r.Context(), "member added", "memberId", m.ID, "role", m.Role)
		writeJSON(w, http.StatusCreated, newMember(m))
		return nil
	})
}

func (h *peopleHandler) update(where func(*http.Request) tokensmith.Place) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
		var in struct {
			Role tokensmith.Role `json:"role"`
		}
		if err := decode(r, &in, false); err != nil {
			return err
		}
		m, err := h.svc.UpdateMember(r.Context(), c, where(r), r.PathValue("member_id"), in.Role)
		if err != nil {
			return err
		}
		h.log.InfoContext(r.Context(), "member updated", "memberId", m.ID, "role", m.Role)
		writeJSON(w, http.StatusOK, newMember(m))
		return nil
	})
}

func (h *peopleHandler) remove(where func(*http.Request) tokensmith.Place) http.HandlerFunc {
	return asPerson(h.log, func(w http.ResponseWriter, r *http.Request, c tokensmith.Caller) error {
		id := r.PathValue("member_id")
		if err := h.svc.RemoveMember(r.Context(), c, where(r), id); err != nil {
			return err
		}
		h.log.InfoContext(r.Context(), "member removed", "memberId", id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
