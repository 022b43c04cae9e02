// Package people is who a signed-in person is and what they hold: their
// sign-in, which binds the memberships an operator granted to their
// verified email to their issuer and subject; the invitations workspace
// admins made through the API, which wait for the person to accept or
// decline them; and the members of workspaces and sites, as
// workspace admins (GET /v2/me and the members routes) and operators
// (tokenctl, through operator) manage them. It knows nothing of HTTP.
package people

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// MaxEmailLen is the longest email a membership may be granted to (RFC 5321's path limit).
const MaxEmailLen = 254

// UserPool is the part of Cognito's client that invitations call.
type UserPool interface {
	AdminCreateUser(ctx context.Context, in *cognitoidentityprovider.AdminCreateUserInput, optFns ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminCreateUserOutput, error)
	AdminGetUser(ctx context.Context, in *cognitoidentityprovider.AdminGetUserInput, optFns ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminGetUserOutput, error)
}

// Resends throttles the temporary passwords sent again (store.Store's
// ClaimResend): at most one per email per store.ResendInterval, whichever
// workspaces invite it.
type Resends interface {
	ClaimResend(ctx context.Context, email string, now time.Time) error
}

// Store is the part of the store that sign-in and members call. Its
// writes record their audit event in the same transaction; a write that
// finds the rows changed since they were read is store.ErrConflict, and a
// binding to a person who already holds a membership in that place is
// store.ErrHeld.
type Store interface {
	UserByIdentity(ctx context.Context, issuer, sub string) (tokensmith.User, error)
	CreateUser(ctx context.Context, u tokensmith.User) error
	Invitations(ctx context.Context, email string) ([]tokensmith.Member, error)
	Memberships(ctx context.Context, userID string) ([]tokensmith.Membership, error)
	Member(ctx context.Context, p tokensmith.Place, id string) (tokensmith.Member, error)
	MemberByEmail(ctx context.Context, p tokensmith.Place, email string) (tokensmith.Member, error)
	Members(ctx context.Context, p tokensmith.Place) ([]tokensmith.Member, error)
	Workspace(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error)
	Site(ctx context.Context, id string) (tokensmith.Site, error)
	Sites(ctx context.Context, wsID string) ([]tokensmith.Site, error)
	AddMember(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error
	BindMember(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error
	DropInvitation(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error
	SetRole(ctx context.Context, m tokensmith.Member, role tokensmith.Role, ev tokensmith.Event) error
	RemoveMember(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error
	SetTokenLifetimePolicy(ctx context.Context, ws tokensmith.Workspace, days int64, ev tokensmith.Event) error
}

var _ tokensmith.PeopleService = (*Service)(nil)

// Service signs people in and manages members.
type Service struct {
	Store Store
	Now   func() time.Time
	Rand  io.Reader
	// UserPool and UserPoolID, when set, are the stack's own Cognito user
	// pool, where inviting an email without an account creates one. Without
	// them, accounts are the issuer's business.
	UserPool   UserPool
	UserPoolID string
	// Resends, when set with the user pool, lets an invitation send an
	// account that has never signed in (FORCE_CHANGE_PASSWORD) a new
	// temporary password, at most once a day per email.
	Resends Resends
}

// New returns a Service with the real clock and crypto/rand, creating no accounts.
func New(st Store) *Service { return &Service{Store: st, Now: time.Now, Rand: rand.Reader} }

// SignIn resolves c to a person by issuer and subject, creating them on
// their first call; binds to them every operator's invitation to their
// email that no one holds yet; and returns what they hold, read strongly
// consistent, with the invitations made through the API that wait for
// their consent (AcceptInvitation binds those). Another account with the
// same email finds those memberships bound and holds nothing. An
// operator's invitation to a place where the person already holds a
// membership (granted to an email they verified before) is redundant: it
// is removed, so that no one else takes it. An invitation left
// unaccepted past tokensmith.InvitationLapse lapses: it is absent here,
// and the sign-in writes nothing to the inviting workspace (the inviter's
// side removes it, see lapse).
func (s *Service) SignIn(ctx context.Context, c tokensmith.Caller) (tokensmith.Person, error) {
	if c.Issuer == "" || c.Subject == "" || c.Email == "" {
		return tokensmith.Person{}, tokensmith.Unauthorized()
	}
	u, err := s.person(ctx, c)
	if err != nil {
		return tokensmith.Person{}, err
	}
	invs, err := s.Store.Invitations(ctx, u.Email)
	if err != nil {
		return tokensmith.Person{}, err
	}
	var pending []tokensmith.Member
	for _, inv := range invs {
		if inv.Bound() {
			continue
		}
		m, err := s.Store.Member(ctx, inv.Place, inv.ID)
		if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
			continue
		}
		if err != nil {
			return tokensmith.Person{}, err
		}
		now := s.Now()
		switch {
		case m.Bound() || m.Email != u.Email || m.Lapsed(now):
		case m.Pending(now):
			pending = append(pending, m)
		default:
			err = s.bind(ctx, inv, u)
		}
		if err != nil {
			return tokensmith.Person{}, err
		}
	}
	held, err := s.Store.Memberships(ctx, u.ID)
	if err != nil {
		return tokensmith.Person{}, err
	}
	sortMembers(pending)
	return tokensmith.Person{User: u, Memberships: held, Invitations: pending}, nil
}

// person finds or creates the person c names. Their email is the one the
// token verifies now. Concurrent first calls of the same person create
// them once: the others read the one created, trying again while the
// creating transaction is in flight.
func (s *Service) person(ctx context.Context, c tokensmith.Caller) (tokensmith.User, error) {
	email := store.NormalizeEmail(c.Email)
	var u tokensmith.User
	err := store.Retry(ctx, func() error {
		var err error
		u, err = s.Store.UserByIdentity(ctx, c.Issuer, c.Subject)
		if tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
			return err
		}
		id, err := token.NewID(s.Now(), s.Rand)
		if err != nil {
			return err
		}
		u = tokensmith.User{ID: id, Issuer: c.Issuer, Subject: c.Subject, Email: email}
		err = s.Store.CreateUser(ctx, u)
		if errors.Is(err, store.ErrExists) {
			// A concurrent first call created them; theirs is the one.
			return store.ErrConflict
		}
		return err
	})
	if err != nil {
		return tokensmith.User{}, err
	}
	u.Email = email
	return u, nil
}

// bind binds the operator's invitation inv to u, unless someone binds or
// removes it first. When u already holds a membership in that place, the invitation
// is redundant: it is removed, with user_removed by u, so that no other
// account with the email takes it later; u keeps the role they hold. Only
// an admin invitation to a workspace that has no accepted admin is left as
// it is, and tried once again on the next sign-in: it is the workspace's
// way to an admin. Once a workspace has an accepted admin it keeps one, so
// the count read here cannot go stale towards none.
func (s *Service) bind(ctx context.Context, inv tokensmith.Member, u tokensmith.User) error {
	err := store.Retry(ctx, func() error {
		m, err := s.Store.Member(ctx, inv.Place, inv.ID)
		if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
			return nil
		}
		if err != nil || m.Bound() || m.Email != u.Email || m.ByConsent() {
			return err
		}
		ws, err := s.Store.Workspace(ctx, m.Place.WorkspaceID)
		if err != nil {
			return err
		}
		o, err := s.accept(ctx, m, u, ws)
		if !errors.Is(err, store.ErrHeld) {
			return err
		}
		if m.Role == tokensmith.RoleAdmin && !m.Place.IsSite() && ws.Admins < 1 {
			return nil
		}
		return s.Store.DropInvitation(ctx, m, u, audit.MemberRemoved(o, m))
	})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// accept binds the unbound member m of ws to u, with invitation_accepted
// by u, and returns the origin of that event: store.ErrHeld when u already
// holds a membership in m's place.
func (s *Service) accept(ctx context.Context, m tokensmith.Member, u tokensmith.User, ws tokensmith.Workspace) (audit.Origin, error) {
	o, err := audit.NewOrigin(s.Now(), s.Rand, u.Actor(), ws)
	if err != nil {
		return audit.Origin{}, err
	}
	bound := m
	bound.UserID = u.ID
	return o, s.Store.BindMember(ctx, m, u, audit.InvitationAccepted(o, bound))
}

// CheckEmail returns email as memberships are granted to it (trimmed of
// ASCII white space, ASCII letters in lower case), or a validation error
// naming field. Any other white space, around the address or in it, and
// any invisible character (format characters such as zero-width spaces,
// soft hyphens and bidirectional overrides, variation selectors, other
// default-ignorable code points) is refused: an address must look like
// what it is.
func CheckEmail(field, email string) (string, error) {
	trimmed := store.TrimASCIISpace(email)
	addr, err := mail.ParseAddress(trimmed)
	if err != nil || addr.Address != trimmed || addr.Name != "" || len(trimmed) > MaxEmailLen ||
		strings.IndexFunc(trimmed, invisible) >= 0 {
		return "", tokensmith.Invalid(tokensmith.ErrorDetail{Field: field, Message: fmt.Sprintf("must be an email address of at most %d characters", MaxEmailLen)})
	}
	return store.NormalizeEmail(trimmed), nil
}

// invisible reports whether r is white space, a control character or a
// character that is not displayed.
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) ||
		unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// CheckRole returns a validation error naming field unless role is one a
// member of place p may hold: admin or member in a workspace, admin on a site.
func CheckRole(field string, p tokensmith.Place, role tokensmith.Role) error {
	switch {
	case p.IsSite() && role != tokensmith.RoleAdmin:
		return tokensmith.Invalid(tokensmith.ErrorDetail{Field: field, Message: "must be admin"})
	case !p.IsSite() && role != tokensmith.RoleAdmin && role != tokensmith.RoleMember:
		return tokensmith.Invalid(tokensmith.ErrorDetail{Field: field, Message: "must be admin or member"})
	}
	return nil
}

// joinInvalid is one validation error with the details of errs, which
// are validation errors or nil.
func joinInvalid(errs ...error) error {
	var details []tokensmith.ErrorDetail
	for _, err := range errs {
		var ae *tokensmith.Error
		if errors.As(err, &ae) {
			details = append(details, ae.Details...)
		}
	}
	if len(details) == 0 {
		return nil
	}
	return tokensmith.Invalid(details...)
}

// errDuplicate and errLastAdmin are the conflicts of API.md section 10.
var (
	errDuplicate = tokensmith.Errorf(tokensmith.ECONFLICT, "This email is already a member")
	errLastAdmin = tokensmith.Errorf(tokensmith.ECONFLICT, "A workspace keeps at least one admin")
)

// Invite grants email role in place p of ws, as actor: a new member. An
// operator's invitation binds on the first sign-in with that email; a
// person's (through the API) waits for the invitee to accept it, and counts
// against the workspace's tokensmith.InvitationsPerDay. A lapsed
// invitation to the same email is removed first. With the stack's user
// pool, once the member is written, an email without an account gets one;
// an existing account is left alone, and a failed write sends nothing. The
// answer is the same whatever the user pool does: a failure to create the
// account is counted (metrics.AccountsNotCreated) and logged, not returned.
func (s *Service) Invite(ctx context.Context, actor tokensmith.Actor, ws tokensmith.Workspace, p tokensmith.Place, email string, role tokensmith.Role) (tokensmith.Member, error) {
	email, emailErr := CheckEmail("email", email)
	if err := joinInvalid(emailErr, CheckRole("role", p, role)); err != nil {
		return tokensmith.Member{}, err
	}
	if prev, err := s.Store.MemberByEmail(ctx, p, email); err == nil {
		if !prev.Lapsed(s.Now()) {
			return tokensmith.Member{}, errDuplicate
		}
		if err := s.lapse(ctx, prev); err != nil {
			return tokensmith.Member{}, err
		}
	} else if tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		return tokensmith.Member{}, err
	}
	var m tokensmith.Member
	err := store.Retry(ctx, func() error {
		now := s.Now().UTC()
		id, err := token.NewID(now, s.Rand)
		if err != nil {
			return err
		}
		m = tokensmith.Member{ID: id, Place: p, Email: email, Role: role, AddedOn: now, AddedBy: actor}
		o, err := audit.NewOrigin(now, s.Rand, actor, ws)
		if err != nil {
			return err
		}
		return s.Store.AddMember(ctx, m, audit.MemberAdded(o, m))
	})
	switch {
	case errors.Is(err, store.ErrExists):
		return tokensmith.Member{}, errDuplicate
	case errors.Is(err, store.ErrLimitReached):
		_, next := store.InvitationDay(m.AddedOn)
		return tokensmith.Member{}, &tokensmith.Error{Code: tokensmith.ETOOMANYREQUESTS,
			Message:    fmt.Sprintf("A workspace may send at most %d invitations a day", tokensmith.InvitationsPerDay),
			RetryAfter: max(next.Sub(s.Now()), time.Second)}
	case err != nil:
		return tokensmith.Member{}, err
	}
	if err := s.createAccount(ctx, email); err != nil {
		// The answer never depends on the user pool: a failure here would
		// tell the inviter that the email has no account yet.
		r := metrics.FromContext(ctx)
		r.Add(metrics.AccountsNotCreated, 1)
		r.Set("accountNotCreated", fmt.Sprintf("member %s: %v", m.ID, err))
	}
	return m, nil
}

