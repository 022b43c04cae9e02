// Package apitokens is API token management for people: who may mint, list,
// regenerate and revoke site and workspace tokens, the limit of 5 active
// tokens per owner, and idempotent creation. It knows nothing of HTTP.
package apitokens

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/allowlist"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Limits of API.md section 5.
const (
	MaxActiveTokens = 5
	MaxNameLen      = 100
	MaxGrace        = 7 * 24 * time.Hour
	IdempotencyTTL  = 24 * time.Hour
)

// Limits of a token's lifetime (API.md section 14), in days.
const (
	MinLifetimeDays = 1
	MaxLifetimeDays = 366
)

// validLifetime checks expiresInDays: absent, or from MinLifetimeDays to
// MaxLifetimeDays.
func validLifetime(days *int64) []tokensmith.ErrorDetail {
	if days != nil && (*days < MinLifetimeDays || *days > MaxLifetimeDays) {
		return []tokensmith.ErrorDetail{{Field: "expiresInDays", Message: fmt.Sprintf("must be from %d to %d", MinLifetimeDays, MaxLifetimeDays)}}
	}
	return nil
}

// withinPolicy checks a new secret's lifetime, days (nil for none),
// against the workspace's policy: while one is set, a lifetime is required
// and at most the policy's. The store checks the policy again as the secret
// is written.
func withinPolicy(ws tokensmith.Workspace, days *int64) error {
	max := ws.MaxTokenLifetimeDays
	switch {
	case max <= 0:
		return nil
	case days == nil:
		return tokensmith.Invalid(tokensmith.ErrorDetail{Field: "expiresInDays",
			Message: fmt.Sprintf("is required: this workspace's maximum token lifetime is %d days", max)})
	case *days > max:
		return tokensmith.Invalid(tokensmith.ErrorDetail{Field: "expiresInDays",
			Message: fmt.Sprintf("must be at most %d: this workspace's maximum token lifetime is %d days", max, max)})
	}
	return nil
}

// fixedEnd is the end of a secret issued at now with a lifetime of days
// (0 for none): nil for none.
func fixedEnd(now time.Time, days int64) *time.Time {
	if days <= 0 {
		return nil
	}
	at := now.Add(time.Duration(days) * 24 * time.Hour).UTC()
	return &at
}

