package principal

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestContextRoundTrip(t *testing.T) {
	used := time.Date(2026, 11, 22, 12, 5, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		p    Principal
	}{
		{"user", Principal{Kind: User, Issuer: "https://issuer.example", UserID: "u", Email: "a@example.com"}},
		{"site token, never used", Principal{Kind: Site, TokenID: "t", SiteID: "s", WorkspaceID: "w", Scope: "sites:read",
			CreatedOn: used.Add(-time.Hour), ExpiresOn: used.Add(time.Hour), RateLimit: 60, SecretHash: "5e3c"}},
		{"site token, in its grace period", Principal{Kind: Site, TokenID: "t", SiteID: "s", WorkspaceID: "w", Scope: "sites:read",
			CreatedOn: used.Add(-time.Hour), ExpiresOn: used.Add(time.Hour), RateLimit: 600, SecretHash: "5e3c", GraceUntil: &used}},
		{"site token with an IP allowlist", Principal{Kind: Site, TokenID: "t", SiteID: "s", WorkspaceID: "w", Scope: "sites:read",
			CreatedOn: used.Add(-time.Hour), ExpiresOn: used.Add(time.Hour), RateLimit: 60, SecretHash: "5e3c",
			AllowedIPs: []string{"203.0.113.0/24", "2001:db8::/32"}}},
		{"workspace token, used", Principal{Kind: Workspace, TokenID: "t", WorkspaceID: "w", Scope: "workspace_activity:read",
			CreatedOn: used.Add(-time.Hour), LastUsed: &used, ExpiresOn: used.Add(time.Hour), RateLimit: 120, Plan: "enterprise", SecretHash: "5e3c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.p.Context()
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
	c := Principal{Kind: Site, TokenID: "t", SiteID: "s", WorkspaceID: "w"}.Context()
	c["lastUsed"] = "yesterday"
	if _, err := FromContext(c); !errors.Is(err, ErrMissing) {
		t.Errorf("FromContext with lastUsed %q = %v; want ErrMissing", c["lastUsed"], err)
	}
}
