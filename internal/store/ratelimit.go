package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
)

// ErrLimitReached means a token's counter already holds its limit for the
// window: the request is refused, and the counter is unchanged.
var ErrLimitReached = errors.New("store: rate limit reached")

// counterRetention is how long a window's counter outlives its window
// before TTL may remove it. The counter is keyed by its window, so a stale
// one is never read again; it is kept a little for inspection only.
const counterRetention = time.Hour

// rateKeys are the keys of a token's counter for the window starting at
// Unix second start.
func rateKeys(tokenID string, start int64) keys {
	return keys{PK: ratePK(tokenID), SK: rateSK(start)}
}

// CountRequest counts one request of token tokenID in the window that
// starts at start and ends at end, unless the window's count has reached
// limit: one conditional UpdateItem of the window's counter item, which
// DynamoDB applies atomically, so that concurrent requests, from any
// function instance, never count past limit together. It returns the count
// including this request, or ErrLimitReached (and writes nothing).
func (s *Store) CountRequest(ctx context.Context, tokenID string, start, end time.Time, limit int64) (int64, error) {
	k := rateKeys(tokenID, start.Unix())
	count := expression.Name("count")
	upd := expression.Add(count, expression.Value(1)).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(end.Add(counterRetention))))
	cond := expression.AttributeNotExists(count).Or(count.LessThan(expression.Value(limit)))
	in, err := s.updateInput(k.PK, k.SK, upd, &cond)
	if err != nil {
		return 0, err
	}
	in.ReturnValues = types.ReturnValueUpdatedNew
	out, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return 0, ErrLimitReached
	}
	if err != nil {
		return 0, fmt.Errorf("count request of token %s: %w", tokenID, err)
	}
	var got struct {
		Count int64 `dynamodbav:"count"`
	}
	if err := attributevalue.UnmarshalMap(out.Attributes, &got); err != nil || got.Count < 1 {
		return 0, fmt.Errorf("count request of token %s: decode count %v: %v", tokenID, out.Attributes["count"], err)
	}
	return got.Count, nil
}

// UncountRequest takes back one request that CountRequest counted for token
// tokenID in the window starting at start, when the request turned out not
// to be one to count (its secret no longer valid, its limit lower than the
// one it was counted against). It never takes a count below zero: the
// condition fails, and nothing is written, when there is nothing to take.
func (s *Store) UncountRequest(ctx context.Context, tokenID string, start time.Time) error {
	k := rateKeys(tokenID, start.Unix())
	count := expression.Name("count")
	upd := expression.Add(count, expression.Value(-1))
	cond := count.GreaterThan(expression.Value(0))
	in, err := s.updateInput(k.PK, k.SK, upd, &cond)
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("uncount request of token %s: %w", tokenID, err)
	}
	return nil
}

// RequestCount reads the count of token tokenID in the window starting at
// start, strongly consistent: 0 when none was counted. Tests and operators
// read it; the request path never does.
func (s *Store) RequestCount(ctx context.Context, tokenID string, start time.Time) (int64, error) {
	k := rateKeys(tokenID, start.Unix())
	var got struct {
		Count int64 `dynamodbav:"count"`
	}
	switch err := s.get(ctx, k.PK, k.SK, &got); {
	case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
		return 0, nil
	case err != nil:
		return 0, err
	}
	return got.Count, nil
}

// ResendInterval is how often an account's temporary password may be sent
// again, whichever workspaces invite its email.
const ResendInterval = 24 * time.Hour

// ClaimResend records that email's temporary password is sent again at
// now, unless it was within ResendInterval before: then ErrLimitReached,
// writing nothing. One conditional UpdateItem of the email's item, keyed
// by the email's hash, so concurrent invitations from any workspace claim
// it once.
func (s *Store) ClaimResend(ctx context.Context, email string, now time.Time) error {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	at := expression.Name("resentAt")
	upd := expression.Set(at, expression.Value(now.Unix())).
		Set(expression.Name(AttrExpiresAt), expression.Value(ttl(now.Add(ResendInterval))))
	cond := expression.AttributeNotExists(at).Or(at.LessThanEqual(expression.Value(now.Add(-ResendInterval).Unix())))
	in, err := s.updateInput(resendPK(hex.EncodeToString(sum[:])), metaSK, upd, &cond)
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrLimitReached
	}
	if err != nil {
		return fmt.Errorf("claim resend: %w", err)
	}
	return nil
}
