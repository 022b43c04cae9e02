package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
)

// People and memberships. A membership is granted to an email: the member
// item in its place's partition, and the invitation item in the email's
// partition, which keeps an email to one membership per place. Binding it
// to a person sets userId on both and writes the holder item in the
// person's partition, in one transaction: from then on the holder item is
// what authorization reads, strongly consistent, and no other person can
// bind the membership. Every read here is strongly consistent; none goes
// through the index.

// UserByIdentity finds the person an issuer names by sub.
func (s *Store) UserByIdentity(ctx context.Context, issuer, sub string) (tokensmith.User, error) {
	var id identityItem
	if err := s.get(ctx, identityPK(issuer, sub), metaSK, &id); err != nil {
		return tokensmith.User{}, fmt.Errorf("person by identity: %w", err)
	}
	var it userItem
	if err := s.get(ctx, userPK(id.UserID), metaSK, &it); err != nil {
		return tokensmith.User{}, fmt.Errorf("person %s: %w", id.UserID, err)
	}
	return it.user(), nil
}

// CreateUser stores a person; ErrExists when their issuer and subject are
// already someone's.
func (s *Store) CreateUser(ctx context.Context, u tokensmith.User) error {
	var b build
	b.add(s.put(toIdentityItem(u), absent()))
	b.add(s.put(toUserItem(u), absent()))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, map[int]error{0: ErrExists, 1: ErrExists})
}

// Memberships lists what the person userID holds, as bound memberships.
func (s *Store) Memberships(ctx context.Context, userID string) ([]tokensmith.Membership, error) {
	var out []tokensmith.Membership
	err := s.queryPartition(ctx, userPK(userID), "", func(item map[string]types.AttributeValue) error {
		if sk, ok := item[AttrSK].(*types.AttributeValueMemberS); ok && sk.Value == metaSK {
			return nil
		}
		var it holderItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode membership: %w", err)
		}
		out = append(out, it.membership(userID))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("memberships of %s: %w", userID, err)
	}
	return out, nil
}

// Invitations lists the memberships granted to email, bound or not; each
// names its id, place, email and, once bound, its person.
func (s *Store) Invitations(ctx context.Context, email string) ([]tokensmith.Member, error) {
	email = NormalizeEmail(email)
	var out []tokensmith.Member
	err := s.queryPartition(ctx, emailPK(email), "", func(item map[string]types.AttributeValue) error {
		var it invitationItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode invitation: %w", err)
		}
		out = append(out, tokensmith.Member{ID: it.MemberID, Email: email, UserID: it.UserID,
			Place: tokensmith.Place{WorkspaceID: it.WorkspaceID, SiteID: it.SiteID}})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("invitations of an email: %w", err)
	}
	return out, nil
}

// Member reads the member id of place p.
func (s *Store) Member(ctx context.Context, p tokensmith.Place, id string) (tokensmith.Member, error) {
	var it memberItem
	if err := s.get(ctx, placePK(p), memberSK(id), &it); err != nil {
		return tokensmith.Member{}, fmt.Errorf("member %s: %w", id, err)
	}
	return it.member(), nil
}

// MemberByEmail reads the member of place p granted to email.
func (s *Store) MemberByEmail(ctx context.Context, p tokensmith.Place, email string) (tokensmith.Member, error) {
	var it invitationItem
	if err := s.get(ctx, emailPK(NormalizeEmail(email)), placePK(p), &it); err != nil {
		return tokensmith.Member{}, fmt.Errorf("member of %s by email: %w", placePK(p), err)
	}
	return s.Member(ctx, p, it.MemberID)
}

// Members lists the members of place p.
func (s *Store) Members(ctx context.Context, p tokensmith.Place) ([]tokensmith.Member, error) {
	var out []tokensmith.Member
	err := s.queryPartition(ctx, placePK(p), memberSK(""), func(item map[string]types.AttributeValue) error {
		var it memberItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode member: %w", err)
		}
		out = append(out, it.member())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", placePK(p), err)
	}
	return out, nil
}

// queryPartition reads the items of partition pk whose sort key begins with
// skPrefix ("" for all), strongly consistent.
func (s *Store) queryPartition(ctx context.Context, pk, skPrefix string, each func(map[string]types.AttributeValue) error) error {
	kc := expression.Key(AttrPK).Equal(expression.Value(pk))
	if skPrefix != "" {
		kc = kc.And(expression.Key(AttrSK).BeginsWith(skPrefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return fmt.Errorf("build query: %w", err)
	}
	return s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	}, each)
}

