package people_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/people"
)

// consentWorld is a workspace on DynamoDB Local whose accepted admin
// (arthur, bound by an operator's invitation) has invited victim@example.com
// as admin through the API; the service's clock is *clock.
func consentWorld(t *testing.T) (st *countingStore, svc *people.Service, clock *time.Time, inv tokensmith.Member) {
	t.Helper()
	st, _, ws := storedWorld(t)
	c := now
	clock = &c
	svc = &people.Service{Store: st, Now: func() time.Time { return *clock }, Rand: rand.Reader}
	ctx := context.Background()
	invite(t, svc, ws, admin.Email, tokensmith.RoleAdmin)
	if _, err := svc.SignIn(ctx, admin); err != nil {
		t.Fatal(err)
	}
	inv, err := svc.AddMember(ctx, admin, wsPlace, victim.Email, tokensmith.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return st, svc, clock, inv
}

var victim = tokensmith.Caller{Issuer: iss, Subject: "victim", Email: "victim@example.com"}

// lastEvent is the newest event of the workspace's audit log.
func lastEvent(t *testing.T, st *countingStore) tokensmith.Event {
	t.Helper()
	page, err := st.AuditEvents(context.Background(), wsID, tokensmith.AuditQuery{Desc: true, Limit: 1})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("audit log = %+v, %v", page, err)
	}
	return page.Events[0]
}

// TestInvitationByConsent: an invitation made through the API binds only
// when its invitee accepts it. Before that, the invitee's calls hold
// nothing of it and list it under Me's invitations, and the inviting
// admin's list shows no userId; accepting binds it, with
// invitation_accepted by the invitee; declining removes it, with
// user_removed naming no account id.
func TestInvitationByConsent(t *testing.T) {
	ctx := context.Background()
	t.Run("waits", func(t *testing.T) {
		_, svc, _, inv := consentWorld(t)
		for i := 0; i < 2; i++ {
			me, err := svc.Me(ctx, victim)
			if err != nil {
				t.Fatal(err)
			}
			if len(me.Workspaces) != 0 || len(me.Sites) != 0 {
				t.Errorf("call %d: victim sees %+v, %+v; want nothing before accepting", i, me.Workspaces, me.Sites)
			}
			if len(me.Invitations) != 1 || me.Invitations[0].Member.ID != inv.ID || me.Invitations[0].Workspace.Name != "Hitchhikers" ||
				me.Invitations[0].Member.AddedBy.Email != admin.Email || me.Invitations[0].Site != nil {
				t.Errorf("call %d: invitations = %+v; want the one from %s to Hitchhikers", i, me.Invitations, admin.Email)
			}
		}
		ms, err := svc.Members(ctx, admin, wsPlace)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.ID == inv.ID && m.Bound() {
				t.Errorf("the inviter sees %+v; want no userId before the invitee accepts", m)
			}
		}
	})
	t.Run("accepted", func(t *testing.T) {
		st, svc, _, inv := consentWorld(t)
		if _, err := svc.AcceptInvitation(ctx, impostor, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			t.Errorf("accept by another email = %v; want not found", err)
		}
		me, err := svc.AcceptInvitation(ctx, victim, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(me.Workspaces) != 1 || me.Workspaces[0].Role != tokensmith.RoleAdmin || len(me.Invitations) != 0 {
			t.Errorf("after accepting: %+v, invitations %+v; want admin of the workspace, none waiting", me.Workspaces, me.Invitations)
		}
		ev := lastEvent(t, st)
		if ev.SubType != audit.SubInvitationAccepted || ev.Actor.ID != me.User.ID {
			t.Errorf("last event = %+v; want invitation_accepted by the invitee", ev)
		}
		if m, err := st.Member(ctx, wsPlace, inv.ID); err != nil || m.UserID != me.User.ID {
			t.Errorf("member = %+v, %v; want bound to the invitee", m, err)
		}
		if ws, err := st.Workspace(ctx, wsID); err != nil || ws.Admins != 2 {
			t.Errorf("accepted admins = %d, %v; want 2", ws.Admins, err)
		}
		if _, err := svc.AcceptInvitation(ctx, victim, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			t.Errorf("accepting again = %v; want not found", err)
		}
	})
	t.Run("declined", func(t *testing.T) {
		st, svc, _, inv := consentWorld(t)
		if err := svc.DeclineInvitation(ctx, victim, inv.ID); err != nil {
			t.Fatal(err)
		}
		ev := lastEvent(t, st)
		if ev.SubType != audit.SubUserRemoved || ev.Actor.Type != tokensmith.ActorPerson || ev.Actor.ID != "" || ev.Actor.Email != victim.Email {
			t.Errorf("last event = %+v; want user_removed by the invited email, no account id", ev)
		}
		if _, err := st.Member(ctx, wsPlace, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			t.Errorf("declined member = %v; want removed", err)
		}
		if err := svc.DeclineInvitation(ctx, victim, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			t.Errorf("declining again = %v; want not found", err)
		}
	})
}

