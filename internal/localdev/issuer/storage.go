package issuer

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the in-memory op.Storage of the local issuer: one public client,
// the sign-in requests in flight and the one signing key. Nothing of it but
// the key outlives the process, which is what a sign-in page on a laptop needs.
type storage struct {
	key    *signingKey
	client *client
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code -> request id
	// tokens maps an access token id to the email it was issued for, so the
	// userinfo endpoint can answer while the process lives.
	tokens map[string]string
	// refresh holds the refresh tokens issued and not revoked, by token.
	refresh map[string]*refreshToken
}

func newStorage(key *signingKey, c *client, ttl time.Duration, now func() time.Time) *storage {
	return &storage{
		key: key, client: c, ttl: ttl, now: now,
		requests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]string{},
		refresh: map[string]*refreshToken{},
	}
}

// authRequest is one sign-in in flight, from the authorization request until
// its code is exchanged (op.AuthRequest).
type authRequest struct {
	id       string
	req      oidc.AuthRequest
	created  time.Time
	subject  string
	email    string
	authTime time.Time
	done     bool
	code     string
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAMR() []string                   { return nil }
func (a *authRequest) GetAudience() []string              { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.req.ClientID }
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}

// CreateAuthRequest stores a sign-in request. The library accepts a missing
// challenge and the plain method; the console is a public client in a
// browser, so this issuer, like the API's issuers, insists on S256.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send a code_challenge with code_challenge_method S256")
	}
	// Like Cognito, the issuer gives every sign-in a refresh token, without
	// the offline_access scope the library otherwise asks for.
	if !slices.Contains(req.Scopes, oidc.ScopeOfflineAccess) {
		req.Scopes = append(slices.Clone(req.Scopes), oidc.ScopeOfflineAccess)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.prune(now)
	a := &authRequest{id: rand.Text(), req: *req, created: now}
	s.requests[a.id] = a
	return a.snapshot(), nil
}

// prune forgets sign-ins older than requestTTL; the caller holds mu.
func (s *storage) prune(now time.Time) {
	for id, a := range s.requests {
		if now.Sub(a.created) > requestTTL {
			s.deleteLocked(id)
		}
	}
}

func (s *storage) deleteLocked(id string) {
	if a, ok := s.requests[id]; ok && a.code != "" {
		delete(s.codes, a.code)
	}
	delete(s.requests, id)
}

// lookup returns the live request id; the caller holds mu.
func (s *storage) lookup(id string) (*authRequest, error) {
	a, ok := s.requests[id]
	if !ok || s.now().Sub(a.created) > requestTTL {
		return nil, errNotFound
	}
	return a, nil
}

func (a *authRequest) snapshot() *authRequest {
	c := *a
	return &c
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	return a.snapshot(), nil
}

// AuthRequestByCode spends the code: whatever follows (a wrong verifier, a
// redirect URI that does not match), a code is good for one attempt.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errNotFound
	}
	delete(s.codes, code)
	a, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	return a.snapshot(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(id)
	if err != nil {
		return err
	}
	if a.code != "" {
		return oidc.ErrInvalidRequest().WithDescription("this sign-in already has a code")
	}
	a.code = code
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(id)
	return nil
}

// complete records who signed in for the request id.
func (s *storage) complete(id, subject, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(id)
	if err != nil {
		return err
	}
	if a.done {
		return fmt.Errorf("%w: already signed in", errNotFound)
	}
	a.subject, a.email, a.done, a.authTime = subject, email, true, s.now()
	return nil
}

// CreateAccessToken names an access token (a JWT the library signs) and
// remembers its email for userinfo.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	email, ok := emailOf(req)
	if !ok {
		return "", time.Time{}, errNoSupport
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := rand.Text()
	s.tokens[id] = email
	return id, s.now().Add(s.ttl), nil
}

