package principal

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
)

func TestContextRoundTrip(t *testing.T) {
	used := time.Date(2026, 11, 22, 12, 5, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		p    tokensmith.Caller
	}{
		{"user", tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: "https://issuer.example", Subject: "u", Email: "a@example.com"}},
		{"site token, never used", tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t", SiteID: "s", WorkspaceID: "w", Scope: "sites:read",
			CreatedOn: used.Add(-time.Hour), ExpiresOn: used.Add(time.Hour), RateLimit: 60, SecretHash: "5e3c"}},
		{"site token, in its grace period", tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t", SiteID: "s", WorkspaceID: "w", Scope: "sites:read",
			CreatedOn: used.Add(-time.Hour), ExpiresOn: used.Add(time.Hour), RateLimit: 600, SecretHash: "5e3c", GraceUntil: &used}},
		{"site token with an IP allowlist", tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t", SiteID: "s", WorkspaceID: "w", Scope: "sites:read",
			CreatedOn: used.Add(-time.Hour), ExpiresOn: used.Add(time.Hour), RateLimit: 60, SecretHash: "5e3c",
			AllowedIPs: []string{"203.0.113.0/24", "2001:db8::/32"}}},
		{"workspace token, used", tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "t", WorkspaceID: "w", Scope: "workspace_activity:read",
			CreatedOn: used.Add(-time.Hour), LastUsed: &used, ExpiresOn: used.Add(time.Hour), RateLimit: 120, Plan: "enterprise", SecretHash: "5e3c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Context(tc.p)
			for k, v := range c {
				if _, ok := v.(string); !ok {
					t.Errorf("context %s = %T; want a string", k, v)
				}
			}
			got, err := FromContext(c)
			if err != nil || !reflect.DeepEqual(got, tc.p) {
				t.Errorf("FromContext(Context()) = %+v, %v; want %+v", got, err, tc.p)
			}
		})
	}
}

func TestUnreadableTimeIsMissing(t *testing.T) {
	c := Context(tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t", SiteID: "s", WorkspaceID: "w"})
	c["lastUsed"] = "yesterday"
	if _, err := FromContext(c); !errors.Is(err, ErrMissing) {
		t.Errorf("FromContext with lastUsed %q = %v; want ErrMissing", c["lastUsed"], err)
	}
}

// TestIncompleteCallerIsMissing: a person without issuer, subject or
// verified email, and an API token without its id or workspace, is no
// caller at all.
func TestIncompleteCallerIsMissing(t *testing.T) {
	person := tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: "https://issuer.example", Subject: "u", Email: "a@example.com"}
	site := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "t", SiteID: "s", WorkspaceID: "w"}
	tests := []struct {
		name   string
		caller tokensmith.Caller
		drop   string
	}{
		{"person without issuer", person, "issuer"},
		{"person without subject", person, "userId"},
		{"person without email", person, "email"},
		{"token without id", site, "tokenId"},
		{"token without workspace", site, "workspaceId"},
		{"no kind", site, "kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Context(tc.caller)
			if _, err := FromContext(c); err != nil {
				t.Fatalf("FromContext(complete) = %v", err)
			}
			delete(c, tc.drop)
			if got, err := FromContext(c); !errors.Is(err, ErrMissing) {
				t.Errorf("FromContext without %s = %+v, %v; want ErrMissing", tc.drop, got, err)
			}
		})
	}
}
