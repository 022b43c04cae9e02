package apitokens_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

var _ apitokens.Store = (*mock.Store)(nil)

// now is the tests' clock.
var now = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

// The fixture: an enterprise workspace with a site, a free workspace, and
// people holding each role.
const (
	wsID     = "0000000a0000000000000001"
	siteID   = "0000000a0000000000000002"
	freeWSID = "0000000a0000000000000003"

	admin     = "admin@example.com"     // workspace admin of both workspaces
	siteAdmin = "siteadmin@example.com" // administers the site only
	member    = "member@example.com"    // workspace member
	stranger  = "stranger@example.com"  // no role anywhere
)

var (
	siteOwner = tokensmith.Owner{Kind: token.KindSite, ID: siteID}
	wsOwner   = tokensmith.Owner{Kind: token.KindWorkspace, ID: wsID}
	freeOwner = tokensmith.Owner{Kind: token.KindWorkspace, ID: freeWSID}
)

// world is what the fake store answers from, and what its writes recorded.
// Tests change it, or replace one of the store's functions, to make a case.
type world struct {
	workspaces map[string]tokensmith.Workspace
	sites      map[string]tokensmith.Site
	users      map[string]tokensmith.User
	roles      map[tokensmith.Place]map[string]tokensmith.Role
	tokens     map[string]tokensmith.Token // by id
	secrets    map[string]tokensmith.Secret
	idem       map[string]store.Idempotency

	// What the writes were asked to do.
	created     []created
	revoked     []tokensmith.Token
	graceEnded  []tokensmith.Token
	regenerated []regenerated
	events      []tokensmith.Event
}

type created struct {
	version int64
	plan    tokensmith.Plan
	token   tokensmith.Token
}

type regenerated struct {
	token      tokensmith.Token
	graceUntil *time.Time
	expiresAt  *time.Time
}

func newWorld() *world {
	w := &world{
		workspaces: map[string]tokensmith.Workspace{
			wsID:     {ID: wsID, Slug: "hitchhikers", Plan: tokensmith.PlanEnterprise, TokenVersion: 1},
			freeWSID: {ID: freeWSID, Slug: "vogons", Plan: tokensmith.PlanFree, TokenVersion: 1},
		},
		sites:   map[string]tokensmith.Site{siteID: {ID: siteID, WorkspaceID: wsID, ShortName: "heart-of-gold", TokenVersion: 1}},
		users:   map[string]tokensmith.User{},
		roles:   map[tokensmith.Place]map[string]tokensmith.Role{},
		tokens:  map[string]tokensmith.Token{},
		secrets: map[string]tokensmith.Secret{},
		idem:    map[string]store.Idempotency{},
	}
	for i, email := range []string{admin, siteAdmin, member, stranger} {
		w.users[email] = tokensmith.User{ID: fmt.Sprintf("0000000c%016d", i+1), Email: email}
	}
	w.grant(tokensmith.Place{WorkspaceID: wsID}, admin, tokensmith.RoleAdmin)
	w.grant(tokensmith.Place{WorkspaceID: freeWSID}, admin, tokensmith.RoleAdmin)
	w.grant(tokensmith.Place{WorkspaceID: wsID, SiteID: siteID}, siteAdmin, tokensmith.RoleAdmin)
	w.grant(tokensmith.Place{WorkspaceID: wsID}, member, tokensmith.RoleMember)
	return w
}

func (w *world) grant(p tokensmith.Place, email string, role tokensmith.Role) {
	if w.roles[p] == nil {
		w.roles[p] = map[string]tokensmith.Role{}
	}
	w.roles[p][w.users[email].ID] = role
}

