// Package mock holds hand-written fakes of the root package's service
// interfaces, which the HTTP edge is tested against, and of the interfaces
// tokensmith's packages declare where they use them. Each fake is a struct of function
// fields, one per method, and each method calls its field: a test sets the
// fields the code under test should call, and a call to one it left unset
// panics, which fails the test. They serve the edge's and pure domain tests
// and CPU benchmarks; storage behaviour is tested against DynamoDB Local.
package mock

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// Store fakes the store as token management (apitokens.Store) calls it.
type Store struct {
	WorkspaceFn       func(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error)
	SiteFn            func(ctx context.Context, id string) (tokensmith.Site, error)
	TokensFn          func(ctx context.Context, owner tokensmith.Owner) ([]tokensmith.Token, error)
	TokenFn           func(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error)
	SecretFn          func(ctx context.Context, hash string) (tokensmith.Secret, error)
	IdempotencyFn     func(ctx context.Context, keyHash string) (store.Idempotency, error)
	CreateTokenFn     func(ctx context.Context, version int64, plan tokensmith.Plan, rateLimit int64, t tokensmith.Token, ev tokensmith.Event, idem *store.Idempotency, now time.Time) error
	RevokeTokenFn     func(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error
	RegenerateTokenFn func(ctx context.Context, t tokensmith.Token, site tokensmith.Site, newHash, hint string, expiresAt, graceUntil *time.Time, ev tokensmith.Event) (tokensmith.Token, error)
	EndGraceFn        func(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error
	RevokeLeakedFn    func(ctx context.Context, t tokensmith.Token, hash string, ev tokensmith.Event, until time.Time) error
	LeakedFn          func(ctx context.Context, hash string, now time.Time) (bool, error)
	TokenOfFn         func(ctx context.Context, sec tokensmith.Secret) (tokensmith.Token, error)
	WorkloadsFn       func(ctx context.Context, siteID string) ([]tokensmith.Workload, error)
	WorkloadFn        func(ctx context.Context, siteID, id string) (tokensmith.Workload, error)
	WorkloadTokensFn  func(ctx context.Context, w tokensmith.Workload, now time.Time) ([]tokensmith.Token, error)
	CreateWorkloadFn  func(ctx context.Context, w tokensmith.Workload, ev tokensmith.Event) error
	DeleteWorkloadFn  func(ctx context.Context, w tokensmith.Workload, live []tokensmith.Token, ev tokensmith.Event) error
	ExchangeFn        func(ctx context.Context, w, next tokensmith.Workload, t tokensmith.Token, rateLimit int64, use store.Use, ev tokensmith.Event) error
}

func (s *Store) Exchange(ctx context.Context, w, next tokensmith.Workload, t tokensmith.Token, rateLimit int64, use store.Use, ev tokensmith.Event) error {
	return s.ExchangeFn(ctx, w, next, t, rateLimit, use, ev)
}

func (s *Store) TokenOf(ctx context.Context, sec tokensmith.Secret) (tokensmith.Token, error) {
	return s.TokenOfFn(ctx, sec)
}

func (s *Store) Workloads(ctx context.Context, siteID string) ([]tokensmith.Workload, error) {
	return s.WorkloadsFn(ctx, siteID)
}

func (s *Store) Workload(ctx context.Context, siteID, id string) (tokensmith.Workload, error) {
	return s.WorkloadFn(ctx, siteID, id)
}

func (s *Store) WorkloadTokens(ctx context.Context, w tokensmith.Workload, now time.Time) ([]tokensmith.Token, error) {
	return s.WorkloadTokensFn(ctx, w, now)
}

func (s *Store) CreateWorkload(ctx context.Context, w tokensmith.Workload, ev tokensmith.Event) error {
	return s.CreateWorkloadFn(ctx, w, ev)
}

func (s *Store) DeleteWorkload(ctx context.Context, w tokensmith.Workload, live []tokensmith.Token, ev tokensmith.Event) error {
	return s.DeleteWorkloadFn(ctx, w, live, ev)
}

func (s *Store) Workspace(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error) {
	return s.WorkspaceFn(ctx, idOrSlug)
}

func (s *Store) Site(ctx context.Context, id string) (tokensmith.Site, error) {
	return s.SiteFn(ctx, id)
}

func (s *Store) Tokens(ctx context.Context, owner tokensmith.Owner) ([]tokensmith.Token, error) {
	return s.TokensFn(ctx, owner)
}

func (s *Store) Token(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
	return s.TokenFn(ctx, owner, id)
}

func (s *Store) Secret(ctx context.Context, hash string) (tokensmith.Secret, error) {
	return s.SecretFn(ctx, hash)
}

func (s *Store) Idempotency(ctx context.Context, keyHash string) (store.Idempotency, error) {
	return s.IdempotencyFn(ctx, keyHash)
}

func (s *Store) CreateToken(ctx context.Context, version int64, plan tokensmith.Plan, rateLimit int64, t tokensmith.Token, ev tokensmith.Event, idem *store.Idempotency, now time.Time) error {
	return s.CreateTokenFn(ctx, version, plan, rateLimit, t, ev, idem, now)
}

func (s *Store) RevokeToken(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error {
	return s.RevokeTokenFn(ctx, t, ev)
}

func (s *Store) RegenerateToken(ctx context.Context, t tokensmith.Token, site tokensmith.Site, newHash, hint string, expiresAt, graceUntil *time.Time, ev tokensmith.Event) (tokensmith.Token, error) {
	return s.RegenerateTokenFn(ctx, t, site, newHash, hint, expiresAt, graceUntil, ev)
}

func (s *Store) EndGrace(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error {
	return s.EndGraceFn(ctx, t, ev)
}

func (s *Store) RevokeLeaked(ctx context.Context, t tokensmith.Token, hash string, ev tokensmith.Event, until time.Time) error {
	return s.RevokeLeakedFn(ctx, t, hash, ev, until)
}

func (s *Store) Leaked(ctx context.Context, hash string, now time.Time) (bool, error) {
	return s.LeakedFn(ctx, hash, now)
}

// People fakes sign-in as token management (apitokens.People) calls it.
type People struct {
	SignInFn func(ctx context.Context, c tokensmith.Caller) (tokensmith.Person, error)
}

func (p *People) SignIn(ctx context.Context, c tokensmith.Caller) (tokensmith.Person, error) {
	return p.SignInFn(ctx, c)
}

// Members fakes the store as sign-in and members (people.Store) call it.
type Members struct {
	UserByIdentityFn func(ctx context.Context, issuer, sub string) (tokensmith.User, error)
	CreateUserFn     func(ctx context.Context, u tokensmith.User) error
	InvitationsFn    func(ctx context.Context, email string) ([]tokensmith.Member, error)
	MembershipsFn    func(ctx context.Context, userID string) ([]tokensmith.Membership, error)
	MemberFn         func(ctx context.Context, p tokensmith.Place, id string) (tokensmith.Member, error)
	MemberByEmailFn  func(ctx context.Context, p tokensmith.Place, email string) (tokensmith.Member, error)
	MembersFn        func(ctx context.Context, p tokensmith.Place) ([]tokensmith.Member, error)
	WorkspaceFn      func(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error)
	SiteFn           func(ctx context.Context, id string) (tokensmith.Site, error)
	SitesFn          func(ctx context.Context, wsID string) ([]tokensmith.Site, error)
	AddMemberFn      func(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error
	BindMemberFn     func(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error
	DropInvitationFn func(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error
	SetRoleFn        func(ctx context.Context, m tokensmith.Member, role tokensmith.Role, ev tokensmith.Event) error
	RemoveMemberFn   func(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error
	SetPolicyFn      func(ctx context.Context, ws tokensmith.Workspace, days int64, ev tokensmith.Event) error
}

func (s *Members) UserByIdentity(ctx context.Context, issuer, sub string) (tokensmith.User, error) {
	return s.UserByIdentityFn(ctx, issuer, sub)
}

func (s *Members) CreateUser(ctx context.Context, u tokensmith.User) error {
	return s.CreateUserFn(ctx, u)
}

func (s *Members) Invitations(ctx context.Context, email string) ([]tokensmith.Member, error) {
	return s.InvitationsFn(ctx, email)
}

func (s *Members) Memberships(ctx context.Context, userID string) ([]tokensmith.Membership, error) {
	return s.MembershipsFn(ctx, userID)
}

func (s *Members) Member(ctx context.Context, p tokensmith.Place, id string) (tokensmith.Member, error) {
	return s.MemberFn(ctx, p, id)
}

func (s *Members) MemberByEmail(ctx context.Context, p tokensmith.Place, email string) (tokensmith.Member, error) {
	return s.MemberByEmailFn(ctx, p, email)
}

func (s *Members) Members(ctx context.Context, p tokensmith.Place) ([]tokensmith.Member, error) {
	return s.MembersFn(ctx, p)
}

func (s *Members) Workspace(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error) {
	return s.WorkspaceFn(ctx, idOrSlug)
}

func (s *Members) Site(ctx context.Context, id string) (tokensmith.Site, error) {
	return s.SiteFn(ctx, id)
}

func (s *Members) Sites(ctx context.Context, wsID string) ([]tokensmith.Site, error) {
	return s.SitesFn(ctx, wsID)
}

func (s *Members) AddMember(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error {
	return s.AddMemberFn(ctx, m, ev)
}

func (s *Members) BindMember(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error {
	return s.BindMemberFn(ctx, m, u, ev)
}

func (s *Members) DropInvitation(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error {
	return s.DropInvitationFn(ctx, m, u, ev)
}

func (s *Members) SetRole(ctx context.Context, m tokensmith.Member, role tokensmith.Role, ev tokensmith.Event) error {
	return s.SetRoleFn(ctx, m, role, ev)
}

func (s *Members) RemoveMember(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error {
	return s.RemoveMemberFn(ctx, m, ev)
}

func (s *Members) SetTokenLifetimePolicy(ctx context.Context, ws tokensmith.Workspace, days int64, ev tokensmith.Event) error {
	return s.SetPolicyFn(ctx, ws, days, ev)
}

// Secrets fakes the store as the authorizer (authorizer.Secrets) calls it.
type Secrets struct {
	SecretFn    func(ctx context.Context, hash string) (tokensmith.Secret, error)
	RecordUseFn func(ctx context.Context, sec tokensmith.Secret, now time.Time, uses int64, scopes map[string]time.Time, inactivity time.Duration) error
}

func (s *Secrets) Secret(ctx context.Context, hash string) (tokensmith.Secret, error) {
	return s.SecretFn(ctx, hash)
}

func (s *Secrets) RecordUse(ctx context.Context, sec tokensmith.Secret, now time.Time, uses int64, scopes map[string]time.Time, inactivity time.Duration) error {
	return s.RecordUseFn(ctx, sec, now, uses, scopes, inactivity)
}

// OneSecret returns Secrets that know sec alone and take every usage write.
func OneSecret(sec tokensmith.Secret) *Secrets {
	return &Secrets{
		SecretFn: func(_ context.Context, hash string) (tokensmith.Secret, error) {
			if hash != sec.Hash {
				return tokensmith.Secret{}, tokensmith.NotFound()
			}
			return sec, nil
		},
		RecordUseFn: func(context.Context, tokensmith.Secret, time.Time, int64, map[string]time.Time, time.Duration) error {
			return nil
		},
	}
}

// Users fakes the verifier of user tokens (authorizer.UserVerifier).
type Users struct {
	VerifyFn func(ctx context.Context, raw string) (usertoken.Claims, error)
}

func (u *Users) Verify(ctx context.Context, raw string) (usertoken.Claims, error) {
	return u.VerifyFn(ctx, raw)
}

// NoUsers returns Users that verify no user token.
func NoUsers() *Users {
	return &Users{VerifyFn: func(context.Context, string) (usertoken.Claims, error) {
		return usertoken.Claims{}, usertoken.ErrInvalid
	}}
}

// DB fakes the DynamoDB client as the store (store.DB) calls it.
type DB struct {
	GetItemFn            func(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	QueryFn              func(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	UpdateItemFn         func(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItemsFn func(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

func (d *DB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return d.GetItemFn(ctx, in, optFns...)
}

func (d *DB) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return d.QueryFn(ctx, in, optFns...)
}

func (d *DB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return d.UpdateItemFn(ctx, in, optFns...)
}

func (d *DB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return d.TransactWriteItemsFn(ctx, in, optFns...)
}

// Through returns a DB that passes every call to db (DynamoDB Local in
// tests); a test replaces the field of the call it means to fail.
func Through(db store.DB) *DB {
	return &DB{GetItemFn: db.GetItem, QueryFn: db.Query, UpdateItemFn: db.UpdateItem, TransactWriteItemsFn: db.TransactWriteItems}
}

// Failing returns a DB whose every call fails with err, as an unreachable or
// throttling table does.
func Failing(err error) *DB {
	return &DB{
		GetItemFn: func(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
			return nil, err
		},
		QueryFn: func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
			return nil, err
		},
		UpdateItemFn: func(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
			return nil, err
		},
		TransactWriteItemsFn: func(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
			return nil, err
		},
	}
}

// CountingDB passes every call to DB and counts it: GetItem and Query as
// reads, UpdateItem and TransactWriteItems as writes. DB may be swapped
// between calls, to fail the next ones.
type CountingDB struct {
	DB            store.DB
	Reads, Writes atomic.Int64
}

// Calls returns the calls counted, reads and writes.
func (c *CountingDB) Calls() int64 { return c.Reads.Load() + c.Writes.Load() }

// Reset sets the counts to zero.
func (c *CountingDB) Reset() {
	c.Reads.Store(0)
	c.Writes.Store(0)
}

func (c *CountingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.Reads.Add(1)
	return c.DB.GetItem(ctx, in, optFns...)
}

func (c *CountingDB) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.Reads.Add(1)
	return c.DB.Query(ctx, in, optFns...)
}

func (c *CountingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.Writes.Add(1)
	return c.DB.UpdateItem(ctx, in, optFns...)
}

func (c *CountingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.Writes.Add(1)
	return c.DB.TransactWriteItems(ctx, in, optFns...)
}
