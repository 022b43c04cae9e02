package apitokens

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/workloadtoken"
)

// msgUntrusted is the one message of every refusal of a subject token, so
// that none of them tells an attacker which check failed.
const msgUntrusted = "The subject token is not one a trusted workload of this site may exchange"

func untrusted() *tokensmith.Error { return tokensmith.Errorf(tokensmith.EINVALIDGRANT, msgUntrusted) }

// WorkloadVerifier checks the signature and times of a workload token whose
// issuer the caller trusts (workloadtoken.Verifier).
type WorkloadVerifier interface {
	Verify(ctx context.Context, issuer, raw string) (workloadtoken.Claims, error)
}

// trustTTL bounds how long an instance answers exchanges from the
// workloads of a site as it last read them. A stale read never mints a
// token its workload no longer allows: the exchange's transaction is
// conditioned on the workload's version as read, and a conflict reads
// again. A workload created since is found by the read that a token no
// cached workload trusts makes, at most once per trustReread.
const (
	trustTTL     = 30 * time.Second
	trustReread  = 5 * time.Second
	maxTrustSize = 1024
)

// trust is what an exchange needs of a site: the site (its rate limit),
// its workspace (the audit event's) and the workloads it trusts.
type trust struct {
	site      tokensmith.Site
	workspace tokensmith.Workspace
	workloads []tokensmith.Workload
	at        time.Time
}

// trustCache holds the trust of the sites this instance exchanged for.
type trustCache struct {
	mu    sync.Mutex
	sites map[string]*trust
}

func (c *trustCache) get(siteID string, now time.Time) (*trust, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.sites[siteID]
	if !ok || now.Sub(t.at) >= trustTTL {
		return nil, false
	}
	return t, true
}

func (c *trustCache) put(siteID string, t *trust) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sites == nil {
		c.sites = map[string]*trust{}
	}
	if _, ok := c.sites[siteID]; !ok && len(c.sites) >= maxTrustSize {
		for k := range c.sites { // any one: a miss costs one read
			delete(c.sites, k)
			break
		}
	}
	c.sites[siteID] = t
}

// exchanged notes, in the cached trust of w's site, the exchange that
// moved w to its next version.
func (c *trustCache) exchanged(w tokensmith.Workload) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.sites[w.SiteID]; ok {
		for i := range t.workloads {
			if t.workloads[i].ID == w.ID && t.workloads[i].Version == w.Version-1 {
				t.workloads[i] = w
			}
		}
	}
}

// readTrust reads the trust of site siteID; a site that does not exist is
// an invalid target.
func (s *Service) readTrust(ctx context.Context, siteID string) (*trust, error) {
	site, err := s.Store.Site(ctx, siteID)
	if tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND {
		return nil, tokensmith.Errorf(tokensmith.EINVALIDTARGET, "The resource is not a site")
	}
	if err != nil {
		return nil, err
	}
	ws, err := s.Store.Workspace(ctx, site.WorkspaceID)
	if err != nil {
		return nil, err
	}
	wls, err := s.Store.Workloads(ctx, siteID)
	if err != nil {
		return nil, err
	}
	t := &trust{site: site, workspace: ws, workloads: wls, at: s.Now()}
	s.trust.put(siteID, t)
	return t, nil
}

