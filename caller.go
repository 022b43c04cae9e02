package tokensmith

import (
	"time"

	"github.com/tokensmith/tokensmith/internal/token"
)

// Kinds of caller.
const (
	CallerPerson    = "user"                      // a person, by a user token an issuer signed
	CallerSite      = string(token.KindSite)      // a site API token
	CallerWorkspace = string(token.KindWorkspace) // a workspace API token
)

// Caller is who a request acts as: a person or an API token, as the
// authorizer decided. It never holds a secret.
type Caller struct {
	Kind        string
	Issuer      string // person: the issuer that signed the user token
	Subject     string // person: the token's subject (sub), which with Issuer names the person
	Email       string // person: verified by the issuer
	TokenID     string // API tokens
	SiteID      string // site tokens
	WorkspaceID string // API tokens
	Scope       string // API tokens: comma-separated scopes

	// Introspection, of API tokens: what the decision saw of the token, so
	// that introspecting it reads nothing. CreatedOn is zero when the
	// token's secret did not carry it (secrets stored before it did).
	CreatedOn time.Time
	LastUsed  *time.Time // nil until the first recorded use
	ExpiresOn time.Time
	ExpiresAt *time.Time // the token's fixed end; nil for none

	// What the function that serves an API token's request decides with:
	// RateLimit is the token's limit in requests a minute, as its secret
	// carried it; Plan is a workspace token's workspace plan; SecretHash
	// (the table's key of the secret, not the secret) and GraceUntil are
	// where the function notes the use.
	RateLimit  int64
	Plan       string
	SecretHash string
	GraceUntil *time.Time
	// AllowedIPs is the token's IP allowlist, which the authorizer enforced
	// and introspection shows; nil for none.
	AllowedIPs []string
}

// IsPerson reports whether c is a person rather than an API token.
func (c Caller) IsPerson() bool { return c.Kind == CallerPerson }

// Caller returns the caller an API token's secret makes: who it is, what
// introspecting it shows, so that introspection reads nothing, and what the
// function decides and notes the use with, so that it reads nothing either.
func (s Secret) Caller() Caller {
	return Caller{
		Kind: string(s.Kind), TokenID: s.TokenID, SiteID: s.SiteID, WorkspaceID: s.WorkspaceID, Scope: s.Scope,
		CreatedOn: s.CreatedOn, LastUsed: s.LastUsed, ExpiresOn: s.ExpiresOn, ExpiresAt: s.ExpiresAt,
		RateLimit: s.TokenRateLimit(), Plan: string(s.Plan), SecretHash: s.Hash, GraceUntil: s.GraceUntil,
		AllowedIPs: s.AllowedIPs,
	}
}

// Secret returns what API token caller c carries of its secret: enough to
// note a use of it.
func (c Caller) Secret() Secret {
	return Secret{Hash: c.SecretHash, TokenID: c.TokenID, Kind: token.Kind(c.Kind), SiteID: c.SiteID,
		WorkspaceID: c.WorkspaceID, GraceUntil: c.GraceUntil, ExpiresAt: c.ExpiresAt}
}

// Token returns what API token caller c carries of its token: what
// introspection shows.
func (c Caller) Token() Token {
	return Token{ID: c.TokenID, Kind: token.Kind(c.Kind), SiteID: c.SiteID, WorkspaceID: c.WorkspaceID, Scope: c.Scope,
		CreatedOn: c.CreatedOn, LastUsed: c.LastUsed, ExpiresOn: c.ExpiresOn, ExpiresAt: c.ExpiresAt}
}
