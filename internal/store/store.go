// Package store keeps tokensmith's state in one DynamoDB table (single-table
// design). It knows DynamoDB keys, conditions and transactions; it knows
// nothing of HTTP, Lambda or who may do what.
//
// Items, by partition key (PK) and sort key (SK), with the index keys
// (GSI1PK / GSI1SK) of those that have them. keys.go builds every key, and a
// test holds this table against it.
//
//	WS#<ws>          #META          workspace (tokenVersion guards its token limit; admins counts its accepted admins; auditSeq, auditSeqs, auditTime count its audit log)
//	WS#<ws>          MEMBER#<member>  workspace member, granted to an email (userId once bound)
//	WS#<ws>          TOKEN#<token>  workspace token record (TTL expiresAt)
//	SLUG#<slug>      #META          workspace slug, unique
//	SITE#<site>      #META          site, with its plan and rate limit (tokenVersion also changes with the plan)  GSI1: WS#<ws>#SITES / SITE#<site>
//	SITE#<site>      MEMBER#<member>  site member (a site administrator), granted to an email (userId once bound)
//	SITE#<site>      TOKEN#<token>  site token record (TTL expiresAt)
//	SITE#<site>      WORKLOAD#<workload>  a workload the site trusts, with its version and exchange window (the site's workloads counts them)
//	SITE#<site>      WLTOKEN#<workload>#<token>  record of a token an exchange of the workload minted (TTL expiresAt)
//	USED#<sha256>    #META          a workload token exchanged once, by a hash of its issuer and jti (TTL expiresAt)
//	USER#<user>      #META          person: issuer, sub, email
//	USER#<user>      WS#<ws>        what a bound person holds in a workspace: memberId, role
//	USER#<user>      SITE#<site>    what a bound person holds on a site: memberId, role
//	IDENTITY#<identity>  #META      person by issuer and sub (<identity> is SHA-256 of both)
//	EMAIL#<email>    WS#<ws>        workspace member by email: one per email and place (userId once bound)
//	EMAIL#<email>    SITE#<site>    site member by email
//	SECRET#<sha256>  #META          what the authorizer needs of a token, by secret hash, with a workspace token's plan and a site token's rate limit (TTL expiresAt)
//	AUDIT#<ws>       SEQ#<seq>      audit event at its place in the log  GSI1: AUDIT#<ws>#<eventType> / SEQ#<typeSeq>
//	IDEM#<sha256>    #META          idempotent create response, sealed (TTL expiresAt)
//	EXPIRED#<token>  #META          a token's expiry is recorded (TTL expiresAt)
//	LEAKED#<sha256>  #META          a secret revoked on a leak report, by hash, while the report may come again (TTL expiresAt)
//	RATE#<token>     WINDOW#<start> requests of a token in the window from Unix second <start> (TTL expiresAt)
//	RATE#INVITATIONS#<ws>  WINDOW#<start>  invitations a workspace made through the API on the UTC day from Unix second <start> (TTL expiresAt)
//	RESEND#<sha256>  #META          when an invited email's temporary password was last sent again, by the email's hash (TTL expiresAt)
//
// Authorization reads a person's USER# partition, strongly consistent:
// their holder items are written in the same transactions as the members
// they hold, so no decision waits for the index.
//
// Places in the audit log (<seq>, <typeSeq>) and window starts (<start>) are
// written with 12 digits, so that keys sort as the numbers do.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/tokensmith/tokensmith"
)

// Names of the table's key attributes, index and TTL attribute. A test holds
// them against template.yaml.
const (
	AttrPK        = "PK"
	AttrSK        = "SK"
	AttrGSI1PK    = "GSI1PK"
	AttrGSI1SK    = "GSI1SK"
	IndexGSI1     = "GSI1"
	AttrExpiresAt = "expiresAt"
)

// DynamoDB's limits on the bytes of a partition key and of a sort key.
const (
	maxPartitionKey = 2048
	maxSortKey      = 1024
)

// A miss is tokensmith.NotFound(), which the edge answers 404. The errors
// below are outcomes of a write that the services decide about (retry,
// refuse with their own code); one that reaches the edge is internal.
var (
	ErrExists = errors.New("store: already exists")
	// ErrConflict means a concurrent change won; the caller may read again and retry.
	ErrConflict = errors.New("store: concurrent change")
	// ErrHeld means the person already holds a membership in the place of the
	// membership they were to be bound to: trying again cannot succeed.
	ErrHeld = errors.New("store: person already holds a membership there")
	// ErrIdempotencyKeyUsed means another request stored a response under the same key first.
	ErrIdempotencyKeyUsed = errors.New("store: idempotency key already used")
)

// DB is the part of the DynamoDB client the store calls.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store reads and writes the table.
type Store struct {
	db    DB
	table string
}

// New returns a Store on table.
func New(db DB, table string) *Store { return &Store{db: db, table: table} }

// loggableKey is partition key pk as errors may name it: an email's
// partition by a hash of the email, never the email.
func loggableKey(pk string) string {
	email, ok := strings.CutPrefix(pk, prefixEmail)
	if !ok {
		return pk
	}
	sum := sha256.Sum256([]byte(email))
	return prefixEmail + "sha256:" + hex.EncodeToString(sum[:8])
}