// adminDelta is the change to a workspace's admin count when a membership
// goes from prev to next (the zero Member for none): it counts accepted
// admins only.
func adminDelta(prev, next tokensmith.Member) int64 {
	var d int64
	if prev.AcceptedAdmin() {
		d--
	}
	if next.AcceptedAdmin() {
		d++
	}
	return d
}

// countAdmins moves the workspace's admin count by d, with the condition
// that it stays at least 1 when it goes down.
func countAdmins(d int64) (func(expression.UpdateBuilder) expression.UpdateBuilder, *expression.ConditionBuilder) {
	if d == 0 {
		return nil, nil
	}
	upd := func(u expression.UpdateBuilder) expression.UpdateBuilder {
		return u.Add(expression.Name("admins"), expression.Value(d))
	}
	if d > 0 {
		return upd, nil
	}
	return upd, condition(expression.Name("admins").GreaterThan(expression.Value(-d)))
}

// unchanged is the condition that member m is as it was read: same role,
// same binding.
func unchanged(m tokensmith.Member) *expression.ConditionBuilder {
	c := expression.Name("role").Equal(expression.Value(string(m.Role)))
	if m.Bound() {
		c = c.And(expression.Name("userId").Equal(expression.Value(m.UserID)))
	} else {
		c = c.And(expression.AttributeNotExists(expression.Name("userId")))
	}
	return condition(c)
}

// AddMember stores the new, unbound member m and records ev with it:
// ErrExists when m's email is already a member of m's place, not found
// when m's site does not exist. An invitation made through the API
// (Member.ByConsent) counts against its workspace's invitations of
// m.AddedOn's UTC day: ErrLimitReached, writing nothing, when the day
// already holds tokensmith.InvitationsPerDay.
func (s *Store) AddMember(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error {
	var b build
	reasons := map[int]error{}
	b.add(s.put(toMemberItem(m), absent()))
	reasons[b.add(s.put(toInvitationItem(m), absent()))] = ErrExists
	if m.Place.IsSite() {
		reasons[b.add(s.check(placePK(m.Place), metaSK, exists()))] = tokensmith.NotFound()
	}
	if m.ByConsent() {
		reasons[b.add(s.countInvitation(m.Place.WorkspaceID, m.AddedOn))] = ErrLimitReached
	}
	// An unbound member leaves the admin count as it is.
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, reasons)
}

// BindMember binds the unbound member m to the person u and records ev
// with it. ErrConflict when m was bound, changed or removed since it was
// read; ErrHeld when u already holds a membership in m's place.
func (s *Store) BindMember(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error {
	set := expression.Set(expression.Name("userId"), expression.Value(u.ID))
	var b build
	b.add(s.update(placePK(m.Place), memberSK(m.ID), set, unchanged(m)))
	b.add(s.update(emailPK(m.Email), placePK(m.Place), set, unboundInvitation(m)))
	held := b.add(s.put(toHolderItem(tokensmith.Membership{Place: m.Place, UserID: u.ID, MemberID: m.ID, Role: m.Role}), absent()))
	bound := m
	bound.UserID = u.ID
	upd, cond := countAdmins(adminDelta(m, bound))
	b.addAll(s.audit(ctx, ev, upd, cond))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, map[int]error{held: ErrHeld})
}

// DropInvitation deletes the unbound member m, as read, with its
// invitation, because the person u already holds a membership in m's
// place (BindMember's ErrHeld), and records ev with it: no one else can
// take it afterwards. ErrConflict when m changed since it was read, or u
// no longer holds that membership.
func (s *Store) DropInvitation(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error {
	var b build
	b.add(s.del(placePK(m.Place), memberSK(m.ID), unchanged(m)))
	b.add(s.del(emailPK(m.Email), placePK(m.Place), unboundInvitation(m)))
	b.add(s.check(userPK(u.ID), placePK(m.Place), exists()))
	// An unbound member leaves the admin count as it is.
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, nil)
}

// unboundInvitation is the condition that the invitation item is still
// member m's and bound to no one.
func unboundInvitation(m tokensmith.Member) *expression.ConditionBuilder {
	return condition(expression.AttributeNotExists(expression.Name("userId")).And(expression.Name("memberId").Equal(expression.Value(m.ID))))
}