// createAccount creates email's account in the stack's user pool, which
// emails the person a temporary password. An account that exists is
// resent one only while it has never signed in (resend); the invitation
// answers as for a new one, so that the inviter learns nothing of it. Its
// errors name Cognito's error code only: Cognito's messages may carry the
// email.
func (s *Service) createAccount(ctx context.Context, email string) error {
	if s.UserPool == nil || s.UserPoolID == "" {
		return nil
	}
	_, err := s.UserPool.AdminCreateUser(ctx, &cognitoidentityprovider.AdminCreateUserInput{
		UserPoolId: aws.String(s.UserPoolID),
		Username:   aws.String(email),
		UserAttributes: []cognito.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
		DesiredDeliveryMediums: []cognito.DeliveryMediumType{cognito.DeliveryMediumTypeEmail},
	})
	var exists *cognito.UsernameExistsException
	switch {
	case errors.As(err, &exists):
		return s.resend(ctx, email)
	case err != nil:
		return fmt.Errorf("create account in user pool: %s", cognitoCode(err))
	}
	return nil
}

// resend sends email's existing account a new temporary password, only if
// it has never signed in (FORCE_CHANGE_PASSWORD: no one's password is
// reset, and an expired temporary password is replaced) and no invitation
// had one sent within store.ResendInterval, from any workspace.
func (s *Service) resend(ctx context.Context, email string) error {
	if s.Resends == nil {
		return nil
	}
	out, err := s.UserPool.AdminGetUser(ctx, &cognitoidentityprovider.AdminGetUserInput{
		UserPoolId: aws.String(s.UserPoolID),
		Username:   aws.String(email),
	})
	if err != nil {
		return fmt.Errorf("read account in user pool: %s", cognitoCode(err))
	}
	if out.UserStatus != cognito.UserStatusTypeForceChangePassword {
		return nil
	}
	switch err := s.Resends.ClaimResend(ctx, email, s.Now()); {
	case errors.Is(err, store.ErrLimitReached):
		return nil
	case err != nil:
		return err
	}
	_, err = s.UserPool.AdminCreateUser(ctx, &cognitoidentityprovider.AdminCreateUserInput{
		UserPoolId:             aws.String(s.UserPoolID),
		Username:               aws.String(email),
		MessageAction:          cognito.MessageActionTypeResend,
		DesiredDeliveryMediums: []cognito.DeliveryMediumType{cognito.DeliveryMediumTypeEmail},
	})
	if err != nil {
		return fmt.Errorf("resend temporary password: %s", cognitoCode(err))
	}
	return nil
}

