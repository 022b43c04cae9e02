package httpapi

import (
	"context"
	"fmt"
	"testing"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/token"
)

// verifierFunc fakes a SignatureVerifier.
type verifierFunc func(keyID, signature string, body []byte) error

func (f verifierFunc) Verify(_ context.Context, keyID, signature string, body []byte) error {
	return f(keyID, signature, body)
}

// TestSecretScanningHandler holds how the leak report endpoint answers: a
// report without a good signature, one that cannot be checked, and one
// malformed are refused before anything is revoked; a revocation that fails
// is a generic 500; a good report answers each match in order.
func TestSecretScanningHandler(t *testing.T) {
	signed := map[string]string{secretscanning.HeaderKeyID: "k1", secretscanning.HeaderSignature: "sig"}
	good := verifierFunc(func(keyID, sig string, _ []byte) error {
		if keyID != "k1" || sig != "sig" {
			return fmt.Errorf("key %q, signature %q: %w", keyID, sig, secretscanning.ErrBadSignature)
		}
		return nil
	})
	report := `[{"token":"tss_live","type":"tokensmith_site_token","url":"https://example.com/a","source":"content"},` +
		`{"token":"tss_dead","type":"tokensmith_site_token","url":"https://example.com/b","source":"content"}]`
	tests := []struct {
		name     string
		header   map[string]string
		verify   verifierFunc
		body     string
		revoke   error
		status   int
		code     string
		revoked  int // calls to RevokeLeaked
		retry    string
		feedback []any
	}{
		{name: "missing signature", header: map[string]string{secretscanning.HeaderKeyID: "k1"}, verify: good, body: report,
			status: 401, code: tokensmith.EUNAUTHORIZED},
		{name: "bad signature", header: map[string]string{secretscanning.HeaderKeyID: "k1", secretscanning.HeaderSignature: "forged"},
			verify: good, body: report, status: 401, code: tokensmith.EUNAUTHORIZED},
		{name: "keys unavailable", header: signed, verify: func(string, string, []byte) error { return errBoom }, body: report,
			status: 503, code: tokensmith.EUNAVAILABLE, retry: "60"},
		{name: "not an array", header: signed, verify: good, body: `{"token":"tss_live"}`,
			status: 400, code: tokensmith.EBADREQUEST},
		{name: "match without token", header: signed, verify: good, body: `[{"url":"https://example.com/a"}]`,
			status: 400, code: tokensmith.EINVALID},
		{name: "revoke fails", header: signed, verify: good, body: report, revoke: errBoom,
			status: 500, code: tokensmith.EINTERNAL, revoked: 1},
		{name: "revoked", header: signed, verify: good, body: report, status: 200, revoked: 2, feedback: []any{
			map[string]any{"token_hash": token.Hash("tss_live"), "token_type": "tokensmith_site_token", "label": "true_positive"},
			map[string]any{"token_hash": token.Hash("tss_dead"), "token_type": "tokensmith_site_token", "label": "false_positive"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			revoked := 0
			svc := &mock.TokenService{RevokeLeakedFn: func(_ context.Context, partner, secret, url string) (bool, error) {
				revoked++
				if partner != tokensmith.PartnerGitHub {
					t.Errorf("partner = %q, want %q", partner, tokensmith.PartnerGitHub)
				}
				return secret == "tss_live", tt.revoke
			}}
			got := serve(t, SecretScanning(svc, tt.verify, quiet), request{op: "reportGitHubSecrets", header: tt.header, body: tt.body})
			if tt.status != 200 {
				got.check(t, tt.status, tt.code)
			} else if got.status != 200 || fmt.Sprint(got.list) != fmt.Sprint(tt.feedback) {
				t.Errorf("answer = %d %v; want 200 %v", got.status, got.list, tt.feedback)
			}
			if revoked != tt.revoked {
				t.Errorf("RevokeLeaked called %d times, want %d", revoked, tt.revoked)
			}
			if got.header[HeaderRetryAfter] != tt.retry {
				t.Errorf("Retry-After = %q, want %q", got.header[HeaderRetryAfter], tt.retry)
			}
		})
	}
}