// CreateAccessAndRefreshTokens names an access token and issues a refresh
// token for a sign-in; a refresh keeps its refresh token, as Cognito does.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	id, exp, err := s.CreateAccessToken(ctx, req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if current != "" {
		if _, ok := s.refresh[current]; !ok {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
		return id, current, exp, nil
	}
	a, ok := req.(*authRequest)
	if !ok {
		return "", "", time.Time{}, errNoSupport
	}
	rt := rand.Text()
	s.refresh[rt] = &refreshToken{clientID: a.req.ClientID, subject: a.subject, email: a.email, authTime: a.authTime, scopes: a.req.Scopes}
	return id, rt, exp, nil
}

// TokenRequestByRefreshToken finds a refresh token that is issued and not
// revoked.
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[token]
	if !ok {
		return nil, op.ErrInvalidRefreshToken
	}
	c := *r
	return &c, nil
}

// GetRefreshTokenInfo names the person and the token of a refresh token
// for the revocation endpoint; the token is its own id.
func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[token]
	if !ok || r.clientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return r.subject, token, nil
}

// TerminateSession has nothing to end: the issuer keeps no sessions, so every
// sign-in shows the page again.
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken revokes a refresh token, which no refresh takes afterwards,
// or forgets an access token for userinfo; a JWT itself stays valid until it
// expires, as a JWT does. A token of another client is left alone.
func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.refresh[tokenID]; ok && r.clientID == clientID {
		delete(s.refresh, tokenID)
	}
	delete(s.tokens, tokenID)
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.key.SignatureAlgorithm()}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errNoClient
	}
	return s.client, nil
}

// AuthorizeClientIDSecret refuses every secret: the one client is public.
func (s *storage) AuthorizeClientIDSecret(context.Context, string, string) error {
	return errNoClient
}

// SetUserinfoFromScopes is the library's deprecated hook, left empty as it
// asks; SetUserinfoFromRequest fills the ID token.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the person in the ID token whatever the scopes:
// the API needs the email, and a local issuer has nothing else to say.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	email, ok := emailOf(req)
	if !ok {
		return errNoSupport
	}
	*info = *userInfo(req.GetSubject(), email, true)
	return nil
}

// emailOf is the email a sign-in or a refresh token was issued for.
func emailOf(req any) (string, bool) {
	switch r := req.(type) {
	case *authRequest:
		return r.email, true
	case *refreshToken:
		return r.email, true
	}
	return "", false
}

// refreshToken is a refresh token's sign-in, as a refresh replays it
// (op.RefreshTokenRequest).
type refreshToken struct {
	clientID, subject, email string
	authTime                 time.Time
	scopes                   []string
}

func (r *refreshToken) GetAMR() []string                 { return nil }
func (r *refreshToken) GetAudience() []string            { return []string{r.clientID} }
func (r *refreshToken) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshToken) GetClientID() string              { return r.clientID }
func (r *refreshToken) GetScopes() []string              { return r.scopes }
func (r *refreshToken) GetSubject() string               { return r.subject }
func (r *refreshToken) SetCurrentScopes(scopes []string) { r.scopes = scopes }

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	email, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: access token", errNotFound)
	}
	*info = *userInfo(subject, email, true)
	return nil
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errNoSupport
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNoSupport
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNoSupport
}

func (s *storage) Health(context.Context) error { return nil }

// client is the console: a public client of a browser application that must
// use PKCE (op.Client).
type client struct {
	id              string
	redirectURIs    []string
	postLogoutURIs  []string
	loginURL        string
	idTokenLifetime time.Duration
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return slices.Clone(c.redirectURIs) }
func (c *client) PostLogoutRedirectURIs() []string    { return slices.Clone(c.postLogoutURIs) }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeUserAgent }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodNone }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string           { return c.loginURL + id }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }

// DevMode lets the client's http redirect URIs through: they are 127.0.0.1.
func (c *client) DevMode() bool { return true }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the email in the ID token even though
// an access token is issued too: the ID token is what the API reads.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

var _ op.Storage = (*storage)(nil)
var _ op.CanSetUserinfoFromRequest = (*storage)(nil)
