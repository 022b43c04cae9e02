package tokensmith_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/token"
)

// TestSecretCallerRoundTrip: the caller a secret makes carries back what
// noting a use needs of the secret and what introspection shows of the
// token, and the secret's rate limit as its token's.
func TestSecretCallerRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	grace := at.Add(time.Hour)
	fixed := at.Add(30 * 24 * time.Hour)
	sec := tokensmith.Secret{Hash: "5e3c", TokenID: "t1", Kind: token.KindSite, SiteID: "s1", WorkspaceID: "w1", Scope: "sites:read",
		CreatedOn: at.Add(-time.Hour), LastUsed: &at, ExpiresOn: fixed, ExpiresAt: &fixed, GraceUntil: &grace, RateLimit: 60,
		AllowedIPs: []string{"203.0.113.0/24"}}
	c := sec.Caller()
	if c.Kind != tokensmith.CallerSite || c.IsPerson() || c.RateLimit != 60 || !reflect.DeepEqual(c.AllowedIPs, sec.AllowedIPs) {
		t.Errorf("Secret.Caller() = %+v", c)
	}
	want := tokensmith.Secret{Hash: sec.Hash, TokenID: "t1", Kind: token.KindSite, SiteID: "s1", WorkspaceID: "w1", GraceUntil: &grace, ExpiresAt: &fixed}
	if got := c.Secret(); !reflect.DeepEqual(got, want) {
		t.Errorf("Caller.Secret() = %+v; want %+v", got, want)
	}
	wantTok := tokensmith.Token{ID: "t1", Kind: token.KindSite, SiteID: "s1", WorkspaceID: "w1", Scope: "sites:read",
		CreatedOn: sec.CreatedOn, LastUsed: &at, ExpiresOn: sec.ExpiresOn, ExpiresAt: &fixed}
	if got := c.Token(); !reflect.DeepEqual(got, wantTok) {
		t.Errorf("Caller.Token() = %+v; want %+v", got, wantTok)
	}
}
