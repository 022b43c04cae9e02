package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Idempotency is the stored outcome of a create made with an Idempotency-Key.
// The key itself is kept only as a hash, and the response, which holds the
// secret, only sealed under a key derived from it.
type Idempotency struct {
	KeyHash   string
	BodyHash  string
	Sealed    []byte
	ExpiresAt int64 // Unix seconds
}

// Tokens lists the token records of owner, expired ones included.
func (s *Store) Tokens(ctx context.Context, owner tokensmith.Owner) ([]tokensmith.Token, error) {
	var out []tokensmith.Token
	err := s.queryPrefix(ctx, ownerPK(owner), tokenSK(""), func(item map[string]types.AttributeValue) error {
		var it tokenItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		out = append(out, it.token())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokens of %s %s: %w", owner.Kind, owner.ID, err)
	}
	return out, nil
}

// Token reads one token record.
func (s *Store) Token(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
	var it tokenItem
	if err := s.get(ctx, ownerPK(owner), tokenSK(id), &it); err != nil {
		return tokensmith.Token{}, fmt.Errorf("token %s: %w", id, err)
	}
	return it.token(), nil
}

// TokenAgain reads t's record again, wherever it is kept: under its owner,
// or under its workload for a token an exchange minted.
func (s *Store) TokenAgain(ctx context.Context, t tokensmith.Token) (tokensmith.Token, error) {
	var it tokenItem
	pk, sk := recordKey(t)
	if err := s.get(ctx, pk, sk, &it); err != nil {
		return tokensmith.Token{}, fmt.Errorf("token %s: %w", t.ID, err)
	}
	return it.token(), nil
}

// Secret reads what the authorizer needs for a secret's hash. A previous
// secret in its grace period takes its token's expiry (and last use) from
// the token's record: uses of the current secret move the token's expiry,
// which the previous secret's own item does not follow, and its grace
// period ends early only when the token expires. That costs such a secret,
// and only such a one, a second read. A previous secret that its token no
// longer names is not found.
func (s *Store) Secret(ctx context.Context, hash string) (tokensmith.Secret, error) {
	var it secretItem
	if err := s.get(ctx, secretPK(hash), metaSK, &it); err != nil {
		return tokensmith.Secret{}, fmt.Errorf("secret: %w", err)
	}
	sec := it.secret()
	if sec.GraceUntil == nil {
		return sec, nil
	}
	var rec tokenItem
	if err := s.get(ctx, ownerPK(sec.Owner()), tokenSK(sec.TokenID), &rec); err != nil {
		return tokensmith.Secret{}, fmt.Errorf("token of a previous secret: %w", err)
	}
	if rec.PrevSecretHash != hash {
		return tokensmith.Secret{}, fmt.Errorf("previous secret of token %s: %w", sec.TokenID, tokensmith.NotFound())
	}
	sec.ExpiresOn, sec.ExpiresAt, sec.LastUsed = rec.ExpiresOn, rec.FixedExpiry, rec.LastUsed
	return sec, nil
}

// TokenOf reads the record of the token of secret sec: among its owner's
// tokens, or under its workload for a token an exchange minted.
func (s *Store) TokenOf(ctx context.Context, sec tokensmith.Secret) (tokensmith.Token, error) {
	var it tokenItem
	pk, sk := secretRecordKey(sec)
	if err := s.get(ctx, pk, sk, &it); err != nil {
		return tokensmith.Token{}, fmt.Errorf("token %s: %w", sec.TokenID, err)
	}
	return it.token(), nil
}

// Idempotency reads the stored outcome for a key hash.
func (s *Store) Idempotency(ctx context.Context, keyHash string) (Idempotency, error) {
	var it idempotencyItem
	if err := s.get(ctx, idemPK(keyHash), metaSK, &it); err != nil {
		return Idempotency{}, fmt.Errorf("idempotency key: %w", err)
	}
	return Idempotency{KeyHash: it.KeyHash, BodyHash: it.BodyHash, Sealed: it.Sealed, ExpiresAt: it.ExpiresAt}, nil
}

// attrMaxLifetime is a workspace's token lifetime policy, in days, on its
// item; absent for none.
const attrMaxLifetime = "maxTokenLifetimeDays"

// withinPolicy holds a write of a secret issued at from and ending at
// expiresAt (nil for never) to its workspace's lifetime policy as it is
// when the write commits: a policy set meanwhile fails the write
// (ErrConflict), whose retry reads it.
func withinPolicy(expiresAt *time.Time, from time.Time) expression.ConditionBuilder {
	none := expression.AttributeNotExists(expression.Name(attrMaxLifetime))
	if expiresAt == nil {
		return none
	}
	day := 24 * time.Hour
	days := int64((expiresAt.Sub(from) + day - 1) / day)
	return none.Or(expression.Name(attrMaxLifetime).GreaterThanEqual(expression.Value(days)))
}

// CreateToken stores t, its secret and ev in one transaction. version is the
// owner's tokenVersion as read when its active tokens were counted: the
// transaction bumps it, so a concurrent create that counted the same tokens
// fails with ErrConflict and counts again. plan is the workspace's plan as
// read at version; a workspace token's secret carries it, and since a plan
// change bumps the version too (SetPlan), a token never carries a stale one.
// rateLimit is likewise a site token's limit, from its site as read at
// version, which a site's plan change bumps (SetSitePlan).
// With idem, the sealed response is stored in the same transaction;
// ErrIdempotencyKeyUsed when a live one exists. ErrConflict too when t's
// lifetime exceeds its workspace's policy as it is then (withinPolicy).
func (s *Store) CreateToken(ctx context.Context, version int64, plan tokensmith.Plan, rateLimit int64, t tokensmith.Token, ev tokensmith.Event, idem *Idempotency, now time.Time) error {
	owner := t.Owner()
	bump := func(u expression.UpdateBuilder) expression.UpdateBuilder {
		return u.Set(expression.Name("tokenVersion"), expression.Value(version+1))
	}
	same := expression.Name("tokenVersion").Equal(expression.Value(version))
	var b build
	b.add(s.put(toTokenItem(t), absent()))
	b.add(s.put(toSecretItem(t, plan, rateLimit), absent()))
	policy := withinPolicy(t.ExpiresAt, t.CreatedOn)
	if owner.Kind == token.KindWorkspace {
		// The workspace item holds both the version and the audit counters.
		cond := same.And(policy)
		b.addAll(s.audit(ctx, ev, bump, &cond))
	} else {
		b.add(s.update(ownerPK(owner), metaSK, bump(expression.UpdateBuilder{}), &same))
		b.addAll(s.audit(ctx, ev, nil, &policy))
	}
	reasons := map[int]error{}
	if idem != nil {
		cond := expression.AttributeNotExists(expression.Name(AttrPK)).
			Or(expression.Name(AttrExpiresAt).LessThanEqual(expression.Value(now.Unix())))
		reasons[b.add(s.put(toIdempotencyItem(*idem), &cond))] = ErrIdempotencyKeyUsed
	}
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, reasons); err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

// RevokeToken deletes t, every secret of it and records ev. ErrConflict when
// t changed since it was read.
func (s *Store) RevokeToken(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error {
	b := s.revokeItems(ctx, t, ev)
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return fmt.Errorf("revoke token %s: %w", t.ID, err)
	}
	return nil
}

func (s *Store) revokeItems(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) *build {
	var b build
	pk, sk := recordKey(t)
	b.add(s.del(pk, sk, condition(expression.Name("secretHash").Equal(expression.Value(t.SecretHash)))))
	b.add(s.del(secretPK(t.SecretHash), metaSK, nil))
	if t.PrevSecretHash != "" {
		b.add(s.del(secretPK(t.PrevSecretHash), metaSK, nil))
	}
	b.addAll(s.audit(ctx, ev, nil, nil))
	return &b
}

// EndGrace ends the grace period of t's previous secret, which t still
// names as PrevSecretHash: it deletes that secret, forgets it on the record
// and records ev, leaving the current secret as it is. ErrConflict when the
// record no longer names that previous secret.
func (s *Store) EndGrace(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error {
	b, err := s.endGraceItems(ctx, t, ev)
	if err != nil {
		return err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return fmt.Errorf("end grace of token %s: %w", t.ID, err)
	}
	return nil
}

func (s *Store) endGraceItems(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) (*build, error) {
	if t.PrevSecretHash == "" {
		return nil, fmt.Errorf("end grace of token %s: no previous secret: %w", t.ID, tokensmith.NotFound())
	}
	var b build
	b.add(s.update(ownerPK(t.Owner()), tokenSK(t.ID), expression.Remove(expression.Name("prevSecretHash")),
		condition(expression.Name("prevSecretHash").Equal(expression.Value(t.PrevSecretHash)))))
	b.add(s.del(secretPK(t.PrevSecretHash), metaSK, nil))
	b.addAll(s.audit(ctx, ev, nil, nil))
	return &b, b.err
}

// RevokeLeaked revokes the secret hash of t, reported leaked, and records
// ev: t itself when hash is its current secret (as RevokeToken), or only
// the previous secret in its grace period (as EndGrace). In the same
// transaction it marks hash as reported until until, so that a report
// delivered again finds the secret revoked for it (Leaked) and writes
// nothing. ErrConflict when t changed since it was read.
func (s *Store) RevokeLeaked(ctx context.Context, t tokensmith.Token, hash string, ev tokensmith.Event, until time.Time) error {
	var b *build
	switch hash {
	case t.SecretHash:
		b = s.revokeItems(ctx, t, ev)
	case t.PrevSecretHash:
		var err error
		if b, err = s.endGraceItems(ctx, t, ev); err != nil {
			return err
		}
	default:
		return fmt.Errorf("revoke leaked secret of token %s: not its secret: %w", t.ID, ErrConflict)
	}
	b.add(s.put(toLeakedItem(hash, t.ID, ev.Timestamp, until), nil))
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return fmt.Errorf("revoke leaked secret of token %s: %w", t.ID, err)
	}
	return nil
}

// Leaked reports whether the secret hash was revoked on a leak report
// whose mark lasts past now.
func (s *Store) Leaked(ctx context.Context, hash string, now time.Time) (bool, error) {
	var it leakedItem
	switch err := s.get(ctx, leakedPK(hash), metaSK, &it); {
	case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("leaked secret: %w", err)
	}
	return it.TTL > now.Unix(), nil
}

// RegenerateToken gives t the secret newHash (shown as hint) and records ev.
// The new secret's fixed end is expiresAt (nil for none), which sets the
// token's expiresOn and TTL anew. The old secret is deleted, or kept until
// graceUntil when that is set; an older secret still in its grace period is
// deleted. ErrConflict when t changed since it was read (its secret or its
// expiry: a use noted meanwhile is not undone), or when the new secret's
// lifetime, from ev's time, exceeds the workspace's policy as it is then. It returns the updated record. Only site
// tokens are regenerated, so the new secret carries no plan, and it carries
// site's rate limit: ErrConflict too when site's plan changed since it was
// read (SetSitePlan bumps its tokenVersion). It bumps the tokenVersion in
// turn, so that a plan change racing it never misses the new secret.
func (s *Store) RegenerateToken(ctx context.Context, t tokensmith.Token, site tokensmith.Site, newHash, hint string, expiresAt, graceUntil *time.Time, ev tokensmith.Event) (tokensmith.Token, error) {
	old := t
	t.SecretHash, t.DisplayHint, t.PrevSecretHash = newHash, hint, ""
	t.ExpiresAt = expiresAt
	t.ExpiresOn = tokensmith.EarlierEnd(t.InactiveUntil(), expiresAt)
	upd := expression.Set(expression.Name("secretHash"), expression.Value(newHash)).
		Set(expression.Name("displayHint"), expression.Value(hint)).
		Set(expression.Name("expiresOn"), expression.Value(t.ExpiresOn)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(t.ExpiresOn)))
	if expiresAt != nil {
		upd = upd.Set(expression.Name(attrFixedExpiry), expression.Value(*expiresAt))
	} else {
		upd = upd.Remove(expression.Name(attrFixedExpiry))
	}
	if graceUntil != nil {
		t.PrevSecretHash = old.SecretHash
		upd = upd.Set(expression.Name("prevSecretHash"), expression.Value(old.SecretHash))
	} else {
		upd = upd.Remove(expression.Name("prevSecretHash"))
	}
	var b build
	b.add(s.update(ownerPK(t.Owner()), tokenSK(t.ID), upd, condition(expression.Name("secretHash").Equal(expression.Value(old.SecretHash)).
		And(expression.Name("expiresOn").Equal(expression.Value(old.ExpiresOn))))))
	b.add(s.put(toSecretItem(t, "", site.TokenRateLimit()), absent()))
	if t.Kind == token.KindSite {
		// Bumped, not only checked: a plan change that read the site before
		// this commits loses and writes the new secret's limit on its retry.
		b.add(s.update(sitePK(site.ID), metaSK, expression.Set(expression.Name("tokenVersion"), expression.Value(site.TokenVersion+1)),
			condition(expression.Name("tokenVersion").Equal(expression.Value(site.TokenVersion)))))
	}
	if graceUntil != nil {
		// The old secret stays until its grace period ends, even past the
		// token's expiry as of now: a use of the new secret meanwhile moves
		// that expiry, and reads check it on the record (Secret).
		b.add(s.update(secretPK(old.SecretHash), metaSK,
			expression.Set(expression.Name("graceUntil"), expression.Value(*graceUntil)).
				Set(expression.Name(AttrExpiresAt), expression.Value(ttl(*graceUntil))), exists()))
	} else {
		b.add(s.del(secretPK(old.SecretHash), metaSK, nil))
	}
	if old.PrevSecretHash != "" {
		b.add(s.del(secretPK(old.PrevSecretHash), metaSK, nil))
	}
	policy := withinPolicy(expiresAt, ev.Timestamp)
	b.addAll(s.audit(ctx, ev, nil, &policy))
	if b.err != nil {
		return tokensmith.Token{}, b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return tokensmith.Token{}, fmt.Errorf("regenerate token %s: %w", t.ID, err)
	}
	return t, nil
}

