package people_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/people"
)

var _ people.Store = (*mock.Members)(nil)

var now = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

const (
	iss      = "https://issuer.example"
	wsID     = "0000000a0000000000000001"
	siteID   = "0000000a0000000000000002"
	otherWS  = "0000000a0000000000000003"
	adminID  = "0000000b0000000000000001" // member id of the admin
	memberID = "0000000b0000000000000002" // member id of the member
	otherID  = "0000000b0000000000000009" // a member of the other workspace
)

var (
	wsPlace   = tokensmith.Place{WorkspaceID: wsID}
	sitePlace = tokensmith.Place{WorkspaceID: wsID, SiteID: siteID}
	admin     = tokensmith.Caller{Issuer: iss, Subject: "arthur", Email: "admin@example.com"}
	member    = tokensmith.Caller{Issuer: iss, Subject: "ford", Email: "member@example.com"}
	siteAdmin = tokensmith.Caller{Issuer: iss, Subject: "zaphod", Email: "siteadmin@example.com"}
	stranger  = tokensmith.Caller{Issuer: iss, Subject: "marvin", Email: "stranger@example.com"}
	impostor  = tokensmith.Caller{Issuer: iss, Subject: "someone-else", Email: "admin@example.com"}
)

// world is what the fake store answers from, and what its writes did.
type world struct {
	users   map[string]tokensmith.User   // by issuer+sub
	members map[string]tokensmith.Member // by member id
	events  []tokensmith.Event
}

// admins counts the accepted admins of workspace id, as the store's count
// does.
func (w *world) admins(id string) int64 {
	var n int64
	for _, m := range w.members {
		if m.Place.WorkspaceID == id && m.AcceptedAdmin() {
			n++
		}
	}
	return n
}

func newWorld() *world {
	w := &world{users: map[string]tokensmith.User{}, members: map[string]tokensmith.Member{}}
	for _, m := range []tokensmith.Member{
		{ID: adminID, Place: wsPlace, Email: admin.Email, Role: tokensmith.RoleAdmin},
		{ID: memberID, Place: wsPlace, Email: member.Email, Role: tokensmith.RoleMember},
		{ID: "0000000b0000000000000003", Place: sitePlace, Email: siteAdmin.Email, Role: tokensmith.RoleAdmin},
		{ID: otherID, Place: tokensmith.Place{WorkspaceID: otherWS}, Email: stranger.Email, Role: tokensmith.RoleAdmin},
	} {
		w.members[m.ID] = m
	}
	return w
}

func nf(what string) error { return fmt.Errorf("%s: %w", what, tokensmith.NotFound()) }

