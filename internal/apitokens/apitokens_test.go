package apitokens_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/audit"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

func TestWhoMayAct(t *testing.T) {
	tests := []struct {
		name  string
		email string
		owner tokensmith.Owner
		want  string
	}{
		{"workspace admin, site tokens", admin, siteOwner, ""},
		{"workspace admin, workspace tokens", admin, wsOwner, ""},
		{"site administrator, site tokens", siteAdmin, siteOwner, ""},
		{"site administrator, workspace tokens", siteAdmin, wsOwner, tokensmith.EFORBIDDEN},
		{"workspace member, site tokens", member, siteOwner, tokensmith.EFORBIDDEN},
		{"workspace member, workspace tokens", member, wsOwner, tokensmith.EFORBIDDEN},
		{"stranger, site tokens", stranger, siteOwner, tokensmith.ENOTFOUND},
		{"stranger, workspace tokens", stranger, wsOwner, tokensmith.ENOTFOUND},
		{"unknown person", "nobody@example.com", siteOwner, tokensmith.ENOTFOUND},
		{"unknown site", admin, tokensmith.Owner{Kind: token.KindSite, ID: "0000000a00000000000000ff"}, tokensmith.ENOTFOUND},
		{"malformed site id", admin, tokensmith.Owner{Kind: token.KindSite, ID: "../x"}, tokensmith.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tok, _ := w.addToken(t, tc.owner, now.Add(time.Hour))
			svc := service(w.store())
			p := tokensmith.Caller{Email: tc.email}
			ctx := context.Background()
			_, err := svc.List(ctx, p, tc.owner)
			if got := code(err); got != tc.want {
				t.Errorf("List = %v; want %q", err, tc.want)
			}
			_, err = svc.Get(ctx, p, tc.owner, tok.ID)
			if got := code(err); got != tc.want {
				t.Errorf("Get = %v; want %q", err, tc.want)
			}
			_, _, err = svc.Create(ctx, p, tc.owner, input(tc.owner), "")
			if got := code(err); got != tc.want {
				t.Errorf("Create = %v; want %q", err, tc.want)
			}
			err = svc.Revoke(ctx, p, tc.owner, tok.ID)
			if got := code(err); got != tc.want {
				t.Errorf("Revoke = %v; want %q", err, tc.want)
			}
			if tc.want != "" && (len(w.created) != 0 || len(w.revoked) != 0 || len(w.events) != 0) {
				t.Errorf("refused caller changed something: created %d, revoked %d, events %d", len(w.created), len(w.revoked), len(w.events))
			}
		})
	}
}

// TestWorkspaceTokensOnEnterpriseOnly: on a workspace not on the enterprise
// plan, admins may still list, read and revoke its workspace tokens, but not
// create one; new tokens carry the plan read with the version they counted at.
func TestWorkspaceTokensOnEnterpriseOnly(t *testing.T) {
	tests := []struct {
		name       string
		owner      tokensmith.Owner
		wantCreate string
		wantPlan   tokensmith.Plan
	}{
		{"enterprise workspace", wsOwner, "", tokensmith.PlanEnterprise},
		{"free workspace", freeOwner, tokensmith.ENOTENTERPRISE, ""},
		{"site of an enterprise workspace", siteOwner, "", tokensmith.PlanEnterprise},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tok, _ := w.addToken(t, tc.owner, now.Add(time.Hour))
			svc := service(w.store())
			p := tokensmith.Caller{Email: admin}
			ctx := context.Background()
			_, _, err := svc.Create(ctx, p, tc.owner, input(tc.owner), "")
			if got := code(err); got != tc.wantCreate {
				t.Fatalf("Create = %v; want %q", err, tc.wantCreate)
			}
			if tc.wantCreate == "" {
				if len(w.created) != 1 || w.created[0].plan != tc.wantPlan || w.created[0].version != 1 {
					t.Errorf("CreateToken calls = %+v; want one at version 1 with plan %q", w.created, tc.wantPlan)
				}
			}
			if ts, err := svc.List(ctx, p, tc.owner); err != nil || len(ts) == 0 {
				t.Errorf("List = %d tokens, %v; want the token", len(ts), err)
			}
			if _, err := svc.Get(ctx, p, tc.owner, tok.ID); err != nil {
				t.Errorf("Get = %v; want the token", err)
			}
			if err := svc.Revoke(ctx, p, tc.owner, tok.ID); err != nil || len(w.revoked) != 1 {
				t.Errorf("Revoke = %v, %d revoked; want it revoked", err, len(w.revoked))
			}
		})
	}
}

