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

	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Owner is what a token belongs to: a site or a workspace.
type Owner struct {
	Kind token.Kind
	ID   string
}

func (o Owner) pk() string {
	if o.Kind == token.KindSite {
		return "SITE#" + o.ID
	}
	return "WS#" + o.ID
}

// Token is a token's record: everything about it but the secret, which is
// kept only as the SHA-256 in SecretHash.
type Token struct {
	ID             string            `dynamodbav:"id"`
	Kind           token.Kind        `dynamodbav:"kind"`
	Name           string            `dynamodbav:"name"`
	SiteID         string            `dynamodbav:"siteId,omitempty"`
	WorkspaceID    string            `dynamodbav:"workspaceId"`
	Permissions    scope.Permissions `dynamodbav:"permissions"`
	Scope          string            `dynamodbav:"scope"`
	DisplayHint    string            `dynamodbav:"displayHint"`
	SecretHash     string            `dynamodbav:"secretHash"`
	PrevSecretHash string            `dynamodbav:"prevSecretHash,omitempty"`
	CreatedOn      time.Time         `dynamodbav:"createdOn"`
	CreatedBy      Actor             `dynamodbav:"createdBy"`
	LastUsed       *time.Time        `dynamodbav:"lastUsed,omitempty"`
	UseCount       int64             `dynamodbav:"useCount"`
	// ExpiresOn is when the token expires unless used again.
	ExpiresOn time.Time `dynamodbav:"expiresOn"`
}

// Owner returns the site or workspace the token belongs to.
func (t Token) Owner() Owner {
	if t.Kind == token.KindSite {
		return Owner{token.KindSite, t.SiteID}
	}
	return Owner{token.KindWorkspace, t.WorkspaceID}
}

// Secret is what the authorizer reads, in one GetItem, for a presented
// secret: the token's identity and scopes, which never change, and its expiry.
type Secret struct {
	Hash        string     `dynamodbav:"hash"`
	TokenID     string     `dynamodbav:"tokenId"`
	Kind        token.Kind `dynamodbav:"kind"`
	SiteID      string     `dynamodbav:"siteId,omitempty"`
	WorkspaceID string     `dynamodbav:"workspaceId"`
	Scope       string     `dynamodbav:"scope"`
	ExpiresOn   time.Time  `dynamodbav:"expiresOn"`
	// GraceUntil is set on a secret replaced by a regenerate with a grace period.
	GraceUntil *time.Time `dynamodbav:"graceUntil,omitempty"`
}

