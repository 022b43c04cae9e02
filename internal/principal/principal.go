// Package principal is who a request acts as, as the authorizer hands it to
// the functions in the API Gateway authorizer context.
package principal

import (
	"errors"
	"fmt"

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
}

// Context returns p as authorizer context (string values only, as API
// Gateway passes them on).
func (p Principal) Context() map[string]interface{} {
	return map[string]interface{}{
		"kind": p.Kind, "issuer": p.Issuer, "userId": p.UserID, "email": p.Email, "tokenId": p.TokenID,
		"siteId": p.SiteID, "workspaceId": p.WorkspaceID, "scope": p.Scope,
	}
}

// FromContext reads a Principal from authorizer context.
func FromContext(c map[string]interface{}) (Principal, error) {
	str := func(k string) string {
		s, _ := c[k].(string)
		return s
	}
	p := Principal{
		Kind: str("kind"), Issuer: str("issuer"), UserID: str("userId"), Email: str("email"), TokenID: str("tokenId"),
		SiteID: str("siteId"), WorkspaceID: str("workspaceId"), Scope: str("scope"),
	}
	switch {
	case p.Kind == User && p.Issuer != "" && p.UserID != "" && p.Email != "":
	case (p.Kind == Site || p.Kind == Workspace) && p.TokenID != "" && p.WorkspaceID != "":
	default:
		return Principal{}, fmt.Errorf("%w: kind %q", ErrMissing, p.Kind)
	}
	return p, nil
}
