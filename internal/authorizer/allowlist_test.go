package authorizer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/token"
)

// TestIPAllowlist: a token with an allowlist is allowed from a source
// address inside it and refused (401) from any other, whatever a client
// header claims; the allowlist comes from the secret's one read, and the
// context carries it for introspection. A token without one is allowed
// from anywhere.
func TestIPAllowlist(t *testing.T) {
	tb := newTable(t)
	db, ctx := tb.db, context.Background()
	listed := tb.mint(t, "0000000b0000000000000001", 0, seeded(1), []string{"203.0.113.0/24", "2001:db8::/32"})
	open := tb.mint(t, "0000000b0000000000000002", 1, seeded(2), nil)
	a := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: tb.st, Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}

	tests := []struct {
		name, secret, ip string
		forwarded        string
		allow            bool
	}{
		{"inside, IPv4", listed, "203.0.113.77", "", true},
		{"inside, IPv6", listed, "2001:db8:5::1", "", true},
		{"inside, IPv4-mapped", listed, "::ffff:203.0.113.77", "", true},
		{"outside", listed, "198.51.100.7", "", false},
		{"outside, header claims inside", listed, "198.51.100.7", "203.0.113.77", false},
		{"no source address", listed, "", "", false},
		{"no allowlist", open, "198.51.100.7", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := request("/v2/sites", "/v2/sites", tc.secret)
			req.RequestContext.Identity.SourceIP = tc.ip
			if tc.forwarded != "" {
				req.Headers["X-Forwarded-For"] = tc.forwarded
			}
			db.Reset()
			resp, err := a.Handle(ctx, req)
			if tc.allow {
				if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
					t.Fatalf("Handle = %+v, %v; want an allow", resp, err)
				}
			} else if !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("Handle = %+v, %v; want ErrUnauthorized", resp, err)
			}
			if n := db.Calls(); n != 1 {
				t.Errorf("%d DynamoDB calls; want 1 (the secret's read)", n)
			}
			if tc.allow && tc.secret == listed && resp.Context["allowedIps"] != "203.0.113.0/24,2001:db8::/32" {
				t.Errorf("context allowedIps = %v", resp.Context["allowedIps"])
			}
		})
	}
}

type seeded byte

func (s seeded) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7) + byte(s)
	}
	return len(p), nil
}

// BenchmarkAllowlist is the authorizer's CPU path (its store in memory) for
// a token without an allowlist and with 20 ranges the source address falls
// in none of but the last.
func BenchmarkAllowlist(b *testing.B) {
	for _, n := range []int{0, 20} {
		b.Run(map[int]string{0: "none", 20: "20 ranges"}[n], func(b *testing.B) {
			secret, _ := token.Generate(token.KindSite, fixedReader{})
			sec := tokensmith.Secret{Hash: token.Hash(secret), TokenID: "0000000b0000000000000001", Kind: token.KindSite, SiteID: "s", WorkspaceID: "w",
				Scope: "sites:read", ExpiresOn: time.Now().Add(time.Hour), AllowedIPs: ranges(n)}
			a := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(sec), Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			req := request("/v2/sites", "/v2/sites", secret)
			req.RequestContext.Identity.SourceIP = "203.0.113.5"
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Handle(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ranges returns n ranges, of which only the last holds 203.0.113.5.
func ranges(n int) []string {
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := range n - 1 {
		out = append(out, fmt.Sprintf("198.51.%d.0/24", i))
	}
	return append(out, "203.0.113.0/24")
}