func TestTokenLimit(t *testing.T) {
	tests := []struct {
		name            string
		active, expired int
		want            string
	}{
		{"none", 0, 0, ""},
		{"four", 4, 0, ""},
		{"four and expired ones", 4, 3, ""},
		{"five", 5, 0, tokensmith.ETOKENLIMIT},
		{"six", 6, 0, tokensmith.ETOKENLIMIT},
	}
	for _, owner := range []tokensmith.Owner{siteOwner, wsOwner} {
		for _, tc := range tests {
			t.Run(string(owner.Kind)+" "+tc.name, func(t *testing.T) {
				w := newWorld()
				for i := 0; i < tc.active; i++ {
					w.addToken(t, owner, now.Add(time.Hour))
				}
				for i := 0; i < tc.expired; i++ {
					w.addToken(t, owner, now)
				}
				_, _, err := service(w.store()).Create(context.Background(), tokensmith.Caller{Email: admin}, owner, input(owner), "")
				if got := code(err); got != tc.want {
					t.Errorf("Create with %d active, %d expired = %v; want %q", tc.active, tc.expired, err, tc.want)
				}
			})
		}
	}
}

// TestCreateAfterConcurrentChange: a create whose transaction finds the
// owner's version moved (another create, or a plan change) reads the owner
// again, counts again and decides again.
func TestCreateAfterConcurrentChange(t *testing.T) {
	tests := []struct {
		name        string
		owner       tokensmith.Owner
		meanwhile   func(t *testing.T, w *world)
		want        string
		wantVersion int64
	}{
		{"another create, room left", siteOwner, func(t *testing.T, w *world) {
			w.addToken(t, siteOwner, now.Add(time.Hour))
		}, "", 2},
		{"another create took the last place", siteOwner, func(t *testing.T, w *world) {
			for i := 0; i < apitokens.MaxActiveTokens; i++ {
				w.addToken(t, siteOwner, now.Add(time.Hour))
			}
		}, tokensmith.ETOKENLIMIT, 0},
		{"the plan left enterprise", wsOwner, func(t *testing.T, w *world) {
			ws := w.workspaces[wsID]
			ws.Plan = tokensmith.PlanFree
			w.workspaces[wsID] = ws
		}, tokensmith.ENOTENTERPRISE, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			st := w.store()
			create := st.CreateTokenFn
			attempts := 0
			st.CreateTokenFn = func(ctx context.Context, version int64, plan tokensmith.Plan, rateLimit int64, tok tokensmith.Token, ev tokensmith.Event, idem *store.Idempotency, at time.Time) error {
				attempts++
				if attempts == 1 {
					tc.meanwhile(t, w)
					ws, site := w.workspaces[wsID], w.sites[siteID]
					ws.TokenVersion++
					site.TokenVersion++
					w.workspaces[wsID], w.sites[siteID] = ws, site
					return store.ErrConflict
				}
				return create(ctx, version, plan, rateLimit, tok, ev, idem, at)
			}
			_, _, err := service(st).Create(context.Background(), tokensmith.Caller{Email: admin}, tc.owner, input(tc.owner), "")
			if got := code(err); got != tc.want {
				t.Fatalf("Create = %v; want %q", err, tc.want)
			}
			if tc.want == "" && (len(w.created) != 1 || w.created[0].version != tc.wantVersion) {
				t.Errorf("created %+v; want one at version %d", w.created, tc.wantVersion)
			}
			if tc.want != "" && len(w.created) != 0 {
				t.Errorf("created %+v; want none", w.created)
			}
		})
	}
}

