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