// get reads one item, strongly consistent, into v.
func (s *Store) get(ctx context.Context, pk, sk string, v any) error {
	if len(pk) > maxPartitionKey || len(sk) > maxSortKey {
		// No item has such a key, and DynamoDB would refuse to look: a key
		// this long is made only by input (a slug in a path), which is then
		// not found rather than a failure.
		return tokensmith.NotFound()
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("get %s: %w", loggableKey(pk), err)
	}
	if out.Item == nil {
		return tokensmith.NotFound()
	}
	if err := attributevalue.UnmarshalMap(out.Item, v); err != nil {
		return fmt.Errorf("decode %s: %w", pk, err)
	}
	return nil
}

// queryAll reads every item of a query, strongly consistent where the index allows.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput, each func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		for _, item := range out.Items {
			if err := each(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// queryPrefix reads, strongly consistent, every item of partition pk whose
// sort key begins with skPrefix.
func (s *Store) queryPrefix(ctx context.Context, pk, skPrefix string, each func(map[string]types.AttributeValue) error) error {
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(skPrefix))
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

// transact writes items in one transaction. Where it is cancelled, reasons
// maps the index of each item whose condition failed to the error to return;
// a condition failure of another item is ErrConflict, as is a conflict with
// another transaction.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem, reasons map[int]error) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				if e, ok := reasons[i]; ok {
					return e
				}
				return ErrConflict
			}
		}
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "TransactionConflict":
				return ErrConflict
			case "ValidationError":
				return fmt.Errorf("transact: %w: %s", errInvalidUpdate, aws.ToString(r.Message))
			}
		}
	}
	if isValidation(err) {
		return fmt.Errorf("transact: %w: %v", errInvalidUpdate, err)
	}
	var tip *types.TransactionInProgressException
	if errors.As(err, &tip) {
		return ErrConflict
	}
	return fmt.Errorf("transact: %w", err)
}

func (s *Store) put(v any, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encode item: %w", err)
	}
	p := &types.Put{TableName: aws.String(s.table), Item: item}
	if cond != nil {
		expr, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			return types.TransactWriteItem{}, fmt.Errorf("build condition: %w", err)
		}
		p.ConditionExpression = expr.Condition()
		p.ExpressionAttributeNames = expr.Names()
		p.ExpressionAttributeValues = expr.Values()
	}
	return types.TransactWriteItem{Put: p}, nil
}

func (s *Store) del(pk, sk string, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	d := &types.Delete{TableName: aws.String(s.table), Key: key(pk, sk)}
	if cond != nil {
		expr, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			return types.TransactWriteItem{}, fmt.Errorf("build condition: %w", err)
		}
		d.ConditionExpression = expr.Condition()
		d.ExpressionAttributeNames = expr.Names()
		d.ExpressionAttributeValues = expr.Values()
	}
	return types.TransactWriteItem{Delete: d}, nil
}

func (s *Store) update(pk, sk string, upd expression.UpdateBuilder, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	in, err := s.updateInput(pk, sk, upd, cond)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 in.TableName,
		Key:                       in.Key,
		UpdateExpression:          in.UpdateExpression,
		ConditionExpression:       in.ConditionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues,
	}}, nil
}

// updateInput builds a single-item update.
func (s *Store) updateInput(pk, sk string, upd expression.UpdateBuilder, cond *expression.ConditionBuilder) (*dynamodb.UpdateItemInput, error) {
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build update: %w", err)
	}
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(pk, sk),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// updateOne runs a single-item update; a failed condition is ErrConflict.
func (s *Store) updateOne(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	out, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, ErrConflict
	}
	if isValidation(err) {
		return nil, fmt.Errorf("update %v: %w: %v", in.Key[AttrPK], errInvalidUpdate, err)
	}
	if err != nil {
		return nil, fmt.Errorf("update %v: %w", in.Key[AttrPK], err)
	}
	return out, nil
}

// errInvalidUpdate means DynamoDB refused an update as invalid for the item
// it found, such as a path into a map the item does not have: a
// ValidationException of UpdateItem (and of DynamoDB Local's transactions),
// or a transaction AWS cancelled with a ValidationError as an item's
// reason (the message is in the reason, not in the error's text).
var errInvalidUpdate = errors.New("store: update invalid for the item")

// isValidation reports whether err is DynamoDB's ValidationException.
func isValidation(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationException"
}

// check is a transaction item that writes nothing and holds the
// transaction to cond on another item.
func (s *Store) check(pk, sk string, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(*cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build condition: %w", err)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 aws.String(s.table),
		Key:                       key(pk, sk),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
}

// condition returns a pointer to c, for the optional conditions above.
func condition(c expression.ConditionBuilder) *expression.ConditionBuilder { return &c }

// exists is the condition that the item being written already exists.
func exists() *expression.ConditionBuilder {
	return condition(expression.AttributeExists(expression.Name(AttrPK)))
}

// absent is the condition that the item being written does not exist yet.
func absent() *expression.ConditionBuilder {
	return condition(expression.AttributeNotExists(expression.Name(AttrPK)))
}

// build collects transaction items, keeping the first error.
type build struct {
	items []types.TransactWriteItem
	err   error
}

func (b *build) add(item types.TransactWriteItem, err error) int {
	if err != nil && b.err == nil {
		b.err = err
	}
	b.items = append(b.items, item)
	return len(b.items) - 1
}

// addAll adds items, as audit returns them.
func (b *build) addAll(items []types.TransactWriteItem, err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
	b.items = append(b.items, items...)
}