// Store is the part of the store that token management calls.
type Store interface {
	Workspace(ctx context.Context, idOrSlug string) (tokensmith.Workspace, error)
	Site(ctx context.Context, id string) (tokensmith.Site, error)
	Tokens(ctx context.Context, owner tokensmith.Owner) ([]tokensmith.Token, error)
	Token(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error)
	TokenOf(ctx context.Context, sec tokensmith.Secret) (tokensmith.Token, error)
	Secret(ctx context.Context, hash string) (tokensmith.Secret, error)
	Idempotency(ctx context.Context, keyHash string) (store.Idempotency, error)
	CreateToken(ctx context.Context, version int64, plan tokensmith.Plan, rateLimit int64, t tokensmith.Token, ev tokensmith.Event, idem *store.Idempotency, now time.Time) error
	RevokeToken(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error
	RegenerateToken(ctx context.Context, t tokensmith.Token, site tokensmith.Site, newHash, hint string, expiresAt, graceUntil *time.Time, ev tokensmith.Event) (tokensmith.Token, error)
	EndGrace(ctx context.Context, t tokensmith.Token, ev tokensmith.Event) error
	RevokeLeaked(ctx context.Context, t tokensmith.Token, hash string, ev tokensmith.Event, until time.Time) error
	Leaked(ctx context.Context, hash string, now time.Time) (bool, error)
	Workloads(ctx context.Context, siteID string) ([]tokensmith.Workload, error)
	Workload(ctx context.Context, siteID, id string) (tokensmith.Workload, error)
	WorkloadTokens(ctx context.Context, w tokensmith.Workload, now time.Time) ([]tokensmith.Token, error)
	CreateWorkload(ctx context.Context, w tokensmith.Workload, ev tokensmith.Event) error
	DeleteWorkload(ctx context.Context, w tokensmith.Workload, live []tokensmith.Token, ev tokensmith.Event) error
	Exchange(ctx context.Context, w, next tokensmith.Workload, t tokensmith.Token, rateLimit int64, use store.Use, ev tokensmith.Event) error
}

// People signs a caller in: binds the memberships waiting for their email
// and returns what they hold (people.Service).
type People interface {
	SignIn(ctx context.Context, c tokensmith.Caller) (tokensmith.Person, error)
}

var _ tokensmith.TokenService = (*Service)(nil)

// Service manages tokens.
type Service struct {
	Store  Store
	People People
	Now    func() time.Time
	Rand   io.Reader
	// LocalIssuers are the issuers `make run` serves on this machine, which
	// a trusted workload may name although they are not public https URLs.
	LocalIssuers []string
	// Verifier checks the workload tokens of exchanges; without one, every
	// exchange fails.
	Verifier WorkloadVerifier
	// trust caches the workloads of the sites exchanged for (Exchange).
	trust trustCache
	// IdempotencySecret keys idempotency records (see serversecret): it is
	// not in the table, so the table alone cannot find or open a record
	// from a guessed Idempotency-Key. Without it, a create with a key fails
	// with ErrNoIdempotencySecret; while it cannot be read, with
	// service_unavailable.
	IdempotencySecret Secret
}

// Secret gives the idempotency secret: serversecret.Lazy in Lambda, which
// reads it at the first create with an Idempotency-Key.
type Secret interface {
	Secret(ctx context.Context) ([]byte, error)
}

// StaticSecret is a Secret known from the start.
type StaticSecret []byte

// Secret returns s.
func (s StaticSecret) Secret(context.Context) ([]byte, error) { return s, nil }

// ErrNoIdempotencySecret means a create with an Idempotency-Key reached a
// Service without IdempotencySecret.
var ErrNoIdempotencySecret = errors.New("apitokens: no idempotency secret")

// New returns a Service with the real clock and crypto/rand, signing people
// in with pp and keying idempotency records with idempotencySecret.
func New(st Store, pp People, idempotencySecret []byte) *Service {
	return &Service{Store: st, People: pp, Now: time.Now, Rand: rand.Reader, IdempotencySecret: StaticSecret(idempotencySecret)}
}

// access is what the caller may act on, once authorised.
type access struct {
	actor     tokensmith.User
	workspace tokensmith.Workspace
	site      *tokensmith.Site
	version   int64 // the owner's tokenVersion as read
}

// authorize checks that p may manage the tokens of owner: workspace admins
// for site and workspace tokens, site administrators for their site's.
// Someone who belongs to the workspace (a member, or an administrator of
// one of its sites) but lacks the role gets forbidden; anyone else gets not
// found, so that ids of other tenants cannot be probed. Signing p in binds
// the memberships waiting for their email; roles are read strongly
// consistent.
func (s *Service) authorize(ctx context.Context, p tokensmith.Caller, owner tokensmith.Owner) (access, error) {
	// Any management call signs the caller in, whatever it asks for.
	who, err := s.People.SignIn(ctx, p)
	if err != nil {
		return access{}, err
	}
	if !token.ValidID(owner.ID) {
		return access{}, tokensmith.NotFound()
	}
	a := access{actor: who.User}
	wsID := owner.ID
	if owner.Kind == token.KindSite {
		site, err := s.Store.Site(ctx, owner.ID)
		if err != nil {
			return access{}, err
		}
		a.site, a.version, wsID = &site, site.TokenVersion, site.WorkspaceID
	}
	if a.workspace, err = s.Store.Workspace(ctx, wsID); err != nil {
		return access{}, err
	}
	if owner.Kind == token.KindWorkspace {
		a.version = a.workspace.TokenVersion
	}
	wsRole := who.Role(tokensmith.Place{WorkspaceID: wsID})
	var siteRole tokensmith.Role
	if a.site != nil {
		siteRole = who.Role(tokensmith.Place{WorkspaceID: wsID, SiteID: a.site.ID})
	}
	switch {
	case wsRole == tokensmith.RoleAdmin || siteRole == tokensmith.RoleAdmin:
	case who.Belongs(wsID):
		return access{}, tokensmith.Errorf(tokensmith.EFORBIDDEN, "You do not have permission to manage the API tokens of this %s", owner.Kind)
	default:
		return access{}, tokensmith.NotFound()
	}
	return a, nil
}

// mayCreate refuses new workspace tokens on a workspace that is not on the
// enterprise plan. The tokens it already has stay listed, readable and
// revocable; the authorizer refuses them on the data routes.
func mayCreate(owner tokensmith.Owner, a access) error {
	if owner.Kind == token.KindWorkspace && a.workspace.Plan != tokensmith.PlanEnterprise {
		return tokensmith.Errorf(tokensmith.ENOTENTERPRISE, "Workspace tokens are only available on enterprise workspaces")
	}
	return nil
}

// Validate checks a create's input for tokens of kind k.
func Validate(k token.Kind, in tokensmith.TokenInput) []tokensmith.ErrorDetail {
	var details []tokensmith.ErrorDetail
	name := strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(in.Name) || strings.ContainsRune(in.Name, utf8.RuneError):
		details = append(details, tokensmith.ErrorDetail{Field: "name", Message: "must be valid UTF-8"})
	case n == 0:
		details = append(details, tokensmith.ErrorDetail{Field: "name", Message: "is required"})
	case n > MaxNameLen:
		details = append(details, tokensmith.ErrorDetail{Field: "name", Message: fmt.Sprintf("must be at most %d characters", MaxNameLen)})
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		details = append(details, tokensmith.ErrorDetail{Field: "name", Message: "must not contain control characters"})
	}
	if len(in.AllowedIPs) > allowlist.MaxRanges {
		details = append(details, tokensmith.ErrorDetail{Field: "allowedIps", Message: fmt.Sprintf("must hold at most %d CIDR ranges", allowlist.MaxRanges)})
	} else {
		for i, r := range in.AllowedIPs {
			if _, err := allowlist.Parse(r); err != nil {
				details = append(details, tokensmith.ErrorDetail{Field: fmt.Sprintf("allowedIps[%d]", i), Message: allowedIPMessage(err)})
			}
		}
	}
	details = append(details, validLifetime(in.ExpiresInDays)...)
	if in.Permissions == nil {
		details = append(details, tokensmith.ErrorDetail{Field: "permissions", Message: "is required"})
	} else {
		for _, e := range scope.Validate(k, in.Permissions) {
			details = append(details, tokensmith.ErrorDetail{Field: e.Field, Message: e.Message})
		}
	}
	return details
}

