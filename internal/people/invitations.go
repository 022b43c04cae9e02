package people

import (
	"context"
	"errors"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// AcceptInvitation binds the invitation id, made through the API and
// waiting for the person c, to them, with invitation_accepted by them, and
// returns what they then hold. An invitation to a place where they already
// hold a membership is redundant: it is removed instead, with user_removed
// by them. Any other id is not found.
func (s *Service) AcceptInvitation(ctx context.Context, c tokensmith.Caller, id string) (tokensmith.Me, error) {
	err := s.consent(ctx, c, id, func(m tokensmith.Member, u tokensmith.User, ws tokensmith.Workspace) error {
		o, err := s.accept(ctx, m, u, ws)
		if errors.Is(err, store.ErrHeld) {
			return s.Store.DropInvitation(ctx, m, u, audit.MemberRemoved(o, m))
		}
		return err
	})
	if err != nil {
		return tokensmith.Me{}, err
	}
	return s.Me(ctx, c)
}

// DeclineInvitation removes the invitation id, made through the API and
// waiting for the person c, with user_removed. The event names the person
// by the invited email only: declining tells the inviting workspace no
// account id. Any other id is not found.
func (s *Service) DeclineInvitation(ctx context.Context, c tokensmith.Caller, id string) error {
	return s.consent(ctx, c, id, func(m tokensmith.Member, u tokensmith.User, ws tokensmith.Workspace) error {
		o, err := audit.NewOrigin(s.Now(), s.Rand, tokensmith.Actor{Type: tokensmith.ActorPerson, Email: m.Email}, ws)
		if err != nil {
			return err
		}
		return s.Store.RemoveMember(ctx, m, audit.MemberRemoved(o, m))
	})
}

// consent signs c in and applies f to their pending invitation id, read
// again, with its workspace; a concurrent change makes it read again. An
// invitation that is not theirs, not pending or gone is not found.
func (s *Service) consent(ctx context.Context, c tokensmith.Caller, id string, f func(m tokensmith.Member, u tokensmith.User, ws tokensmith.Workspace) error) error {
	if !token.ValidID(id) {
		return tokensmith.NotFound()
	}
	a, err := s.SignIn(ctx, c)
	if err != nil {
		return err
	}
	i := -1
	for j, inv := range a.Invitations {
		if inv.ID == id {
			i = j
		}
	}
	if i < 0 {
		return tokensmith.NotFound()
	}
	return store.Retry(ctx, func() error {
		m, err := s.Store.Member(ctx, a.Invitations[i].Place, id)
		if err != nil {
			return err
		}
		if !m.Pending(s.Now()) || m.Email != a.User.Email {
			return tokensmith.NotFound()
		}
		ws, err := s.Store.Workspace(ctx, m.Place.WorkspaceID)
		if err != nil {
			return err
		}
		return f(m, a.User, ws)
	})
}

// lapse removes m, an invitation made through the API and left unaccepted
// past tokensmith.InvitationLapse, with user_removed by the system stamped
// with the time it lapsed, not the time of the call: the inviting side
// (Members, Invite) removes it and learns nothing of when the invitee
// calls. A concurrent change leaves it to the next reader, who sees it
// lapsed too.
func (s *Service) lapse(ctx context.Context, m tokensmith.Member) error {
	ws, err := s.Store.Workspace(ctx, m.Place.WorkspaceID)
	if err != nil {
		return err
	}
	o, err := audit.NewOrigin(m.AddedOn.Add(tokensmith.InvitationLapse), s.Rand, tokensmith.Actor{Type: tokensmith.ActorSystem}, ws)
	if err != nil {
		return err
	}
	err = s.Store.RemoveMember(ctx, m, audit.MemberRemoved(o, m))
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// dropLapsed removes the lapsed invitations of ms and returns the others.
func (s *Service) dropLapsed(ctx context.Context, ms []tokensmith.Member) ([]tokensmith.Member, error) {
	out := ms[:0]
	for _, m := range ms {
		if !m.Lapsed(s.Now()) {
			out = append(out, m)
			continue
		}
		if err := s.lapse(ctx, m); err != nil {
			return nil, err
		}
	}
	return out, nil
}