// Idempotency is the stored outcome of a create made with an Idempotency-Key.
// The key itself is kept only as a hash, and the response, which holds the
// secret, only sealed under a key derived from it.
type Idempotency struct {
	KeyHash   string `dynamodbav:"keyHash"`
	BodyHash  string `dynamodbav:"bodyHash"`
	Sealed    []byte `dynamodbav:"sealed"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

type tokenItem struct {
	keys
	Token
	TTL int64 `dynamodbav:"expiresAt"`
}

type secretItem struct {
	keys
	Secret
	TTL int64 `dynamodbav:"expiresAt"`
}

// ttl returns the value of the table's TTL attribute for an item that
// expires at t: Unix seconds, rounded up so that TTL never removes an item
// before it has expired.
func ttl(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// Owner returns the site or workspace the secret's token belongs to.
func (s Secret) Owner() Owner {
	if s.Kind == token.KindSite {
		return Owner{token.KindSite, s.SiteID}
	}
	return Owner{token.KindWorkspace, s.WorkspaceID}
}

// Active reports whether the secret works at now: not expired, and not past
// the grace period of a regenerate.
func (s Secret) Active(now time.Time) bool {
	return now.Before(s.ExpiresOn) && (s.GraceUntil == nil || now.Before(*s.GraceUntil))
}

// Active reports whether the token works at now. Expiry is checked on every
// read, since TTL removes expired items only eventually.
func (t Token) Active(now time.Time) bool { return now.Before(t.ExpiresOn) }

type idempotencyItem struct {
	keys
	Idempotency
}

func tokenSK(id string) string { return "TOKEN#" + id }

func secretPK(hash string) string { return "SECRET#" + hash }

func secretOf(t Token) Secret {
	return Secret{
		Hash: t.SecretHash, TokenID: t.ID, Kind: t.Kind, SiteID: t.SiteID, WorkspaceID: t.WorkspaceID,
		Scope: t.Scope, ExpiresOn: t.ExpiresOn,
	}
}

// Tokens lists the token records of owner, expired ones included.
func (s *Store) Tokens(ctx context.Context, owner Owner) ([]Token, error) {
	kc := expression.Key(AttrPK).Equal(expression.Value(owner.pk())).And(expression.Key(AttrSK).BeginsWith("TOKEN#"))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	var out []Token
	err = s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	}, func(item map[string]types.AttributeValue) error {
		var it tokenItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		out = append(out, it.Token)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokens of %s: %w", owner.pk(), err)
	}
	return out, nil
}

// Token reads one token record.
func (s *Store) Token(ctx context.Context, owner Owner, id string) (Token, error) {
	var it tokenItem
	if err := s.get(ctx, owner.pk(), tokenSK(id), &it); err != nil {
		return Token{}, fmt.Errorf("token %s: %w", id, err)
	}
	return it.Token, nil
}

// Secret reads what the authorizer needs for a secret's hash.
func (s *Store) Secret(ctx context.Context, hash string) (Secret, error) {
	var it secretItem
	if err := s.get(ctx, secretPK(hash), metaSK, &it); err != nil {
		return Secret{}, fmt.Errorf("secret: %w", err)
	}
	return it.Secret, nil
}

// Idempotency reads the stored outcome for a key hash.
func (s *Store) Idempotency(ctx context.Context, keyHash string) (Idempotency, error) {
	var it idempotencyItem
	if err := s.get(ctx, "IDEM#"+keyHash, metaSK, &it); err != nil {
		return Idempotency{}, fmt.Errorf("idempotency key: %w", err)
	}
	return it.Idempotency, nil
}

// CreateToken stores t, its secret and ev in one transaction. version is the
// owner's tokenVersion as read when its active tokens were counted: the
// transaction bumps it, so a concurrent create that counted the same tokens
// fails with ErrConflict and counts again. With idem, the sealed response is
// stored in the same transaction; ErrIdempotencyKeyUsed when a live one exists.
func (s *Store) CreateToken(ctx context.Context, version int64, t Token, ev AuditEvent, idem *Idempotency, now time.Time) error {
	owner := t.Owner()
	bump := func(u expression.UpdateBuilder) expression.UpdateBuilder {
		return u.Set(expression.Name("tokenVersion"), expression.Value(version+1))
	}
	same := expression.Name("tokenVersion").Equal(expression.Value(version))
	var b build
	b.add(s.put(tokenItem{keys{PK: owner.pk(), SK: tokenSK(t.ID)}, t, ttl(t.ExpiresOn)}, absent()))
	b.add(s.put(secretItem{keys{PK: secretPK(t.SecretHash), SK: metaSK}, secretOf(t), ttl(t.ExpiresOn)}, absent()))
	if owner.Kind == token.KindWorkspace {
		// The workspace item holds both the version and the audit counters.
		b.addAll(s.audit(ctx, ev, bump, &same))
	} else {
		b.add(s.update(owner.pk(), metaSK, bump(expression.UpdateBuilder{}), &same))
		b.addAll(s.audit(ctx, ev, nil, nil))
	}
	reasons := map[int]error{}
	if idem != nil {
		cond := expression.AttributeNotExists(expression.Name(AttrPK)).
			Or(expression.Name(AttrExpiresAt).LessThanEqual(expression.Value(now.Unix())))
		reasons[b.add(s.put(idempotencyItem{keys{PK: "IDEM#" + idem.KeyHash, SK: metaSK}, *idem}, &cond))] = ErrIdempotencyKeyUsed
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
func (s *Store) RevokeToken(ctx context.Context, t Token, ev AuditEvent) error {
	var b build
	b.add(s.del(t.Owner().pk(), tokenSK(t.ID), condition(expression.Name("secretHash").Equal(expression.Value(t.SecretHash)))))
	b.add(s.del(secretPK(t.SecretHash), metaSK, nil))
	if t.PrevSecretHash != "" {
		b.add(s.del(secretPK(t.PrevSecretHash), metaSK, nil))
	}
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return fmt.Errorf("revoke token %s: %w", t.ID, err)
	}
	return nil
}

// RegenerateToken gives t the secret newHash (shown as hint) and records ev.
// The old secret is deleted, or kept until graceUntil when that is set; an
// older secret still in its grace period is deleted. ErrConflict when t
// changed since it was read. It returns the updated record.
func (s *Store) RegenerateToken(ctx context.Context, t Token, newHash, hint string, graceUntil *time.Time, ev AuditEvent) (Token, error) {
	old := t
	t.SecretHash, t.DisplayHint, t.PrevSecretHash = newHash, hint, ""
	upd := expression.Set(expression.Name("secretHash"), expression.Value(newHash)).
		Set(expression.Name("displayHint"), expression.Value(hint))
	if graceUntil != nil {
		t.PrevSecretHash = old.SecretHash
		upd = upd.Set(expression.Name("prevSecretHash"), expression.Value(old.SecretHash))
	} else {
		upd = upd.Remove(expression.Name("prevSecretHash"))
	}
	var b build
	b.add(s.update(t.Owner().pk(), tokenSK(t.ID), upd, condition(expression.Name("secretHash").Equal(expression.Value(old.SecretHash)))))
	b.add(s.put(secretItem{keys{PK: secretPK(newHash), SK: metaSK}, secretOf(t), ttl(t.ExpiresOn)}, absent()))
	if graceUntil != nil {
		end := *graceUntil
		if t.ExpiresOn.Before(end) {
			end = t.ExpiresOn
		}
		b.add(s.update(secretPK(old.SecretHash), metaSK,
			expression.Set(expression.Name("graceUntil"), expression.Value(*graceUntil)).
				Set(expression.Name(AttrExpiresAt), expression.Value(ttl(end))), exists()))
	} else {
		b.add(s.del(secretPK(old.SecretHash), metaSK, nil))
	}
	if old.PrevSecretHash != "" {
		b.add(s.del(secretPK(old.PrevSecretHash), metaSK, nil))
	}
	b.addAll(s.audit(ctx, ev, nil, nil))
	if b.err != nil {
		return Token{}, b.err
	}
	if err := s.transact(ctx, b.items, nil); err != nil {
		return Token{}, fmt.Errorf("regenerate token %s: %w", t.ID, err)
	}
	return t, nil
}

// RecordUse notes uses of a token made with the secret sec, up to now: it
// sets lastUsed, adds uses to useCount and moves expiry to now plus
// inactivity, on the record and on the token's current secret. Its
// conditions never revive an expired token, and a secret that is no longer
// the token's (regenerated meanwhile) changes nothing: ErrConflict.
func (s *Store) RecordUse(ctx context.Context, sec Secret, now time.Time, uses int64, inactivity time.Duration) error {
	owner := sec.Owner()
	expires := now.Add(inactivity)
	live := expression.Name(AttrExpiresAt).GreaterThan(expression.Value(now.Unix()))
	recordUpd := expression.Set(expression.Name("lastUsed"), expression.Value(now)).
		Set(expression.Name("expiresOn"), expression.Value(expires)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(expires))).
		Add(expression.Name("useCount"), expression.Value(uses))
	secretUpd := expression.Set(expression.Name("expiresOn"), expression.Value(expires)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(expires)))
	if sec.GraceUntil == nil {
		var b build
		b.add(s.update(owner.pk(), tokenSK(sec.TokenID), recordUpd,
			condition(live.And(expression.Name("secretHash").Equal(expression.Value(sec.Hash))))))
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
	in, err := s.updateInput(owner.pk(), tokenSK(sec.TokenID), recordUpd,
		condition(live.And(expression.Name("prevSecretHash").Equal(expression.Value(sec.Hash)))))
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
	return nil
}

// RecordExpiry writes ev, the token_expired event of t, once: a dedupe item
// keyed by the token's id goes in the same transaction, so a redelivered
// stream record finds it and writes nothing (ErrExists).
func (s *Store) RecordExpiry(ctx context.Context, t Token, ev AuditEvent) error {
	type expiredItem struct {
		keys
		TokenID string `dynamodbav:"tokenId"`
		TTL     int64  `dynamodbav:"expiresAt"`
	}
	var b build
	// Stream records live 24 hours; the dedupe item outlives every redelivery.
	b.add(s.put(expiredItem{keys{PK: "EXPIRED#" + t.ID, SK: metaSK}, t.ID, ttl(ev.Timestamp.Add(30 * 24 * time.Hour))}, absent()))
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
func DecodeToken(item map[string]types.AttributeValue) (Token, error) {
	var it tokenItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Token{}, fmt.Errorf("decode token: %w", err)
	}
	return it.Token, nil
}