func (w *world) store() *mock.Members {
	return &mock.Members{
		UserByIdentityFn: func(_ context.Context, issuer, sub string) (tokensmith.User, error) {
			if u, ok := w.users[issuer+" "+sub]; ok {
				return u, nil
			}
			return tokensmith.User{}, nf("user")
		},
		CreateUserFn: func(_ context.Context, u tokensmith.User) error {
			w.users[u.Issuer+" "+u.Subject] = u
			return nil
		},
		InvitationsFn: func(_ context.Context, email string) ([]tokensmith.Member, error) {
			var out []tokensmith.Member
			for _, m := range w.members {
				if m.Email == email {
					out = append(out, m)
				}
			}
			return out, nil
		},
		MembershipsFn: func(_ context.Context, userID string) ([]tokensmith.Membership, error) {
			var out []tokensmith.Membership
			for _, m := range w.members {
				if m.UserID == userID {
					out = append(out, tokensmith.Membership{Place: m.Place, UserID: userID, MemberID: m.ID, Role: m.Role})
				}
			}
			return out, nil
		},
		MemberFn: func(_ context.Context, p tokensmith.Place, id string) (tokensmith.Member, error) {
			if m, ok := w.members[id]; ok && m.Place == p {
				return m, nil
			}
			return tokensmith.Member{}, nf("member")
		},
		MemberByEmailFn: func(_ context.Context, p tokensmith.Place, email string) (tokensmith.Member, error) {
			for _, m := range w.members {
				if m.Place == p && m.Email == email {
					return m, nil
				}
			}
			return tokensmith.Member{}, nf("member")
		},
		MembersFn: func(_ context.Context, p tokensmith.Place) ([]tokensmith.Member, error) {
			var out []tokensmith.Member
			for _, m := range w.members {
				if m.Place == p {
					out = append(out, m)
				}
			}
			return out, nil
		},
		WorkspaceFn: func(_ context.Context, id string) (tokensmith.Workspace, error) {
			switch id {
			case wsID:
				return tokensmith.Workspace{ID: wsID, Slug: "hitchhikers", Plan: tokensmith.PlanEnterprise, Admins: w.admins(wsID)}, nil
			case otherWS:
				return tokensmith.Workspace{ID: otherWS, Slug: "vogons", Admins: 1}, nil
			}
			return tokensmith.Workspace{}, nf("workspace")
		},
		SiteFn: func(_ context.Context, id string) (tokensmith.Site, error) {
			if id == siteID {
				return tokensmith.Site{ID: siteID, WorkspaceID: wsID, ShortName: "heart-of-gold"}, nil
			}
			return tokensmith.Site{}, nf("site")
		},
		SitesFn: func(_ context.Context, id string) ([]tokensmith.Site, error) {
			if id == wsID {
				return []tokensmith.Site{{ID: siteID, WorkspaceID: wsID, ShortName: "heart-of-gold"}}, nil
			}
			return nil, nil
		},
		AddMemberFn: func(_ context.Context, m tokensmith.Member, ev tokensmith.Event) error {
			w.members[m.ID] = m
			w.events = append(w.events, ev)
			return nil
		},
		BindMemberFn: func(_ context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error {
			m.UserID = u.ID
			w.members[m.ID] = m
			w.events = append(w.events, ev)
			return nil
		},
		SetRoleFn: func(_ context.Context, m tokensmith.Member, role tokensmith.Role, ev tokensmith.Event) error {
			m.Role = role
			w.members[m.ID] = m
			w.events = append(w.events, ev)
			return nil
		},
		RemoveMemberFn: func(_ context.Context, m tokensmith.Member, ev tokensmith.Event) error {
			delete(w.members, m.ID)
			w.events = append(w.events, ev)
			return nil
		},
	}
}

func service(st people.Store) *people.Service {
	return &people.Service{Store: st, Now: func() time.Time { return now }, Rand: rand.Reader}
}

func code(err error) string {
	var ae *tokensmith.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

// TestSignInBinds: the first sign-in binds the invitations of the verified
// email to the issuer and subject, with an event whose actor is the person;
// another account with the same email then holds nothing.
func TestSignInBinds(t *testing.T) {
	w := newWorld()
	svc := service(w.store())
	ctx := context.Background()
	a, err := svc.SignIn(ctx, tokensmith.Caller{Issuer: iss, Subject: "arthur", Email: "Admin@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Role(wsPlace); got != tokensmith.RoleAdmin {
		t.Errorf("role after the first sign-in = %q; want admin", got)
	}
	if len(w.events) != 1 || w.events[0].SubType != audit.SubInvitationAccepted || w.events[0].Type != audit.TypeWorkspaceMembership ||
		w.events[0].Actor.Type != tokensmith.ActorPerson || w.events[0].Actor.ID != a.User.ID {
		t.Errorf("events = %+v; want one invitation_accepted by the person", w.events)
	}
	if m := w.members[adminID]; m.UserID != a.User.ID {
		t.Errorf("member after sign-in = %+v; want bound to %s", m, a.User.ID)
	}
	// Signing in again binds nothing more.
	if _, err := svc.SignIn(ctx, admin); err != nil || len(w.events) != 1 {
		t.Errorf("second sign-in = %v, %d events; want no new event", err, len(w.events))
	}
	other, err := svc.SignIn(ctx, impostor)
	if err != nil || len(other.Memberships) != 0 || other.User.ID == a.User.ID {
		t.Errorf("another account with the same email = %+v, %v; want a different person holding nothing", other, err)
	}
	if _, err := svc.SignIn(ctx, tokensmith.Caller{Issuer: iss, Email: "x@example.com"}); code(err) != tokensmith.EUNAUTHORIZED {
		t.Errorf("sign-in without a subject = %v; want not_authorized", err)
	}
}

// TestWhoMayManageMembers: workspace admins only; who belongs but lacks
// the role is forbidden, anyone else is not found.
func TestWhoMayManageMembers(t *testing.T) {
	tests := []struct {
		name   string
		caller tokensmith.Caller
		where  tokensmith.Place
		want   string
	}{
		{"workspace admin, workspace", admin, tokensmith.Place{WorkspaceID: wsID}, ""},
		{"workspace admin, site", admin, tokensmith.Place{SiteID: siteID}, ""},
		{"workspace member", member, tokensmith.Place{WorkspaceID: wsID}, tokensmith.EFORBIDDEN},
		{"workspace member, site", member, tokensmith.Place{SiteID: siteID}, tokensmith.EFORBIDDEN},
		{"site administrator only", siteAdmin, tokensmith.Place{WorkspaceID: wsID}, tokensmith.EFORBIDDEN},
		{"site administrator only, site", siteAdmin, tokensmith.Place{SiteID: siteID}, tokensmith.EFORBIDDEN},
		{"admin of another workspace", stranger, tokensmith.Place{WorkspaceID: wsID}, tokensmith.ENOTFOUND},
		{"another account with the admin's email", impostor, tokensmith.Place{WorkspaceID: wsID}, tokensmith.ENOTFOUND},
		{"unknown workspace", admin, tokensmith.Place{WorkspaceID: "0000000a00000000000000ff"}, tokensmith.ENOTFOUND},
		{"malformed workspace id", admin, tokensmith.Place{WorkspaceID: "../x"}, tokensmith.ENOTFOUND},
		{"unknown site", admin, tokensmith.Place{SiteID: "0000000a00000000000000ff"}, tokensmith.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			svc := service(w.store())
			ctx := context.Background()
			if reflect.DeepEqual(tc.caller, impostor) {
				if _, err := svc.SignIn(ctx, admin); err != nil {
					t.Fatal(err)
				}
			}
			before := len(w.events)
			_, err := svc.Members(ctx, tc.caller, tc.where)
			if got := code(err); got != tc.want {
				t.Errorf("Members = %v; want %q", err, tc.want)
			}
			role := tokensmith.RoleMember
			if tc.where.SiteID != "" {
				role = tokensmith.RoleAdmin
			}
			_, err = svc.AddMember(ctx, tc.caller, tc.where, "trillian@example.com", role)
			if got := code(err); got != tc.want {
				t.Errorf("AddMember = %v; want %q", err, tc.want)
			}
			if tc.want != "" {
				var changes int
				for _, ev := range w.events[before:] {
					if ev.SubType != audit.SubInvitationAccepted {
						changes++
					}
				}
				if changes != 0 {
					t.Errorf("a refused caller changed %d members", changes)
				}
			}
		})
	}
}

// TestMemberChanges: bad input, duplicates and the last admin are refused
// with the code API.md names, and write nothing.
func TestMemberChanges(t *testing.T) {
	ws := tokensmith.Place{WorkspaceID: wsID}
	site := tokensmith.Place{SiteID: siteID}
	tests := []struct {
		name string
		do   func(*people.Service) error
		want string
	}{
		{"add a member", func(s *people.Service) error {
			_, err := s.AddMember(context.Background(), admin, ws, "Trillian@Example.com", tokensmith.RoleMember)
			return err
		}, ""},
		{"add a site administrator", func(s *people.Service) error {
			_, err := s.AddMember(context.Background(), admin, site, "trillian@example.com", tokensmith.RoleAdmin)
			return err
		}, ""},
		{"email that is not an address", func(s *people.Service) error {
			_, err := s.AddMember(context.Background(), admin, ws, "not-an-email", tokensmith.RoleMember)
			return err
		}, tokensmith.EINVALID},
		{"email with a display name", func(s *people.Service) error {
			_, err := s.AddMember(context.Background(), admin, ws, "Trillian <t@example.com>", tokensmith.RoleMember)
			return err
		}, tokensmith.EINVALID},
		{"role outside the list", func(s *people.Service) error {
			_, err := s.AddMember(context.Background(), admin, ws, "t@example.com", "owner")
			return err
		}, tokensmith.EINVALID},
		{"member role on a site", func(s *people.Service) error {
			_, err := s.AddMember(context.Background(), admin, site, "t@example.com", tokensmith.RoleMember)
			return err
		}, tokensmith.EINVALID},
		{"the same email twice", func(s *people.Service) error {
			_, err := s.AddMember(context.Background(), admin, ws, "MEMBER@example.com", tokensmith.RoleAdmin)
			return err
		}, tokensmith.ECONFLICT},
		{"promote a member", func(s *people.Service) error {
			_, err := s.UpdateMember(context.Background(), admin, ws, memberID, tokensmith.RoleAdmin)
			return err
		}, ""},
		{"demote the last admin (oneself)", func(s *people.Service) error {
			_, err := s.UpdateMember(context.Background(), admin, ws, adminID, tokensmith.RoleMember)
			return err
		}, tokensmith.ECONFLICT},
		{"remove the last admin (oneself)", func(s *people.Service) error {
			return s.RemoveMember(context.Background(), admin, ws, adminID)
		}, tokensmith.ECONFLICT},
		{"update to a role outside the list", func(s *people.Service) error {
			_, err := s.UpdateMember(context.Background(), admin, ws, memberID, "owner")
			return err
		}, tokensmith.EINVALID},
		{"remove a member", func(s *people.Service) error {
			return s.RemoveMember(context.Background(), admin, ws, memberID)
		}, ""},
		{"member id of another workspace", func(s *people.Service) error {
			return s.RemoveMember(context.Background(), admin, ws, otherID)
		}, tokensmith.ENOTFOUND},
		{"member id of the workspace on a site route", func(s *people.Service) error {
			return s.RemoveMember(context.Background(), admin, site, memberID)
		}, tokensmith.ENOTFOUND},
		{"member id of the wrong shape", func(s *people.Service) error {
			_, err := s.UpdateMember(context.Background(), admin, ws, "0000000B0000000000000002", tokensmith.RoleAdmin)
			return err
		}, tokensmith.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			svc := service(w.store())
			if _, err := svc.SignIn(context.Background(), admin); err != nil {
				t.Fatal(err)
			}
			before := len(w.events)
			err := tc.do(svc)
			if got := code(err); got != tc.want {
				t.Errorf("got %v; want %q", err, tc.want)
			}
			changes := len(w.events) - before
			if tc.want == "" && changes != 1 {
				t.Errorf("a change wrote %d events; want 1", changes)
			}
			if tc.want != "" && changes != 0 {
				t.Errorf("a refused change wrote %d events", changes)
			}
			for _, ev := range w.events[before:] {
				if ev.Actor.Type != tokensmith.ActorPerson || ev.Actor.Email != admin.Email {
					t.Errorf("event actor = %+v; want the admin", ev.Actor)
				}
			}
		})
	}
}

// TestLastAcceptedAdmin: the last-admin guard counts only admins bound to
// a person. An admin invitation no one has accepted does not let the last
// accepted admin leave or step down, and may itself be changed or removed;
// once accepted, it counts.
func TestLastAcceptedAdmin(t *testing.T) {
	const ghostEmail = "ghost@nowhere.test"
	ghost := tokensmith.Caller{Issuer: iss, Subject: "ghost", Email: ghostEmail}
	ws := tokensmith.Place{WorkspaceID: wsID}
	tests := []struct {
		name     string
		accepted bool // whether the ghost signs in before the change
		do       func(s *people.Service, ghostID string) error
		want     string
	}{
		{"remove oneself, the invitation unaccepted", false, func(s *people.Service, _ string) error {
			return s.RemoveMember(context.Background(), admin, ws, adminID)
		}, tokensmith.ECONFLICT},
		{"demote oneself, the invitation unaccepted", false, func(s *people.Service, _ string) error {
			_, err := s.UpdateMember(context.Background(), admin, ws, adminID, tokensmith.RoleMember)
			return err
		}, tokensmith.ECONFLICT},
		{"remove the unaccepted invitation", false, func(s *people.Service, ghostID string) error {
			return s.RemoveMember(context.Background(), admin, ws, ghostID)
		}, ""},
		{"demote the unaccepted invitation", false, func(s *people.Service, ghostID string) error {
			_, err := s.UpdateMember(context.Background(), admin, ws, ghostID, tokensmith.RoleMember)
			return err
		}, ""},
		{"remove oneself, the invitation accepted", true, func(s *people.Service, _ string) error {
			return s.RemoveMember(context.Background(), admin, ws, adminID)
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			svc := service(w.store())
			ctx := context.Background()
			if _, err := svc.SignIn(ctx, admin); err != nil {
				t.Fatal(err)
			}
			inv, err := svc.AddMember(ctx, admin, ws, ghostEmail, tokensmith.RoleAdmin)
			if err != nil {
				t.Fatal(err)
			}
			if tc.accepted {
				if _, err := svc.AcceptInvitation(ctx, ghost, inv.ID); err != nil {
					t.Fatal(err)
				}
			}
			before := len(w.events)
			err = tc.do(svc, inv.ID)
			if got := code(err); got != tc.want {
				t.Errorf("got %v; want %q", err, tc.want)
			}
			if changes := len(w.events) - before; (tc.want == "") != (changes == 1) {
				t.Errorf("the change wrote %d events", changes)
			}
			if got := w.admins(wsID); got < 1 {
				t.Errorf("accepted admins after the change = %d; want at least 1", got)
			}
		})
	}
}

// TestMe: the workspaces a person belongs to, every site of them, and the
// sites they administer, with whether they may manage its tokens.
func TestMe(t *testing.T) {
	tests := []struct {
		name       string
		caller     tokensmith.Caller
		workspaces string
		sites      string
	}{
		{"admin", admin, "[hitchhikers/admin]", fmt.Sprintf("[%s/true]", siteID)},
		{"member", member, "[hitchhikers/member]", fmt.Sprintf("[%s/false]", siteID)},
		{"site administrator", siteAdmin, "[]", fmt.Sprintf("[%s/true]", siteID)},
		{"nobody", tokensmith.Caller{Issuer: iss, Subject: "x", Email: "x@example.com"}, "[]", "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			me, err := service(newWorld().store()).Me(context.Background(), tc.caller)
			if err != nil {
				t.Fatal(err)
			}
			ws := []string{}
			for _, w := range me.Workspaces {
				ws = append(ws, w.Workspace.Slug+"/"+string(w.Role))
			}
			sites := []string{}
			for _, s := range me.Sites {
				sites = append(sites, fmt.Sprintf("%s/%v", s.Site.ID, s.CanManageTokens))
			}
			if got := fmt.Sprint(ws); got != tc.workspaces {
				t.Errorf("workspaces = %s; want %s", got, tc.workspaces)
			}
			if got := fmt.Sprint(sites); got != tc.sites {
				t.Errorf("sites = %s; want %s", got, tc.sites)
			}
		})
	}
}
