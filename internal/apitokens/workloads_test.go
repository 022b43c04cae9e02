package apitokens_test

import (
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/scope"
)

func TestValidateWorkload(t *testing.T) {
	local := []string{"http://127.0.0.1:3002"}
	good := func() tokensmith.WorkloadInput {
		return tokensmith.WorkloadInput{Name: "Deploy", Issuer: "https://token.actions.githubusercontent.com", Audience: "tokensmith",
			Subject: "repo:octo/site:ref:refs/heads/*", Claims: map[string]string{"repository_owner_id": "1234"},
			Permissions: scope.Permissions{"cms": scope.ReadWrite}}
	}
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name  string
		edit  func(in *tokensmith.WorkloadInput)
		field string // "" when valid
	}{
		{"valid", func(*tokensmith.WorkloadInput) {}, ""},
		{"a local issuer", func(in *tokensmith.WorkloadInput) { in.Issuer = local[0] }, ""},
		{"lifetime at its bounds", func(in *tokensmith.WorkloadInput) { in.TokenLifetimeSeconds = n(300) }, ""},
		{"lifetime at its upper bound", func(in *tokensmith.WorkloadInput) { in.TokenLifetimeSeconds = n(3600) }, ""},
		{"lifetime too short", func(in *tokensmith.WorkloadInput) { in.TokenLifetimeSeconds = n(299) }, "tokenLifetimeSeconds"},
		{"lifetime too long", func(in *tokensmith.WorkloadInput) { in.TokenLifetimeSeconds = n(3601) }, "tokenLifetimeSeconds"},
		{"no name", func(in *tokensmith.WorkloadInput) { in.Name = " " }, "name"},
		{"no issuer", func(in *tokensmith.WorkloadInput) { in.Issuer = "" }, "issuer"},
		{"http issuer", func(in *tokensmith.WorkloadInput) { in.Issuer = "http://token.actions.githubusercontent.com" }, "issuer"},
		{"another local port", func(in *tokensmith.WorkloadInput) { in.Issuer = "http://127.0.0.1:3003" }, "issuer"},
		{"loopback over https", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://127.0.0.1" }, "issuer"},
		{"metadata address", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://169.254.169.254/latest" }, "issuer"},
		{"private address", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://10.0.0.8" }, "issuer"},
		{"IPv6 loopback", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://[::1]" }, "issuer"},
		{"IPv4-mapped private", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://[::ffff:10.0.0.1]" }, "issuer"},
		{"localhost", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://localhost:8443" }, "issuer"},
		{"internal name", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://metadata.google.internal" }, "issuer"},
		{"dotless name", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://issuer" }, "issuer"},
		{"user in the URL", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://u:p@issuer.example" }, "issuer"},
		{"query in the URL", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://issuer.example/?x=1" }, "issuer"},
		{"fragment in the URL", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://issuer.example/#x" }, "issuer"},
		{"issuer too long", func(in *tokensmith.WorkloadInput) { in.Issuer = "https://issuer.example/" + strings.Repeat("a", 1000) }, "issuer"},
		{"no audience", func(in *tokensmith.WorkloadInput) { in.Audience = "" }, "audience"},
		{"audience too long", func(in *tokensmith.WorkloadInput) { in.Audience = strings.Repeat("a", 256) }, "audience"},
		{"audience of 255", func(in *tokensmith.WorkloadInput) { in.Audience = strings.Repeat("a", 255) }, ""},
		{"no subject", func(in *tokensmith.WorkloadInput) { in.Subject = "" }, "subject"},
		{"control character in the subject", func(in *tokensmith.WorkloadInput) { in.Subject = "repo:a\nb" }, "subject"},
		{"a registered claim", func(in *tokensmith.WorkloadInput) { in.Claims = map[string]string{"sub": "x"} }, "claims.sub"},
		{"a registered claim in capitals", func(in *tokensmith.WorkloadInput) { in.Claims = map[string]string{"AUD": "x"} }, "claims.AUD"},
		{"an empty claim value", func(in *tokensmith.WorkloadInput) { in.Claims = map[string]string{"ref": ""} }, "claims.ref"},
		{"an empty claim name", func(in *tokensmith.WorkloadInput) { in.Claims = map[string]string{"": "x"} }, "claims"},
		{"too many claims", func(in *tokensmith.WorkloadInput) {
			in.Claims = map[string]string{}
			for i := range 21 {
				in.Claims[strings.Repeat("c", i+1)] = "x"
			}
		}, "claims"},
		{"no permissions", func(in *tokensmith.WorkloadInput) { in.Permissions = nil }, "permissions"},
		{"a workspace permission", func(in *tokensmith.WorkloadInput) {
			in.Permissions = scope.Permissions{"workspace_activity": scope.Read}
		}, "permissions.workspace_activity"},
		{"no scope granted", func(in *tokensmith.WorkloadInput) { in.Permissions = scope.Permissions{"cms": scope.None} }, "permissions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.edit(&in)
			details := apitokens.ValidateWorkload(in, local)
			if tc.field == "" {
				if len(details) > 0 {
					t.Errorf("ValidateWorkload = %v; want none", details)
				}
				return
			}
			if len(details) != 1 || details[0].Field != tc.field {
				t.Errorf("ValidateWorkload = %v; want one on %s", details, tc.field)
			}
		})
	}
}