// allowedIPMessage says what is wrong with a range allowlist.Parse refused.
func allowedIPMessage(err error) string {
	switch {
	case errors.Is(err, allowlist.ErrHostBits):
		return "must be a network address: no bits set after the prefix length (203.0.113.0/24, not 203.0.113.7/24)"
	case errors.Is(err, allowlist.ErrMapped):
		return "must write an IPv4 range as IPv4 (203.0.113.0/24), not as IPv4-mapped IPv6"
	}
	return "must be a CIDR range, such as 203.0.113.0/24 or 2001:db8::/32"
}

// allowedIPs returns valid ranges in canonical form, each once, in the
// order given; nil for none.
func allowedIPs(ranges []string) []string {
	var out []string
	for _, r := range ranges {
		c, err := allowlist.Parse(r)
		if err == nil && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// List returns the active tokens of owner, newest first.
func (s *Service) List(ctx context.Context, p tokensmith.Caller, owner tokensmith.Owner) ([]tokensmith.Token, error) {
	a, err := s.authorize(ctx, p, owner)
	if err != nil {
		return nil, err
	}
	all, err := s.Store.Tokens(ctx, owner)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var out []tokensmith.Token
	for _, t := range all {
		if t.Active(now) {
			t.OverPolicy = t.ExceedsPolicy(now, a.workspace.MaxTokenLifetimeDays)
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedOn.Equal(out[j].CreatedOn) {
			return out[i].CreatedOn.After(out[j].CreatedOn)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Get returns one active token of owner.
func (s *Service) Get(ctx context.Context, p tokensmith.Caller, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
	if _, err := s.authorize(ctx, p, owner); err != nil {
		return tokensmith.Token{}, err
	}
	return s.activeToken(ctx, owner, id)
}

func (s *Service) activeToken(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
	if !token.ValidID(id) {
		return tokensmith.Token{}, tokensmith.NotFound()
	}
	t, err := s.Store.Token(ctx, owner, id)
	if err != nil {
		return tokensmith.Token{}, err
	}
	if !t.Active(s.Now()) {
		return tokensmith.Token{}, tokensmith.NotFound()
	}
	return t, nil
}

// Revoke deletes a token at once and records who did it.
func (s *Service) Revoke(ctx context.Context, p tokensmith.Caller, owner tokensmith.Owner, id string) error {
	a, err := s.authorize(ctx, p, owner)
	if err != nil {
		return err
	}
	err = store.Retry(ctx, func() error {
		t, err := s.activeToken(ctx, owner, id)
		if err != nil {
			return err
		}
		o, err := s.origin(a, a.actor.Actor())
		if err != nil {
			return err
		}
		return s.Store.RevokeToken(ctx, t, audit.TokenRevoked(o, t, a.site))
	})
	if err == nil {
		metrics.FromContext(ctx).Add(metrics.TokensRevoked, 1, metrics.ActorUser)
	}
	return err
}

// Regenerate gives a site token a new secret. The old one stops working at
// once, or after in.GracePeriodSeconds, which is checked before it becomes a
// duration, and never after its own fixed end. The new secret ends
// in.ExpiresInDays from now, or, without it, after the lifetime the token
// was created with (none if none was chosen).
func (s *Service) Regenerate(ctx context.Context, p tokensmith.Caller, owner tokensmith.Owner, id string, in tokensmith.RegenerateInput) (tokensmith.Minted, error) {
	var details []tokensmith.ErrorDetail
	if in.GracePeriodSeconds < 0 || in.GracePeriodSeconds > int64(MaxGrace/time.Second) {
		details = append(details, tokensmith.ErrorDetail{Field: "gracePeriodSeconds", Message: fmt.Sprintf("must be from 0 to %d", int64(MaxGrace/time.Second))})
	}
	details = append(details, validLifetime(in.ExpiresInDays)...)
	if len(details) > 0 {
		return tokensmith.Minted{}, tokensmith.Invalid(details...)
	}
	grace := time.Duration(in.GracePeriodSeconds) * time.Second
	if owner.Kind != token.KindSite {
		// Workspace tokens cannot be regenerated: no route leads here.
		return tokensmith.Minted{}, tokensmith.NotFound()
	}
	a, err := s.authorize(ctx, p, owner)
	if err != nil {
		return tokensmith.Minted{}, err
	}
	var m tokensmith.Minted
	err = store.Retry(ctx, func() error {
		t, err := s.activeToken(ctx, owner, id)
		if err != nil {
			return err
		}
		// The new secret carries the site's rate limit as of now; a plan
		// change meanwhile fails the regenerate, which reads it again.
		site, err := s.Store.Site(ctx, owner.ID)
		if err != nil {
			return err
		}
		// So does a change of the workspace's lifetime policy.
		if a.workspace, err = s.Store.Workspace(ctx, a.workspace.ID); err != nil {
			return err
		}
		if err := withinPolicy(a.workspace, in.ExpiresInDays); err != nil {
			return err
		}
		secret, err := token.Generate(t.Kind, s.Rand)
		if err != nil {
			return err
		}
		now := s.Now().UTC()
		days := t.LifetimeDays
		if in.ExpiresInDays != nil {
			days = *in.ExpiresInDays
		}
		var until *time.Time
		if grace > 0 {
			u := now.Add(grace)
			if t.ExpiresAt != nil && u.After(*t.ExpiresAt) {
				// The old secret ends at its own fixed end at the latest.
				u = *t.ExpiresAt
			}
			until = &u
		}
		t.DisplayHint = token.DisplayHint(secret)
		o, err := s.origin(a, a.actor.Actor())
		if err != nil {
			return err
		}
		t, err = s.Store.RegenerateToken(ctx, t, site, token.Hash(secret), t.DisplayHint, fixedEnd(now, days), until, audit.TokenRegenerated(o, t, a.site))
		m = tokensmith.Minted{Secret: secret, Token: t}
		return err
	})
	if err == nil {
		metrics.FromContext(ctx).Add(metrics.TokensRegenerated, 1, metrics.ActorUser)
	}
	return m, err
}

// origin is the origin of a change made now by actor in a's workspace.
func (s *Service) origin(a access, actor tokensmith.Actor) (audit.Origin, error) {
	return audit.NewOrigin(s.Now(), s.Rand, actor, a.workspace)
}

// Introspect returns the active token a verified API token principal names.
func (s *Service) Introspect(ctx context.Context, owner tokensmith.Owner, id string) (tokensmith.Token, error) {
	return s.activeToken(ctx, owner, id)
}

// RevokeBySecret revokes the token whose secret is presented, as whoever
// holds a leaked token may: it reports whether a live secret was revoked.
// The current secret revokes the token; a previous secret still in the grace
// period of a regenerate ends only that grace period, and the token keeps
// working with its current secret. Garbage, unknown and expired secrets
// revoke nothing.
func (s *Service) RevokeBySecret(ctx context.Context, secret string) (bool, error) {
	if _, err := token.Parse(secret); err != nil {
		return false, nil
	}
	return s.revokeSecret(ctx, secret, metrics.ActorAPIToken, func(t tokensmith.Token) tokensmith.Actor {
		return tokensmith.Actor{Type: tokensmith.ActorToken, ID: t.ID}
	}, func(o audit.Origin, t tokensmith.Token, site *tokensmith.Site, hash string) error {
		if t.SecretHash == hash {
			return s.Store.RevokeToken(ctx, t, audit.TokenRevoked(o, t, site))
		}
		return s.Store.EndGrace(ctx, t, audit.PreviousSecretRevoked(o, t, site))
	})
}

// LeakMemory is how long a secret revoked on a leak report is remembered
// as such, so that the report delivered again is answered alike: GitHub
// redelivers a report whose answer it did not get for some days.
const LeakMemory = 30 * 24 * time.Hour

// RevokeLeaked revokes a secret that partner (tokensmith.PartnerGitHub)
// reports found at url, as RevokeBySecret does, with the partner as the
// actor and url in the event. It reports whether the secret is a true
// positive: live and revoked now, or revoked on an earlier delivery of a
// report of it, which writes nothing again. Anything else (garbage, an
// unknown, expired or otherwise revoked secret) is false.
func (s *Service) RevokeLeaked(ctx context.Context, partner, secret, url string) (bool, error) {
	if _, err := token.Parse(secret); err != nil {
		return false, nil
	}
	revoked, err := s.revokeSecret(ctx, secret, metrics.ActorSecretScanning, func(tokensmith.Token) tokensmith.Actor {
		return tokensmith.Actor{Type: tokensmith.ActorPartner, ID: partner}
	}, func(o audit.Origin, t tokensmith.Token, site *tokensmith.Site, hash string) error {
		ev := audit.LeakRevoked(o, t, site, url)
		if t.SecretHash != hash {
			ev.Payload["secret"] = "previous"
		}
		return s.Store.RevokeLeaked(ctx, t, hash, ev, o.Time.Add(LeakMemory))
	})
	if err != nil || revoked {
		return revoked, err
	}
	return s.Store.Leaked(ctx, token.Hash(secret), s.Now())
}

// revokeSecret revokes the live secret presented, by revoke, in an event
// whose actor is actor's for the secret's token, counted in the metrics
// as revoked by actorType; it reports whether it did. secret has the token
// format (its callers parse it); unknown and expired secrets revoke
// nothing.
func (s *Service) revokeSecret(ctx context.Context, secret, actorType string, actor func(tokensmith.Token) tokensmith.Actor,
	revoke func(o audit.Origin, t tokensmith.Token, site *tokensmith.Site, hash string) error) (bool, error) {
	hash := token.Hash(secret)
	revoked := false
	err := store.Retry(ctx, func() error {
		sec, err := s.Store.Secret(ctx, hash)
		if err != nil {
			return err
		}
		if !sec.Active(s.Now()) {
			return nil
		}
		t, err := s.Store.TokenOf(ctx, sec)
		if err != nil {
			return err
		}
		if !t.Active(s.Now()) {
			return nil
		}
		if t.SecretHash != hash && t.PrevSecretHash != hash {
			return nil
		}
		ws, err := s.Store.Workspace(ctx, t.WorkspaceID)
		if err != nil {
			return err
		}
		a := access{workspace: ws}
		if t.SiteID != "" {
			site, err := s.Store.Site(ctx, t.SiteID)
			if err != nil {
				return err
			}
			a.site = &site
		}
		o, err := s.origin(a, actor(t))
		if err != nil {
			return err
		}
		if err := revoke(o, t, a.site, hash); err != nil {
			return err
		}
		revoked = true
		return nil
	})
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
		return false, nil
	}
	if revoked && err == nil {
		metrics.FromContext(ctx).Add(metrics.TokensRevoked, 1, actorType)
	}
	return revoked, err
}