// Exchange trades a workload's OIDC token for a short-lived token of the
// site in.Resource (API.md section 15, RFC 8693). The token's issuer must
// be one a workload of that site trusts before anything is fetched; then
// its signature and times (WorkloadVerifier), audience, subject and claims
// must match that workload; its jti (or hash) must be new; the workload
// must have exchanged fewer than tokensmith.ExchangesPerMinute in this
// window. The token minted holds the workload's scopes, or in.Scope when
// it names a subset of them.
func (s *Service) Exchange(ctx context.Context, in tokensmith.ExchangeInput) (tokensmith.Exchanged, error) {
	if s.Verifier == nil {
		return tokensmith.Exchanged{}, errors.New("apitokens: no workload token verifier")
	}
	if !token.ValidID(in.Resource) {
		return tokensmith.Exchanged{}, tokensmith.Errorf(tokensmith.EINVALIDTARGET, "The resource is not a site")
	}
	iss, err := workloadtoken.Issuer(in.SubjectToken)
	if err != nil {
		return tokensmith.Exchanged{}, untrusted()
	}
	var out tokensmith.Exchanged
	var claims *workloadtoken.Claims
	fresh := false
	err = store.Retry(ctx, func() error {
		t, cached := s.trust.get(in.Resource, s.Now())
		if !cached || fresh {
			var err error
			if t, err = s.readTrust(ctx, in.Resource); err != nil {
				return err
			}
		}
		fresh = true // a retry follows a conflict: read again
		cands := trustedBy(t.workloads, iss)
		if len(cands) == 0 && cached && s.Now().Sub(t.at) >= trustReread {
			// A workload created since the read may trust it.
			var err error
			if t, err = s.readTrust(ctx, in.Resource); err != nil {
				return err
			}
			cands = trustedBy(t.workloads, iss)
		}
		if len(cands) == 0 {
			return untrusted()
		}
		if claims == nil {
			c, err := s.Verifier.Verify(ctx, iss, in.SubjectToken)
			switch {
			case errors.Is(err, workloadtoken.ErrIssuerUnavailable):
				return tokensmith.Errorf(tokensmith.EUNAVAILABLE, "The workload's issuer could not be reached; try again later")
			case err != nil:
				return untrusted()
			}
			claims = &c
		}
		w, ok := match(cands, *claims, in.Scope)
		if !ok {
			return untrusted()
		}
		granted, err := narrow(w, in.Scope)
		if err != nil {
			return err
		}
		now := s.Now().UTC()
		window := now.Truncate(time.Minute)
		count := int64(1)
		if w.Window == window.Unix() {
			if w.Exchanges >= tokensmith.ExchangesPerMinute {
				return &tokensmith.Error{Code: tokensmith.ETOOMANYREQUESTS, Message: "Too Many Requests", RetryAfter: window.Add(time.Minute).Sub(now)}
			}
			count = w.Exchanges + 1
		}
		secret, err := token.Generate(token.KindSite, s.Rand)
		if err != nil {
			return err
		}
		id, err := token.NewID(now, s.Rand)
		if err != nil {
			return err
		}
		tok := tokensmith.Token{
			ID: id, Kind: token.KindSite, Name: w.Name, SiteID: w.SiteID, WorkspaceID: w.WorkspaceID,
			Permissions: granted, Scope: scope.Join(scope.Expand(granted)),
			DisplayHint: token.DisplayHint(secret), SecretHash: token.Hash(secret),
			CreatedOn: now, CreatedBy: workloadActor(w), ExpiresOn: now.Add(w.TokenLifetime), WorkloadID: w.ID,
		}
		// Its end is fixed (API.md section 14's expiresAt): no use moves it.
		end := tok.ExpiresOn
		tok.ExpiresAt = &end
		o, err := audit.NewOrigin(now, s.Rand, workloadActor(w), t.workspace)
		if err != nil {
			return err
		}
		next := w
		next.Version, next.Window, next.Exchanges = w.Version+1, window.Unix(), count
		use := store.Use{Key: useKey(*claims, in.SubjectToken), Until: useUntil(*claims)}
		err = s.Store.Exchange(ctx, w, next, tok, t.site.TokenRateLimit(), use, audit.TokenExchanged(o, tok, t.site, w, claims.Strings))
		if errors.Is(err, store.ErrUsed) {
			return untrusted()
		}
		if err != nil {
			return err
		}
		s.trust.exchanged(next)
		out = tokensmith.Exchanged{Secret: secret, Token: tok}
		return nil
	})
	if err == nil {
		metrics.FromContext(ctx).Add(metrics.TokensMinted, 1, metrics.ActorWorkload)
	}
	return out, err
}