func TestIdempotentCreate(t *testing.T) {
	const key = "6f1c1c7e-9b1d-4c56-8d0e-1a2b3c4d5e6f"
	other := tokensmith.TokenInput{Name: "Another", Permissions: scope.Permissions{"sites": scope.Read}}
	tests := []struct {
		name         string
		email        string
		owner        tokensmith.Owner
		key          string
		in           tokensmith.TokenInput
		after        time.Duration // between the two creates
		want         string
		wantReplayed bool
	}{
		{"same key and body", admin, siteOwner, key, readSites, 0, "", true},
		{"same key, other body", admin, siteOwner, key, other, 0, tokensmith.ECONFLICT, false},
		{"same key, other person", siteAdmin, siteOwner, key, readSites, 0, "", false},
		{"same key, other owner", admin, wsOwner, key, readActivity, 0, "", false},
		{"other key", admin, siteOwner, key + "x", readSites, 0, "", false},
		{"same key after 24 hours", admin, siteOwner, key, readSites, apitokens.IdempotencyTTL, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			svc := service(w.store())
			ctx := context.Background()
			first, replayed, err := svc.Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, key)
			if err != nil || replayed {
				t.Fatalf("first Create = %v, replayed %v", err, replayed)
			}
			svc.Now = func() time.Time { return now.Add(tc.after) }
			second, replayed, err := svc.Create(ctx, tokensmith.Caller{Email: tc.email}, tc.owner, tc.in, tc.key)
			if got := code(err); got != tc.want || replayed != tc.wantReplayed {
				t.Fatalf("second Create = %v, replayed %v; want %q, replayed %v", err, replayed, tc.want, tc.wantReplayed)
			}
			wantCreated := 2
			if tc.wantReplayed || tc.want != "" {
				wantCreated = 1
			}
			if len(w.created) != wantCreated {
				t.Errorf("%d tokens created; want %d", len(w.created), wantCreated)
			}
			if tc.wantReplayed && (second.Secret != first.Secret || second.Token.ID != first.Token.ID) {
				t.Errorf("replay = %s %s; want the first response, %s %s", second.Token.ID, second.Token.DisplayHint, first.Token.ID, first.Token.DisplayHint)
			}
			for _, rec := range w.idem {
				if strings.Contains(string(rec.Sealed), first.Secret) || strings.Contains(rec.KeyHash, key) {
					t.Error("the idempotency record holds the secret or the key in plaintext")
				}
			}
		})
	}
}

// TestIdempotencyNeedsServerSecret holds idempotency records to the server's
// secret: a record is not found under the hash the key alone gives (what
// someone holding the table could compute for guessed keys), its response
// does not open with the key alone, a service with another secret neither
// finds nor opens it, and a service without a secret refuses keyed creates.
func TestIdempotencyNeedsServerSecret(t *testing.T) {
	const key = "42"
	w := newWorld()
	ctx := context.Background()
	first, _, err := service(w.store()).Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.idem) != 1 {
		t.Fatalf("%d idempotency records; want 1", len(w.idem))
	}
	scoped := string(siteOwner.Kind) + "\x00" + siteOwner.ID + "\x00" + w.users[admin].ID + "\x00" + key
	guessedHash := sha256.Sum256([]byte("tokensmith idempotency key\x00" + scoped))
	guessedSeal := sha256.Sum256([]byte("tokensmith idempotency seal\x00" + scoped))
	for _, rec := range w.idem {
		if rec.KeyHash == hex.EncodeToString(guessedHash[:]) {
			t.Error("the record is stored under a hash of the key alone")
		}
		block, _ := aes.NewCipher(guessedSeal[:])
		gcm, _ := cipher.NewGCM(block)
		if _, err := gcm.Open(nil, rec.Sealed[:gcm.NonceSize()], rec.Sealed[gcm.NonceSize():], []byte(rec.KeyHash)); err == nil {
			t.Error("the record's response opens with a key derived from the Idempotency-Key alone")
		}
	}

	other := service(w.store())
	other.IdempotencySecret = apitokens.StaticSecret("another deployment's idempotency secret")
	second, replayed, err := other.Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, key)
	if err != nil || replayed || second.Secret == first.Secret {
		t.Errorf("Create with another secret = %v, replayed %v; want a new token", err, replayed)
	}

	none := service(w.store())
	none.IdempotencySecret = nil
	created := len(w.created)
	if _, _, err := none.Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, key); !errors.Is(err, apitokens.ErrNoIdempotencySecret) {
		t.Errorf("Create with a key and no secret = %v; want %v", err, apitokens.ErrNoIdempotencySecret)
	}
	if len(w.created) != created {
		t.Error("a keyed Create without a secret minted a token")
	}
	if _, _, err := none.Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, ""); err != nil {
		t.Errorf("Create without a key or a secret = %v; want a token", err)
	}

	unreadable := service(w.store())
	unreadable.IdempotencySecret = failingSecret{errors.New("secrets manager: timeout")}
	created = len(w.created)
	if _, _, err := unreadable.Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, "b0d5c1f2-0c4e-4f7a-9a57-3c1b2d4e5f60"); tokensmith.ErrorCode(err) != tokensmith.EUNAVAILABLE {
		t.Errorf("Create with a key while the secret cannot be read = %v; want %s", err, tokensmith.EUNAVAILABLE)
	}
	if len(w.created) != created {
		t.Error("a keyed Create whose secret could not be read minted a token")
	}
}

