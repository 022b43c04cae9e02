package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// TestRecordUseNotesScopes: a usage write sets each exercised scope's time
// in scopeLastUsed, keeps the others, and does so on a record stored
// before records carried the map too; it is one transaction either way.
func TestRecordUseNotesScopes(t *testing.T) {
	db, table := dynamotest.NewTable(t)
	s := store.New(db, table)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	tok := newToken("0000000b0000000000000001", site, "tss_used")
	if err := s.CreateToken(ctx, 0, "", 0, tok, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	sec, err := s.Secret(ctx, tok.SecretHash)
	if err != nil {
		t.Fatal(err)
	}
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	if err := s.RecordUse(ctx, sec, t1, 3, map[string]time.Time{"sites:read": t1, "cms:read": t1}, token.Inactivity); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordUse(ctx, sec, t2, 1, map[string]time.Time{"sites:read": t2}, token.Inactivity); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, tok.Owner(), tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"sites:read": t2, "cms:read": t1}
	if !equalTimes(got.ScopeLastUsed, want) || got.UseCount != 4 {
		t.Errorf("after two writes: scopeLastUsed %v, useCount %d; want %v, 4", got.ScopeLastUsed, got.UseCount, want)
	}

	// A record without the map, as stored before it existed.
	legacy, lsec := legacyToken(t, s, db, table, ws, site, 1)
	if err := s.RecordUse(ctx, lsec, t1, 1, map[string]time.Time{"sites:read": t1}, token.Inactivity); err != nil {
		t.Fatalf("RecordUse on a record without scopeLastUsed: %v", err)
	}
	if err := s.RecordUse(ctx, lsec, t2, 1, map[string]time.Time{"cms:read": t2}, token.Inactivity); err != nil {
		t.Fatal(err)
	}
	got, err = s.Token(ctx, legacy.Owner(), legacy.ID)
	if want := map[string]time.Time{"sites:read": t1, "cms:read": t2}; err != nil || !equalTimes(got.ScopeLastUsed, want) || got.UseCount != 2 {
		t.Errorf("legacy record: %v, %d, %v; want %v, 2", got.ScopeLastUsed, got.UseCount, err, want)
	}
}

// TestRecordUseOnLegacyRecordInAWS: AWS refuses a transaction's update of a
// path into a map the item lacks by cancelling the transaction, with the
// reason on the item (DynamoDB Local answers a ValidationException
// instead): the usage write on a record without scopeLastUsed still sets
// the whole map, and other cancellations are not taken for it.
func TestRecordUseOnLegacyRecordInAWS(t *testing.T) {
	local, table := dynamotest.NewTable(t)
	db := mock.Through(local)
	// As AWS answers: the transaction cancelled, its first item's reason a
	// ValidationError.
	db.TransactWriteItemsFn = func(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
		out, err := local.TransactWriteItems(ctx, in, optFns...)
		if err != nil && strings.Contains(err.Error(), "document path provided in the update expression is invalid") {
			reasons := make([]types.CancellationReason, len(in.TransactItems))
			for i := range reasons {
				reasons[i].Code = aws.String("None")
			}
			reasons[0] = types.CancellationReason{Code: aws.String("ValidationError"),
				Message: aws.String("The document path provided in the update expression is invalid for update")}
			return nil, &types.TransactionCanceledException{
				Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [ValidationError, None]"),
				CancellationReasons: reasons,
			}
		}
		return out, err
	}
	s := store.New(db, table)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	legacy, sec := legacyToken(t, s, local, table, ws, site, 0)
	t1 := t0.Add(time.Minute)
	if err := s.RecordUse(ctx, sec, t1, 1, map[string]time.Time{"sites:read": t1}, token.Inactivity); err != nil {
		t.Fatalf("RecordUse on a record without scopeLastUsed, as AWS refuses the path: %v", err)
	}
	got, err := s.Token(ctx, legacy.Owner(), legacy.ID)
	if want := map[string]time.Time{"sites:read": t1}; err != nil || !equalTimes(got.ScopeLastUsed, want) || got.UseCount != 1 || !got.LastUsed.Equal(t1) {
		t.Errorf("legacy record: %v, %d, %v, %v; want %v, 1, %v", got.ScopeLastUsed, got.UseCount, got.LastUsed, err, want, t1)
	}

	// A cancellation for another reason is an error, not a missing map.
	db.TransactWriteItemsFn = func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
		return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"),
			CancellationReasons: []types.CancellationReason{{Code: aws.String("ThrottlingError")}, {Code: aws.String("None")}}}
	}
	if err := s.RecordUse(ctx, sec, t1.Add(time.Minute), 1, map[string]time.Time{"sites:read": t1}, token.Inactivity); err == nil {
		t.Error("RecordUse with its transaction throttled succeeded; want an error")
	}
}

// legacyToken stores a site token as records were stored before they
// carried scopeLastUsed (site's version-th token), and returns it and its
// secret as the authorizer reads it.
func legacyToken(t *testing.T, s *store.Store, db store.DB, table string, ws tokensmith.Workspace, site tokensmith.Site, version int64) (tokensmith.Token, tokensmith.Secret) {
	t.Helper()
	ctx := context.Background()
	legacy := newToken("0000000b0000000000000002", site, "tss_legacy")
	if err := s.CreateToken(ctx, version, "", 0, legacy, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: store.TokenKey(legacy.Owner(), legacy.ID),
		UpdateExpression: aws.String("REMOVE scopeLastUsed")}); err != nil {
		t.Fatal(err)
	}
	sec, err := s.Secret(ctx, legacy.SecretHash)
	if err != nil {
		t.Fatal(err)
	}
	return legacy, sec
}

func equalTimes(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !v.Equal(w) {
			return false
		}
	}
	return true
}

// TestAllowlistTravelsWithSecrets: the allowlist is on the record and on
// every secret the token gets, a regenerated one too.
func TestAllowlistTravelsWithSecrets(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, site := seedSite(t, s)
	tok := newToken("0000000b0000000000000001", site, "tss_listed")
	tok.AllowedIPs = []string{"203.0.113.0/24", "2001:db8::/32"}
	if err := s.CreateToken(ctx, 0, "", 0, tok, event(ws, audit.SubTokenCreated), nil, t0); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Token(ctx, tok.Owner(), tok.ID)
	if err != nil || !slices.Equal(rec.AllowedIPs, tok.AllowedIPs) {
		t.Fatalf("Token = %v, %v; want allowedIps %v", rec.AllowedIPs, err, tok.AllowedIPs)
	}
	if _, err := s.RegenerateToken(ctx, rec, readSite(t, s, site.ID), token.Hash("tss_next"), "x", nil, nil, event(ws, audit.SubTokenRegenerated)); err != nil {
		t.Fatal(err)
	}
	sec, err := s.Secret(ctx, token.Hash("tss_next"))
	if err != nil || !slices.Equal(sec.AllowedIPs, tok.AllowedIPs) {
		t.Errorf("regenerated secret = %v, %v; want allowedIps %v", sec.AllowedIPs, err, tok.AllowedIPs)
	}
}