// SetRole changes member m's role, as read, to role, and records ev with
// it. ErrConflict when m changed since it was read, or when the change would
// leave the workspace without an accepted admin (the caller reads again and
// sees it).
func (s *Store) SetRole(ctx context.Context, m tokensmith.Member, role tokensmith.Role, ev tokensmith.Event) error {
	set := expression.Set(expression.Name("role"), expression.Value(string(role)))
	var b build
	b.add(s.update(placePK(m.Place), memberSK(m.ID), set, unchanged(m)))
	if m.Bound() {
		b.add(s.update(userPK(m.UserID), placePK(m.Place), set, condition(
			expression.Name("memberId").Equal(expression.Value(m.ID)))))
	}
	next := m
	next.Role = role
	upd, cond := countAdmins(adminDelta(m, next))
	b.addAll(s.audit(ctx, ev, upd, cond))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, nil)
}

// RemoveMember deletes member m, as read, with its invitation and what its
// person holds by it, and records ev with it. ErrConflict as SetRole.
func (s *Store) RemoveMember(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error {
	var b build
	b.add(s.del(placePK(m.Place), memberSK(m.ID), unchanged(m)))
	b.add(s.del(emailPK(m.Email), placePK(m.Place), condition(expression.Name("memberId").Equal(expression.Value(m.ID)))))
	if m.Bound() {
		b.add(s.del(userPK(m.UserID), placePK(m.Place), condition(expression.Name("memberId").Equal(expression.Value(m.ID)))))
	}
	upd, cond := countAdmins(adminDelta(m, tokensmith.Member{}))
	b.addAll(s.audit(ctx, ev, upd, cond))
	if b.err != nil {
		return b.err
	}
	return s.transact(ctx, b.items, nil)
}

// InvitationDay is the UTC day an invitation made at t counts in: its
// start, and the start of the next day, when the count starts again.
func InvitationDay(t time.Time) (start, end time.Time) {
	start = t.UTC().Truncate(24 * time.Hour)
	return start, start.Add(24 * time.Hour)
}

// countInvitation is the transaction item that counts one invitation of
// workspace wsID on the UTC day of t, on the condition that the day holds
// fewer than tokensmith.InvitationsPerDay. The counter is keyed by its day,
// so TTL may remove it once the day is over.
func (s *Store) countInvitation(wsID string, t time.Time) (types.TransactWriteItem, error) {
	start, end := InvitationDay(t)
	count := expression.Name("count")
	upd := expression.Add(count, expression.Value(1)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(end.Add(counterRetention))))
	cond := expression.AttributeNotExists(count).Or(count.LessThan(expression.Value(tokensmith.InvitationsPerDay)))
	return s.update(invitationsPK(wsID), rateSK(start.Unix()), upd, &cond)
}

// InvitationCount reads how many invitations workspace wsID made through
// the API on the UTC day of t, strongly consistent. Tests and operators
// read it; invitations never do.
func (s *Store) InvitationCount(ctx context.Context, wsID string, t time.Time) (int64, error) {
	start, _ := InvitationDay(t)
	var got struct {
		Count int64 `dynamodbav:"count"`
	}
	err := s.get(ctx, invitationsPK(wsID), rateSK(start.Unix()), &got)
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("invitations of %s: %w", wsID, err)
	}
	return got.Count, nil
}

// RecountAdmins sets workspace wsID's count of accepted admins to what its
// members hold, and returns the count it found and the one it holds now.
// It is for stored data counted before the count held accepted admins only
// (docs/OPERATIONS.md). The write is held to the audit log's sequence as
// read: every change to the members writes an event, so a change between
// the reads and the write is ErrConflict, and the caller reads again.
func (s *Store) RecountAdmins(ctx context.Context, wsID string) (was, now int64, err error) {
	var it struct {
		Admins   int64 `dynamodbav:"admins"`
		AuditSeq int64 `dynamodbav:"auditSeq"`
	}
	if err := s.get(ctx, workspacePK(wsID), metaSK, &it); err != nil {
		return 0, 0, fmt.Errorf("workspace %s: %w", wsID, err)
	}
	ms, err := s.Members(ctx, tokensmith.Place{WorkspaceID: wsID})
	if err != nil {
		return 0, 0, err
	}
	for _, m := range ms {
		if m.AcceptedAdmin() {
			now++
		}
	}
	if now == it.Admins {
		return it.Admins, now, nil
	}
	seq := expression.Name("auditSeq")
	cond := expression.AttributeExists(expression.Name(AttrPK))
	if it.AuditSeq == 0 {
		cond = cond.And(expression.AttributeNotExists(seq))
	} else {
		cond = cond.And(seq.Equal(expression.Value(it.AuditSeq)))
	}
	in, err := s.updateInput(workspacePK(wsID), metaSK, expression.Set(expression.Name("admins"), expression.Value(now)), &cond)
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.updateOne(ctx, in); err != nil {
		return 0, 0, fmt.Errorf("recount admins of %s: %w", wsID, err)
	}
	return it.Admins, now, nil
}