// failingSecret is an idempotency secret that cannot be read.
type failingSecret struct{ err error }

func (f failingSecret) Secret(context.Context) ([]byte, error) { return nil, f.err }

// TestIdempotentCreateRace: when a concurrent request with the same key
// stored its response first, the create answers with that response.
func TestIdempotentCreateRace(t *testing.T) {
	const key = "6f1c1c7e-9b1d-4c56-8d0e-1a2b3c4d5e6f"
	w := newWorld()
	svc := service(w.store())
	ctx := context.Background()
	winner, _, err := svc.Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, key)
	if err != nil {
		t.Fatal(err)
	}
	// The loser read no record, then lost the transaction.
	st := w.store()
	recs := w.idem
	w.idem = map[string]store.Idempotency{}
	st.CreateTokenFn = func(context.Context, int64, tokensmith.Plan, int64, tokensmith.Token, tokensmith.Event, *store.Idempotency, time.Time) error {
		w.idem = recs
		return store.ErrIdempotencyKeyUsed
	}
	got, replayed, err := service(st).Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, key)
	if err != nil || !replayed || got.Secret != winner.Secret {
		t.Errorf("losing Create = %s, replayed %v, %v; want the winner's response replayed", got.Token.ID, replayed, err)
	}
}

func TestRegenerate(t *testing.T) {
	tests := []struct {
		name      string
		grace     int64
		want      string
		wantUntil time.Duration // 0: the old secret ends at once
	}{
		{"no grace", 0, "", 0},
		{"one hour", 3600, "", time.Hour},
		{"seven days", 604800, "", 7 * 24 * time.Hour},
		{"negative", -1, tokensmith.EINVALID, 0},
		{"seven days and a second", 604801, tokensmith.EINVALID, 0},
		// 3600 + 2^55 seconds overflows a time.Duration to about one hour.
		{"overflowing", 3600 + 1<<55, tokensmith.EINVALID, 0},
		{"largest", 1<<63 - 1, tokensmith.EINVALID, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tok, _ := w.addToken(t, siteOwner, now.Add(time.Hour))
			m, err := service(w.store()).Regenerate(context.Background(), tokensmith.Caller{Email: admin}, siteOwner, tok.ID, tokensmith.RegenerateInput{GracePeriodSeconds: tc.grace})
			if got := code(err); got != tc.want {
				t.Fatalf("Regenerate(%d) = %v; want %q", tc.grace, err, tc.want)
			}
			if tc.want != "" {
				if len(w.regenerated) != 0 {
					t.Errorf("a refused regenerate wrote %+v", w.regenerated)
				}
				if !strings.Contains(err.Error(), "Validation") || tokensmith.ErrorOf(err).Details[0].Field != "gracePeriodSeconds" {
					t.Errorf("error %v does not name gracePeriodSeconds", err)
				}
				return
			}
			if len(w.regenerated) != 1 {
				t.Fatalf("%d regenerate writes; want 1", len(w.regenerated))
			}
			until := w.regenerated[0].graceUntil
			switch {
			case tc.wantUntil == 0 && until != nil:
				t.Errorf("graceUntil = %v; want none", *until)
			case tc.wantUntil != 0 && (until == nil || !until.Equal(now.Add(tc.wantUntil))):
				t.Errorf("graceUntil = %v; want %v", until, now.Add(tc.wantUntil))
			}
			if m.Secret == "" || token.Hash(m.Secret) == tok.SecretHash || m.Token.ID != tok.ID {
				t.Errorf("Regenerate = %s; want a new secret for %s", m.Token.ID, tok.ID)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Duration
		id      func(tok tokensmith.Token) string
		want    string
	}{
		{"active", time.Hour, func(tok tokensmith.Token) string { return tok.ID }, ""},
		{"expired", 0, func(tok tokensmith.Token) string { return tok.ID }, tokensmith.ENOTFOUND},
		{"unknown", time.Hour, func(tokensmith.Token) string { return "0000000b00000000000000ff" }, tokensmith.ENOTFOUND},
		{"malformed", time.Hour, func(tokensmith.Token) string { return "not-an-id" }, tokensmith.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tok, _ := w.addToken(t, siteOwner, now.Add(tc.expires))
			err := service(w.store()).Revoke(context.Background(), tokensmith.Caller{Email: admin}, siteOwner, tc.id(tok))
			if got := code(err); got != tc.want {
				t.Fatalf("Revoke = %v; want %q", err, tc.want)
			}
			if tc.want != "" {
				if len(w.revoked) != 0 {
					t.Errorf("revoked %+v; want nothing", w.revoked)
				}
				return
			}
			if len(w.revoked) != 1 || len(w.events) != 1 || w.events[0].SubType != audit.SubTokenRevoked || w.events[0].Actor.Email != admin {
				t.Errorf("revoked %d, events %+v; want one token_revoked by %s", len(w.revoked), w.events, admin)
			}
		})
	}
}

// TestRevokeBySecret: the current secret revokes the token; a previous
// secret in its grace period ends only that grace period; anything else
// revokes nothing.
func TestRevokeBySecret(t *testing.T) {
	tests := []struct {
		name          string
		secret        func(current, previous string) string
		graceUntil    time.Duration // of the previous secret
		want          bool
		wantRevoked   int
		wantGraceEnds int
	}{
		{"current secret", func(c, _ string) string { return c }, time.Hour, true, 1, 0},
		{"previous secret in its grace period", func(_, p string) string { return p }, time.Hour, true, 0, 1},
		{"previous secret past its grace period", func(_, p string) string { return p }, 0, false, 0, 0},
		{"garbage", func(string, string) string { return "garbage" }, time.Hour, false, 0, 0},
		{"bad checksum", func(c, _ string) string { return c[:len(c)-1] + "x" }, time.Hour, false, 0, 0},
		{"unknown", func(string, string) string { return "tss_7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez70Gn9Oq" }, time.Hour, false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			prev, previous := w.addToken(t, siteOwner, now.Add(time.Hour))
			tok, current := w.addToken(t, siteOwner, now.Add(time.Hour))
			// Make prev's secret the previous one of tok, as a regenerate with grace leaves it.
			delete(w.tokens, prev.ID)
			tok.PrevSecretHash = prev.SecretHash
			w.tokens[tok.ID] = tok
			sec := w.secrets[prev.SecretHash]
			sec.TokenID, sec.GraceUntil = tok.ID, new(time.Time)
			*sec.GraceUntil = now.Add(tc.graceUntil)
			w.secrets[prev.SecretHash] = sec

			got, err := service(w.store()).RevokeBySecret(context.Background(), tc.secret(current, previous))
			if err != nil || got != tc.want {
				t.Fatalf("RevokeBySecret = %v, %v; want %v", got, err, tc.want)
			}
			if len(w.revoked) != tc.wantRevoked || len(w.graceEnded) != tc.wantGraceEnds {
				t.Errorf("revoked %d, grace ended %d; want %d, %d", len(w.revoked), len(w.graceEnded), tc.wantRevoked, tc.wantGraceEnds)
			}
			if !tc.want {
				if len(w.events) != 0 {
					t.Errorf("events %+v; want none", w.events)
				}
				return
			}
			ev := w.events[0]
			if ev.SubType != audit.SubTokenRevoked || ev.Actor.Type != tokensmith.ActorToken || ev.Actor.ID != tok.ID {
				t.Errorf("event %+v; want token_revoked by token %s", ev, tok.ID)
			}
			if secret, _ := ev.Payload["secret"].(string); (secret == "previous") != (tc.wantGraceEnds == 1) {
				t.Errorf("event payload secret = %q; want \"previous\" only for a previous secret", secret)
			}
		})
	}
}