// addToken puts a token of owner in the world, active until expires, and
// returns it with its secret.
func (w *world) addToken(t *testing.T, owner tokensmith.Owner, expires time.Time) (tokensmith.Token, string) {
	t.Helper()
	secret, err := token.Generate(owner.Kind, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := token.NewID(now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokensmith.Token{ID: id, Kind: owner.Kind, Name: "sync", WorkspaceID: owner.ID, Scope: "sites:read",
		DisplayHint: token.DisplayHint(secret), SecretHash: token.Hash(secret), CreatedOn: now.Add(-time.Hour), ExpiresOn: expires}
	if owner.Kind == token.KindSite {
		tok.SiteID, tok.WorkspaceID = owner.ID, w.sites[owner.ID].WorkspaceID
	}
	w.tokens[id] = tok
	w.secrets[tok.SecretHash] = tokensmith.Secret{Hash: tok.SecretHash, TokenID: id, Kind: tok.Kind, SiteID: tok.SiteID,
		WorkspaceID: tok.WorkspaceID, ExpiresOn: expires}
	return tok, secret
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, tokensmith.NotFound()) }

// store returns the fake store on w.
func (w *world) store() *mock.Store {
	return &mock.Store{
		WorkspaceFn: func(_ context.Context, id string) (tokensmith.Workspace, error) {
			ws, ok := w.workspaces[id]
			if !ok {
				return tokensmith.Workspace{}, notFound("workspace")
			}
			return ws, nil
		},
		SiteFn: func(_ context.Context, id string) (tokensmith.Site, error) {
			s, ok := w.sites[id]
			if !ok {
				return tokensmith.Site{}, notFound("site")
			}
			return s, nil
		},
		TokensFn: func(_ context.Context, owner tokensmith.Owner) ([]tokensmith.Token, error) {
			var out []tokensmith.Token
			for _, t := range w.tokens {
				if t.Owner() == owner {
					out = append(out, t)
				}
			}
			return out, nil
		},
		TokenFn: func(_ context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
			t, ok := w.tokens[id]
			if !ok || t.Owner() != owner {
				return tokensmith.Token{}, notFound("token")
			}
			return t, nil
		},
		TokenOfFn: func(_ context.Context, sec tokensmith.Secret) (tokensmith.Token, error) {
			t, ok := w.tokens[sec.TokenID]
			if !ok || t.Owner() != sec.Owner() {
				return tokensmith.Token{}, notFound("token")
			}
			return t, nil
		},
		SecretFn: func(_ context.Context, hash string) (tokensmith.Secret, error) {
			s, ok := w.secrets[hash]
			if !ok {
				return tokensmith.Secret{}, notFound("secret")
			}
			return s, nil
		},
		IdempotencyFn: func(_ context.Context, keyHash string) (store.Idempotency, error) {
			rec, ok := w.idem[keyHash]
			if !ok {
				return store.Idempotency{}, notFound("idempotency key")
			}
			return rec, nil
		},
		CreateTokenFn: func(_ context.Context, version int64, plan tokensmith.Plan, _ int64, t tokensmith.Token, ev tokensmith.Event, idem *store.Idempotency, _ time.Time) error {
			w.created = append(w.created, created{version, plan, t})
			w.tokens[t.ID] = t
			w.events = append(w.events, ev)
			if idem != nil {
				w.idem[idem.KeyHash] = *idem
			}
			return nil
		},
		RevokeTokenFn: func(_ context.Context, t tokensmith.Token, ev tokensmith.Event) error {
			w.revoked = append(w.revoked, t)
			w.events = append(w.events, ev)
			delete(w.tokens, t.ID)
			return nil
		},
		RegenerateTokenFn: func(_ context.Context, t tokensmith.Token, _ tokensmith.Site, newHash, hint string, expiresAt, graceUntil *time.Time, ev tokensmith.Event) (tokensmith.Token, error) {
			w.regenerated = append(w.regenerated, regenerated{t, graceUntil, expiresAt})
			w.events = append(w.events, ev)
			t.SecretHash, t.DisplayHint = newHash, hint
			return t, nil
		},
		EndGraceFn: func(_ context.Context, t tokensmith.Token, ev tokensmith.Event) error {
			w.graceEnded = append(w.graceEnded, t)
			w.events = append(w.events, ev)
			return nil
		},
	}
}

// people returns a fake sign-in on w: a person is known by email, and
// holds the roles w grants them; anyone else holds nothing.
func (w *world) people() *mock.People {
	return &mock.People{SignInFn: func(_ context.Context, c tokensmith.Caller) (tokensmith.Person, error) {
		u, ok := w.users[c.Email]
		if !ok {
			return tokensmith.Person{User: tokensmith.User{ID: "0000000c00000000000000ff", Email: c.Email}}, nil
		}
		a := tokensmith.Person{User: u}
		for p, roles := range w.roles {
			if r, ok := roles[u.ID]; ok {
				a.Memberships = append(a.Memberships, tokensmith.Membership{Place: p, UserID: u.ID, Role: r})
			}
		}
		return a, nil
	}}
}

// serverSecret is the tests' idempotency secret.
var serverSecret = []byte("tokensmith apitokens tests idempotency secret")

// service returns an apitokens.Service on st, at now, signing people in as a
// new world does (every world grants the same roles).
func service(st apitokens.Store) *apitokens.Service {
	return &apitokens.Service{Store: st, People: newWorld().people(), Now: func() time.Time { return now }, Rand: rand.Reader, IdempotencySecret: apitokens.StaticSecret(serverSecret)}
}

var readSites = tokensmith.TokenInput{Name: "CMS sync", Permissions: scope.Permissions{"sites": scope.Read}}

var readActivity = tokensmith.TokenInput{Name: "Audit export", Permissions: scope.Permissions{"workspace_activity": scope.Read}}

// input is what a create for owner asks for.
func input(owner tokensmith.Owner) tokensmith.TokenInput {
	if owner.Kind == token.KindWorkspace {
		return readActivity
	}
	return readSites
}

// code returns the API error code err shows a client: "" for nil.
func code(err error) string { return tokensmith.ErrorCode(err) }