// workloadActor is w as the actor of its exchanges.
func workloadActor(w tokensmith.Workload) tokensmith.Actor {
	return tokensmith.Actor{Type: tokensmith.ActorWorkload, ID: w.ID}
}

// trustedBy returns the workloads of ws whose issuer is iss, oldest first.
func trustedBy(ws []tokensmith.Workload, iss string) []tokensmith.Workload {
	var out []tokensmith.Workload
	for _, w := range ws {
		if w.Issuer == iss {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b tokensmith.Workload) int {
		if c := a.CreatedOn.Compare(b.CreatedOn); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// match returns the workload of cands (all of the token's issuer) whose
// audience, subject and claims c holds: of several, the oldest whose
// scopes hold every scope asked for, else the oldest.
func match(cands []tokensmith.Workload, c workloadtoken.Claims, asked []string) (tokensmith.Workload, bool) {
	var found []tokensmith.Workload
	for _, w := range cands {
		if slices.Contains(c.Audience, w.Audience) && tokensmith.MatchSubject(w.Subject, c.Subject) && claimsHold(w.Claims, c.Strings) {
			found = append(found, w)
		}
	}
	if len(found) == 0 {
		return tokensmith.Workload{}, false
	}
	for _, w := range found {
		if _, err := narrow(w, asked); err == nil {
			return w, true
		}
	}
	return found[0], true
}

func claimsHold(want, got map[string]string) bool {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

// narrow returns the permissions of a token of w that holds the scopes
// asked (nil: every scope of w): the least permissions granting them.
// Asking a scope w does not hold is invalid_scope.
func narrow(w tokensmith.Workload, asked []string) (scope.Permissions, error) {
	if asked == nil {
		return w.Permissions, nil
	}
	have := scope.Split(w.Scope)
	perms := scope.Permissions{}
	for _, sc := range asked {
		api, level, ok := cutScope(sc)
		if !ok || !slices.Contains(have, sc) {
			return nil, tokensmith.Errorf(tokensmith.EINVALIDSCOPE, "The scope asked for is not within the trusted workload's")
		}
		if level == "write" {
			perms[api] = scope.ReadWrite
		} else if perms[api] != scope.ReadWrite {
			perms[api] = scope.Read
		}
	}
	if len(perms) == 0 {
		return nil, tokensmith.Errorf(tokensmith.EINVALIDSCOPE, "The scope asked for is not within the trusted workload's")
	}
	return perms, nil
}

func cutScope(sc string) (api, level string, ok bool) {
	for i := len(sc) - 1; i >= 0; i-- {
		if sc[i] == ':' {
			return sc[:i], sc[i+1:], sc[i+1:] == "read" || sc[i+1:] == "write"
		}
	}
	return "", "", false
}

// useKey is what a workload token is accepted once by: its issuer and jti,
// or, without a jti, its payload (the claims signed, written canonically:
// workloadtoken.Issuer refused any other writing). Not the whole text: an
// ECDSA signature has a second valid form, so the same claims can come
// with another signature.
func useKey(c workloadtoken.Claims, raw string) string {
	id := "jti\x00" + c.ID
	if c.ID == "" {
		_, rest, _ := strings.Cut(raw, ".")
		payload, _, _ := strings.Cut(rest, ".")
		id = "payload\x00" + payload
	}
	sum := sha256.Sum256([]byte(c.Issuer + "\x00" + id))
	return hex.EncodeToString(sum[:])
}

// useUntil is how long a workload token's use is remembered: until no
// exchange could accept it again (its exp, or its iat plus the most age
// accepted, whichever is first, plus the skew allowed).
func useUntil(c workloadtoken.Claims) time.Time {
	end := c.Expiry
	if last := c.IssuedAt.Add(tokensmith.MaxWorkloadTokenAge); last.Before(end) {
		end = last
	}
	return end.Add(tokensmith.WorkloadTokenSkew)
}
