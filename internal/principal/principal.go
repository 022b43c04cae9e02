// Package principal is who a request acts as, as the authorizer hands it to
// the functions in the API Gateway authorizer context.
package principal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith/internal/token"
)

// Kinds of principal.
const (
	User      = "user"                      // a person, from an OIDC user token
	Site      = string(token.KindSite)      // a site API token
	Workspace = string(token.KindWorkspace) // a workspace API token
)

// ErrMissing means the request carries no usable principal.
var ErrMissing = errors.New("principal: missing from authorizer context")

// timeFormat is how times travel in the context: RFC 3339 with nanoseconds,
// so that a time reads back exactly as it was written.
const timeFormat = time.RFC3339Nano

// Principal is the caller of a request. It never holds a secret.
type Principal struct {
	Kind        string
	Issuer      string // user: the issuer that signed the token
	UserID      string // user: the token's subject (sub), which with Issuer names the person
	Email       string // user: verified by the issuer
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

// Context returns p as authorizer context. API Gateway passes on only
// strings, numbers and booleans, so times are strings, and an absent time
// is the empty string.
func (p Principal) Context() map[string]interface{} {
	lastUsed, graceUntil := "", ""
	if p.LastUsed != nil {
		lastUsed = formatTime(*p.LastUsed)
	}
	if p.GraceUntil != nil {
		graceUntil = formatTime(*p.GraceUntil)
	}
	return map[string]interface{}{
		"kind": p.Kind, "issuer": p.Issuer, "userId": p.UserID, "email": p.Email, "tokenId": p.TokenID,
		"siteId": p.SiteID, "workspaceId": p.WorkspaceID, "scope": p.Scope,
		"createdOn": formatTime(p.CreatedOn), "lastUsed": lastUsed, "expiresOn": formatTime(p.ExpiresOn),
		"rateLimit": strconv.FormatInt(p.RateLimit, 10), "plan": p.Plan, "secretHash": p.SecretHash,
		"graceUntil": graceUntil, "allowedIps": strings.Join(p.AllowedIPs, ","),
	}
}

// FromContext reads a Principal from authorizer context. A time that is
// present but unreadable makes the whole principal unusable.
func FromContext(c map[string]interface{}) (Principal, error) {
	str := func(k string) string {
		s, _ := c[k].(string)
		return s
	}
	p := Principal{
		Kind: str("kind"), Issuer: str("issuer"), UserID: str("userId"), Email: str("email"), TokenID: str("tokenId"),
		SiteID: str("siteId"), WorkspaceID: str("workspaceId"), Scope: str("scope"),
		Plan: str("plan"), SecretHash: str("secretHash"),
	}
	switch {
	case p.Kind == User && p.Issuer != "" && p.UserID != "" && p.Email != "":
	case (p.Kind == Site || p.Kind == Workspace) && p.TokenID != "" && p.WorkspaceID != "":
	default:
		return Principal{}, fmt.Errorf("%w: kind %q", ErrMissing, p.Kind)
	}
	var err error
	if p.CreatedOn, err = parseTime(str("createdOn")); err != nil {
		return Principal{}, err
	}
	if p.ExpiresOn, err = parseTime(str("expiresOn")); err != nil {
		return Principal{}, err
	}
	if lu, err := parseTime(str("lastUsed")); err != nil {
		return Principal{}, err
	} else if !lu.IsZero() {
		p.LastUsed = &lu
	}
	if gu, err := parseTime(str("graceUntil")); err != nil {
		return Principal{}, err
	} else if !gu.IsZero() {
		p.GraceUntil = &gu
	}
	// An absent or unreadable limit is 0, which the function refuses as a
	// fault: never unlimited.
	p.RateLimit, _ = strconv.ParseInt(str("rateLimit"), 10, 64)
	if ips := str("allowedIps"); ips != "" {
		p.AllowedIPs = strings.Split(ips, ",")
	}
	return p, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	return t, nil
}