// RecordUse notes uses of a token made with the secret sec, up to now: it
// sets lastUsed, adds uses to useCount, sets each scope of scopes to the
// time of its last use in scopeLastUsed, and moves expiry to now plus
// inactivity, on the record and on the token's current secret (which
// carries lastUsed and expiry for introspection), and on sec itself when it
// is a secret in its grace period. Its conditions never revive an expired
// token, and a secret that is no longer the token's (regenerated meanwhile)
// changes nothing: ErrConflict.
func (s *Store) RecordUse(ctx context.Context, sec tokensmith.Secret, now time.Time, uses int64, scopes map[string]time.Time, inactivity time.Duration) error {
	if sec.WorkloadID != "" {
		// A token an exchange minted expires at its fixed time, which a use
		// never moves, and no one lists its uses: nothing to note.
		return nil
	}
	err := s.recordUse(ctx, sec, now, uses, scopes, inactivity, false)
	// The one part of a usage write that can be invalid for the record
	// it finds is a scope's path into a scopeLastUsed map it lacks.
	if errors.Is(err, errInvalidUpdate) {
		// A record stored before records carried scopeLastUsed: the write
		// sets the whole map instead, once.
		err = s.recordUse(ctx, sec, now, uses, scopes, inactivity, true)
	}
	return err
}