// TestInvitationLapses: an invitation made through the API that waits
// tokensmith.InvitationLapse lapses: it is no longer listed or accepted,
// and the invitee's own calls write nothing to the inviting workspace;
// the inviter's side removes it, with user_removed by the system stamped
// with the lapse time, and the email may be invited again. An operator's
// invitation does not lapse.
func TestInvitationLapses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		after time.Duration
		lapse bool
	}{
		{"a second before", tokensmith.InvitationLapse - time.Second, false},
		{"at 30 days", tokensmith.InvitationLapse, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, svc, clock, inv := consentWorld(t)
			invite(t, svc, tokensmith.Workspace{ID: wsID, Slug: "hitchhikers"}, "ford@example.com", tokensmith.RoleMember)
			before := lastEvent(t, st)
			*clock = clock.Add(tc.after)
			me, err := svc.Me(ctx, victim)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(me.Invitations) == 0; got != tc.lapse {
				t.Errorf("invitations = %+v; want lapsed %v", me.Invitations, tc.lapse)
			}
			if _, err := st.Member(ctx, wsPlace, inv.ID); err != nil {
				t.Errorf("member after the invitee's sign-in = %v; want left to the inviter's side", err)
			}
			if ev := lastEvent(t, st); ev.ID != before.ID {
				t.Errorf("last event after the invitee's sign-in = %+v; want none written", ev)
			}
			if !tc.lapse {
				return
			}
			if _, err := svc.AcceptInvitation(ctx, victim, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
				t.Errorf("accepting the lapsed invitation = %v; want not found", err)
			}
			*clock = clock.Add(time.Hour)
			if _, err := svc.AddMember(ctx, admin, wsPlace, victim.Email, tokensmith.RoleMember); err != nil {
				t.Errorf("inviting the email again: %v", err)
			}
			if _, err := st.Member(ctx, wsPlace, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
				t.Errorf("lapsed member after inviting again = %v; want removed", err)
			}
			page, err := st.AuditEvents(ctx, wsID, tokensmith.AuditQuery{Desc: true, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			var removed []tokensmith.Event
			for _, ev := range page.Events {
				if ev.SubType == audit.SubUserRemoved {
					removed = append(removed, ev)
				}
			}
			lapsedAt := inv.AddedOn.Add(tokensmith.InvitationLapse)
			if len(removed) != 1 || removed[0].Actor.Type != tokensmith.ActorSystem || !removed[0].Timestamp.Equal(lapsedAt) {
				t.Errorf("user_removed events = %+v; want one by the system at %v", removed, lapsedAt)
			}
			ford, err := svc.SignIn(ctx, tokensmith.Caller{Issuer: iss, Subject: "ford", Email: "ford@example.com"})
			if err != nil || ford.Role(wsPlace) != tokensmith.RoleMember {
				t.Errorf("the operator's invitation after 30 days = %+v, %v; want bound", ford, err)
			}
		})
	}
}

// TestLapsedInvitationsLeaveTheList: the admin's member list removes an
// invitation that lapsed, though its invitee never signs in, stamping
// user_removed with the lapse time, not the list's.
func TestLapsedInvitationsLeaveTheList(t *testing.T) {
	ctx := context.Background()
	st, svc, clock, inv := consentWorld(t)
	*clock = clock.Add(tokensmith.InvitationLapse + time.Hour)
	ms, err := svc.Members(ctx, admin, wsPlace)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == inv.ID {
			t.Errorf("members = %+v; want the lapsed invitation gone", ms)
		}
	}
	if _, err := st.Member(ctx, wsPlace, inv.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("lapsed member = %v; want removed", err)
	}
	lapsedAt := inv.AddedOn.Add(tokensmith.InvitationLapse)
	if ev := lastEvent(t, st); ev.SubType != audit.SubUserRemoved || ev.Actor.Type != tokensmith.ActorSystem || !ev.Timestamp.Equal(lapsedAt) {
		t.Errorf("last event = %+v; want user_removed by the system at %v", ev, lapsedAt)
	}
}

// TestInvitationsPerDay: a workspace invites at most
// tokensmith.InvitationsPerDay emails through the API in a UTC day; the
// next is too_many_requests with the time to the next day, writes
// nothing, and an operator's invitation is not counted.
func TestInvitationsPerDay(t *testing.T) {
	ctx := context.Background()
	st, svc, clock, _ := consentWorld(t) // the first of the day
	*clock = clock.Add(time.Hour)        // 13:00 UTC
	for i := 1; i < tokensmith.InvitationsPerDay; i++ {
		if _, err := svc.AddMember(ctx, admin, wsPlace, "guest"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.com", tokensmith.RoleMember); err != nil {
			t.Fatalf("invitation %d: %v", i+1, err)
		}
	}
	_, err := svc.AddMember(ctx, admin, wsPlace, "one-too-many@example.com", tokensmith.RoleMember)
	e := tokensmith.ErrorOf(err)
	if e.Code != tokensmith.ETOOMANYREQUESTS || e.RetryAfter != 11*time.Hour {
		t.Errorf("invitation %d = %v, retry after %v; want too_many_requests, 11h", tokensmith.InvitationsPerDay+1, err, e.RetryAfter)
	}
	if _, err := st.MemberByEmail(ctx, wsPlace, "one-too-many@example.com"); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("refused invitation stored: %v", err)
	}
	invite(t, svc, tokensmith.Workspace{ID: wsID, Slug: "hitchhikers"}, "operator-guest@example.com", tokensmith.RoleMember)
	if n, err := st.InvitationCount(ctx, wsID, *clock); err != nil || n != tokensmith.InvitationsPerDay {
		t.Errorf("count = %d, %v; want %d", n, err, tokensmith.InvitationsPerDay)
	}
	*clock = clock.Add(11 * time.Hour)
	if _, err := svc.AddMember(ctx, admin, wsPlace, "one-too-many@example.com", tokensmith.RoleMember); err != nil {
		t.Errorf("the next day's first invitation: %v", err)
	}
}