// TestRevokeBySecretRetries: a revoke that lost a race reads the secret
// and the token again.
func TestRevokeBySecretRetries(t *testing.T) {
	w := newWorld()
	_, secret := w.addToken(t, siteOwner, now.Add(time.Hour))
	st := w.store()
	revoke := st.RevokeTokenFn
	calls := 0
	st.RevokeTokenFn = func(ctx context.Context, tok tokensmith.Token, ev tokensmith.Event) error {
		if calls++; calls == 1 {
			return store.ErrConflict
		}
		return revoke(ctx, tok, ev)
	}
	got, err := service(st).RevokeBySecret(context.Background(), secret)
	if err != nil || !got || calls != 2 {
		t.Errorf("RevokeBySecret = %v, %v after %d attempts; want true after 2", got, err, calls)
	}
	st.SecretFn = func(context.Context, string) (tokensmith.Secret, error) {
		return tokensmith.Secret{}, errors.New("throttled")
	}
	if got, err := service(st).RevokeBySecret(context.Background(), secret); err == nil || got {
		t.Errorf("RevokeBySecret with the table failing = %v, %v; want an error", got, err)
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("é", apitokens.MaxNameLen)
	tests := []struct {
		name   string
		kind   token.Kind
		in     tokensmith.TokenInput
		fields []string
	}{
		{"valid", token.KindSite, readSites, nil},
		{"longest name", token.KindSite, tokensmith.TokenInput{Name: long, Permissions: readSites.Permissions}, nil},
		{"padded name", token.KindSite, tokensmith.TokenInput{Name: "  x  ", Permissions: readSites.Permissions}, nil},
		{"name too long", token.KindSite, tokensmith.TokenInput{Name: long + "e", Permissions: readSites.Permissions}, []string{"name"}},
		{"empty name", token.KindSite, tokensmith.TokenInput{Name: " \t", Permissions: readSites.Permissions}, []string{"name"}},
		{"control character", token.KindSite, tokensmith.TokenInput{Name: "a\x07b", Permissions: readSites.Permissions}, []string{"name"}},
		{"invalid UTF-8", token.KindSite, tokensmith.TokenInput{Name: "a\xffb", Permissions: readSites.Permissions}, []string{"name"}},
		{"replacement character", token.KindSite, tokensmith.TokenInput{Name: "a\uFFFDb", Permissions: readSites.Permissions}, []string{"name"}},
		{"no permissions", token.KindSite, tokensmith.TokenInput{Name: "x"}, []string{"permissions"}},
		{"workspace scope on a site token", token.KindSite, tokensmith.TokenInput{Name: "x", Permissions: readActivity.Permissions}, []string{"permissions.workspace_activity"}},
		{"site scope on a workspace token", token.KindWorkspace, tokensmith.TokenInput{Name: "x", Permissions: readSites.Permissions}, []string{"permissions.sites"}},
		{"nothing", token.KindSite, tokensmith.TokenInput{}, []string{"name", "permissions"}},
		{"allowlist", token.KindSite, tokensmith.TokenInput{Name: "x", Permissions: readSites.Permissions, AllowedIPs: []string{"203.0.113.0/24", "2001:db8::/32"}}, nil},
		{"allowlist with a bad range", token.KindWorkspace, tokensmith.TokenInput{Name: "x", Permissions: readActivity.Permissions, AllowedIPs: []string{"10.0.0.0/8", "10.0.0.1", "::ffff:10.0.0.0/104"}}, []string{"allowedIps[1]", "allowedIps[2]"}},
		{"allowlist too long", token.KindSite, tokensmith.TokenInput{Name: "x", Permissions: readSites.Permissions, AllowedIPs: slices.Repeat([]string{"10.0.0.0/8"}, 21)}, []string{"allowedIps"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range apitokens.Validate(tc.kind, tc.in) {
				got = append(got, d.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("Validate(%q) fields = %v; want %v", tc.in.Name, got, tc.fields)
			}
		})
	}
}

// TestEveryCallSignsIn: each call signs the caller in first, even with an
// id of the wrong shape, and a sign-in that fails fails the call and writes
// nothing.
func TestEveryCallSignsIn(t *testing.T) {
	w := newWorld()
	var calls int
	fault := errors.New("table unreachable")
	svc := service(w.store())
	svc.People = &mock.People{SignInFn: func(context.Context, tokensmith.Caller) (tokensmith.Person, error) {
		calls++
		return tokensmith.Person{}, fault
	}}
	ctx := context.Background()
	if _, err := svc.List(ctx, tokensmith.Caller{Email: admin}, tokensmith.Owner{Kind: token.KindSite, ID: "../x"}); !errors.Is(err, fault) {
		t.Errorf("List with a malformed id = %v; want the sign-in's error", err)
	}
	if _, _, err := svc.Create(ctx, tokensmith.Caller{Email: admin}, siteOwner, readSites, ""); !errors.Is(err, fault) {
		t.Errorf("Create = %v; want the sign-in's error", err)
	}
	if calls != 2 || len(w.created) != 0 || len(w.events) != 0 {
		t.Errorf("sign-ins %d, created %d, events %d; want 2, 0, 0", calls, len(w.created), len(w.events))
	}
}