// cognitoCode is the error code of Cognito's error err, never its message.
func cognitoCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	for _, ctxErr := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ctxErr) {
			return ctxErr.Error()
		}
	}
	return "request failed"
}

// ChangeRole sets member id of place p in ws to role, as actor. Demoting
// the workspace's last accepted admin is a conflict, whatever invitations
// wait; the same role changes nothing.
func (s *Service) ChangeRole(ctx context.Context, actor tokensmith.Actor, ws tokensmith.Workspace, p tokensmith.Place, id string, role tokensmith.Role) (tokensmith.Member, error) {
	if err := CheckRole("role", p, role); err != nil {
		return tokensmith.Member{}, err
	}
	var m tokensmith.Member
	err := s.change(ctx, ws, p, id, func(cur tokensmith.Member, admins int64) error {
		m = cur
		if cur.Role == role {
			return nil
		}
		if cur.AcceptedAdmin() && admins <= 1 {
			return errLastAdmin
		}
		o, err := audit.NewOrigin(s.Now(), s.Rand, actor, ws)
		if err != nil {
			return err
		}
		m.Role = role
		return s.Store.SetRole(ctx, cur, role, audit.MemberRoleUpdated(o, m, cur.Role))
	})
	return m, err
}

// Remove removes member id of place p in ws, as actor. Removing the
// workspace's last accepted admin is a conflict, whatever invitations wait. The tokens the member's person
// minted keep working, and the audit log keeps who minted them.
func (s *Service) Remove(ctx context.Context, actor tokensmith.Actor, ws tokensmith.Workspace, p tokensmith.Place, id string) (tokensmith.Member, error) {
	var m tokensmith.Member
	err := s.change(ctx, ws, p, id, func(cur tokensmith.Member, admins int64) error {
		m = cur
		if cur.AcceptedAdmin() && admins <= 1 {
			return errLastAdmin
		}
		o, err := audit.NewOrigin(s.Now(), s.Rand, actor, ws)
		if err != nil {
			return err
		}
		return s.Store.RemoveMember(ctx, cur, audit.MemberRemoved(o, cur))
	})
	return m, err
}

// change reads member id of p and the workspace's admin count, strongly
// consistent, and applies f; a concurrent change makes it read again. Both
// the store's conditions and f's check of the count keep the last admin:
// two concurrent demotions of the last two admins cannot both pass.
func (s *Service) change(ctx context.Context, ws tokensmith.Workspace, p tokensmith.Place, id string, f func(m tokensmith.Member, admins int64) error) error {
	if !token.ValidID(id) {
		return tokensmith.NotFound()
	}
	return store.Retry(ctx, func() error {
		m, err := s.Store.Member(ctx, p, id)
		if err != nil {
			return err
		}
		cur, err := s.Store.Workspace(ctx, ws.ID)
		if err != nil {
			return err
		}
		return f(m, cur.Admins)
	})
}

// sortMembers orders members oldest first, then by id.
func sortMembers(ms []tokensmith.Member) {
	sort.Slice(ms, func(i, j int) bool {
		if !ms[i].AddedOn.Equal(ms[j].AddedOn) {
			return ms[i].AddedOn.Before(ms[j].AddedOn)
		}
		return ms[i].ID < ms[j].ID
	})
}
