// Package principal carries the caller (tokensmith.Caller) from the
// authorizer to the functions in API Gateway's authorizer context: its one
// encoding and decoding.
package principal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith"
)

// ErrMissing means the request carries no usable caller.
var ErrMissing = errors.New("principal: missing from authorizer context")

// timeFormat is how times travel in the context: RFC 3339 with nanoseconds,
// so that a time reads back exactly as it was written.
const timeFormat = time.RFC3339Nano

// Context returns p as authorizer context. API Gateway passes on only
// strings, numbers and booleans, so times are strings, and an absent time
// is the empty string.
func Context(p tokensmith.Caller) map[string]interface{} {
	lastUsed, graceUntil, expiresAt := "", "", ""
	if p.ExpiresAt != nil {
		expiresAt = formatTime(*p.ExpiresAt)
	}
	if p.LastUsed != nil {
		lastUsed = formatTime(*p.LastUsed)
	}
	if p.GraceUntil != nil {
		graceUntil = formatTime(*p.GraceUntil)
	}
	return map[string]interface{}{
		"kind": p.Kind, "issuer": p.Issuer, "userId": p.Subject, "email": p.Email, "tokenId": p.TokenID,
		"siteId": p.SiteID, "workspaceId": p.WorkspaceID, "scope": p.Scope,
		"createdOn": formatTime(p.CreatedOn), "lastUsed": lastUsed, "expiresOn": formatTime(p.ExpiresOn), "expiresAt": expiresAt,
		"rateLimit": strconv.FormatInt(p.RateLimit, 10), "plan": p.Plan, "secretHash": p.SecretHash,
		"graceUntil": graceUntil, "allowedIps": strings.Join(p.AllowedIPs, ","),
	}
}

// FromContext reads a caller from authorizer context. A time that is
// present but unreadable makes the whole caller unusable.
func FromContext(c map[string]interface{}) (tokensmith.Caller, error) {
	str := func(k string) string {
		s, _ := c[k].(string)
		return s
	}
	p := tokensmith.Caller{
		Kind: str("kind"), Issuer: str("issuer"), Subject: str("userId"), Email: str("email"), TokenID: str("tokenId"),
		SiteID: str("siteId"), WorkspaceID: str("workspaceId"), Scope: str("scope"),
		Plan: str("plan"), SecretHash: str("secretHash"),
	}
	switch {
	case p.Kind == tokensmith.CallerPerson && p.Issuer != "" && p.Subject != "" && p.Email != "":
	case (p.Kind == tokensmith.CallerSite || p.Kind == tokensmith.CallerWorkspace) && p.TokenID != "" && p.WorkspaceID != "":
	default:
		return tokensmith.Caller{}, fmt.Errorf("%w: kind %q", ErrMissing, p.Kind)
	}
	var err error
	if p.CreatedOn, err = parseTime(str("createdOn")); err != nil {
		return tokensmith.Caller{}, err
	}
	if p.ExpiresOn, err = parseTime(str("expiresOn")); err != nil {
		return tokensmith.Caller{}, err
	}
	if lu, err := parseTime(str("lastUsed")); err != nil {
		return tokensmith.Caller{}, err
	} else if !lu.IsZero() {
		p.LastUsed = &lu
	}
	if ea, err := parseTime(str("expiresAt")); err != nil {
		return tokensmith.Caller{}, err
	} else if !ea.IsZero() {
		p.ExpiresAt = &ea
	}
	if gu, err := parseTime(str("graceUntil")); err != nil {
		return tokensmith.Caller{}, err
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