// scopesUsed adds the times of scopes to upd: one path in scopeLastUsed per
// scope, or, with whole, the map itself, for a record that has none.
func scopesUsed(upd expression.UpdateBuilder, scopes map[string]time.Time, whole bool) expression.UpdateBuilder {
	if whole {
		return upd.Set(expression.Name(attrScopeLastUsed), expression.Value(scopes))
	}
	for sc, at := range scopes {
		upd = upd.Set(expression.Name(attrScopeLastUsed+"."+sc), expression.Value(at))
	}
	return upd
}

// attrScopeLastUsed is the record's map of scopes to their last use.
const attrScopeLastUsed = "scopeLastUsed"

// attrFixedExpiry is the fixed end of a token's current secret, on its
// record and its secrets.
const attrFixedExpiry = "fixedExpiry"

// sameFixedExpiry holds a write to a record whose fixed end is at, as the
// secret it was computed from carried it (nil for none).
func sameFixedExpiry(at *time.Time) expression.ConditionBuilder {
	if at == nil {
		return expression.AttributeNotExists(expression.Name(attrFixedExpiry))
	}
	return expression.Name(attrFixedExpiry).Equal(expression.Value(*at))
}

func (s *Store) recordUse(ctx context.Context, sec tokensmith.Secret, now time.Time, uses int64, scopes map[string]time.Time, inactivity time.Duration, whole bool) error {
	ownerKey := ownerPK(sec.Owner())
	// A use moves the inactivity expiry, never past the fixed end: the
	// record's TTL stays at the earlier of the two, and the condition that
	// the record's fixed end is the one the secret carried keeps a secret
	// read before a change of it from writing a later end.
	expires := tokensmith.EarlierEnd(now.Add(inactivity), sec.ExpiresAt)
	live := expression.Name(AttrExpiresAt).GreaterThan(expression.Value(now.Unix()))
	recordUpd := scopesUsed(expression.Set(expression.Name("lastUsed"), expression.Value(now)).
		Set(expression.Name("expiresOn"), expression.Value(expires)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(expires))).
		Add(expression.Name("useCount"), expression.Value(uses)), scopes, whole)
	recordLive := live.And(sameFixedExpiry(sec.ExpiresAt))
	if whole {
		recordLive = recordLive.And(expression.AttributeNotExists(expression.Name(attrScopeLastUsed)))
	}
	secretUpd := expression.Set(expression.Name("lastUsed"), expression.Value(now)).
		Set(expression.Name("expiresOn"), expression.Value(expires)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(expires)))
	if sec.GraceUntil == nil {
		var b build
		b.add(s.update(ownerKey, tokenSK(sec.TokenID), recordUpd,
			condition(recordLive.And(expression.Name("secretHash").Equal(expression.Value(sec.Hash))))))
		b.add(s.update(secretPK(sec.Hash), metaSK, secretUpd, condition(live)))
		if b.err != nil {
			return b.err
		}
		if err := s.transact(ctx, b.items, nil); err != nil {
			return fmt.Errorf("record use of token %s: %w", sec.TokenID, err)
		}
		return nil
	}
	// A secret in its grace period is not the token's current one: note the
	// use on the record, then carry the new expiry to the current secret,
	// whose hash only the record knows.
	in, err := s.updateInput(ownerKey, tokenSK(sec.TokenID), recordUpd,
		condition(recordLive.And(expression.Name("prevSecretHash").Equal(expression.Value(sec.Hash)))))
	if err != nil {
		return err
	}
	in.ReturnValues = types.ReturnValueAllNew
	out, err := s.updateOne(ctx, in)
	if err != nil {
		return fmt.Errorf("record use of token %s: %w", sec.TokenID, err)
	}
	var rec tokenItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &rec); err != nil {
		return fmt.Errorf("decode token: %w", err)
	}
	if in, err = s.updateInput(secretPK(rec.SecretHash), metaSK, secretUpd, condition(live)); err != nil {
		return err
	}
	if _, err := s.updateOne(ctx, in); err != nil {
		return fmt.Errorf("record use of token %s: %w", sec.TokenID, err)
	}
	// The secret in its grace period shows the same use when it is
	// introspected; its TTL stays at the end of its grace.
	graceUpd := expression.Set(expression.Name("lastUsed"), expression.Value(now)).
		Set(expression.Name("expiresOn"), expression.Value(expires))
	if in, err = s.updateInput(secretPK(sec.Hash), metaSK, graceUpd, condition(live)); err != nil {
		return err
	}
	if _, err := s.updateOne(ctx, in); err != nil {
		return fmt.Errorf("record use of token %s: %w", sec.TokenID, err)
	}
	return nil
}

// RecordExpiry writes ev, the token_expired event of t, once: a dedupe item
// keyed by the token's id goes in the same transaction, so a redelivered
// stream record finds it and writes nothing (ErrExists).
func (s *Store) RecordExpiry(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error {
	var b build
	b.add(s.put(toExpiredItem(t.ID, ev.Timestamp), absent()))
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, map[int]error{0: ErrExists}); err != nil {
		return fmt.Errorf("record expiry of token %s: %w", t.ID, err)
	}
	return nil
}

// DecodeToken reads a token record from its item, as a stream record's old
// image holds it.
func DecodeToken(item map[string]types.AttributeValue) (tokensmith.Token, error) {
	var it tokenItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return tokensmith.Token{}, fmt.Errorf("decode token: %w", err)
	}
	return it.token(), nil
}
