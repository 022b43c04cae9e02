package usertoken

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	jwt5 "github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// provider is an OpenID Provider that is not this service's: mockoidc, run
// for the test. Its ID tokens come out of its authorization code flow.
type provider struct {
	*mockoidc.MockOIDC
	// mu is held around every request the provider serves and every change
	// the test makes to it.
	mu          sync.Mutex
	jwksFetches int
}

func startProvider(t testing.TB) *provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{MockOIDC: m}
	m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			defer p.mu.Unlock()
			if r.URL.Path == mockoidc.JWKSEndpoint {
				p.jwksFetches++
			}
			next.ServeHTTP(w, r)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return p
}

// fetches returns how many times the provider's JWKS was asked for.
func (p *provider) fetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jwksFetches
}

// rotate makes the provider sign with a new key and publish only that one.
func (p *provider) rotate(t testing.TB) {
	t.Helper()
	kp, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Keypair = kp
}

// login signs user in through the authorization code flow and returns the
// ID token the provider issues.
func (p *provider) login(t testing.TB, user mockoidc.User) string {
	t.Helper()
	p.mu.Lock()
	p.QueueUser(user)
	p.mu.Unlock()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const redirect = "http://127.0.0.1/callback"
	resp, err := client.Get(p.AuthorizationEndpoint() + "?" + url.Values{
		"scope": {"openid email"}, "state": {"s"}, "client_id": {p.ClientID}, "response_type": {"code"}, "redirect_uri": {redirect},
	}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize = %s; want a redirect: %v", resp.Status, err)
	}
	resp, err = client.PostForm(p.TokenEndpoint(), url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"client_id": {p.ClientID}, "client_secret": {p.ClientSecret}, "redirect_uri": {redirect},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.IDToken == "" {
		t.Fatalf("token endpoint = %s, %v; want an id_token", resp.Status, err)
	}
	return tr.IDToken
}

// unverifiedUser is a person whose issuer says outright that the email is
// not verified: mockoidc's own user leaves the claim out when it is false.
type unverifiedUser struct{ *mockoidc.MockUser }

type explicitClaims struct {
	*mockoidc.IDTokenClaims
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

func (u unverifiedUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt5.Claims, error) {
	return explicitClaims{IDTokenClaims: base, Email: u.Email}, nil
}

// payload returns the decoded claims of raw, unverified.
func payload(t testing.TB, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// resign returns raw's claims signed by kp under key id kid.
func resign(t testing.TB, raw string, kp *mockoidc.Keypair, kid string) string {
	t.Helper()
	forged := *kp
	forged.Kid = kid
	out, err := forged.SignJWT(jwt5.MapClaims(payload(t, raw)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProviderTokens(t *testing.T) {
	p, other := startProvider(t), startProvider(t)
	kid, err := p.Keypair.KeyID()
	if err != nil {
		t.Fatal(err)
	}
	good := p.login(t, mockoidc.DefaultUser())
	stranger, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	absent := mockoidc.DefaultUser()
	absent.EmailVerified = false
	notVerified := p.login(t, unverifiedUser{mockoidc.DefaultUser()})
	notVerifiedAbsent := p.login(t, absent)
	if v, ok := payload(t, notVerified)["email_verified"]; !ok || v != false {
		t.Fatalf("email_verified = %v, %t; want false, present", v, ok)
	}
	if v, ok := payload(t, notVerifiedAbsent)["email_verified"]; ok {
		t.Fatalf("email_verified = %v; want it absent", v)
	}
	goodPayload := strings.Split(good, ".")[1]
	hmacSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: publicPEM(t, p.Keypair.PublicKey)},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payloadBytes, _ := base64.RawURLEncoding.DecodeString(goodPayload)
	hmacSigned, err := hmacSigner.Sign(payloadBytes)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := hmacSigned.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + goodPayload + "."

	user := mockoidc.DefaultUser()
	person := Claims{Issuer: p.Issuer(), Subject: user.Subject, Email: user.Email}
	tests := []struct {
		name     string
		raw      string
		audience string
		advance  time.Duration
		want     Claims
		err      error
	}{
		{"ID token of the code flow", good, p.ClientID, 0, person, nil},
		{"email_verified false", notVerified, p.ClientID, 0, Claims{}, ErrInvalid},
		{"email_verified absent", notVerifiedAbsent, p.ClientID, 0, Claims{}, ErrInvalid},
		{"expired", good, p.ClientID, p.AccessTTL + leeway + time.Second, Claims{}, ErrInvalid},
		{"wrong audience", good, "another-client", 0, Claims{}, ErrInvalid},
		{"another issuer, same key", other.login(t, mockoidc.DefaultUser()), p.ClientID, 0, Claims{}, ErrInvalid},
		{"key id not in the JWKS", resign(t, good, stranger, "unknown"), p.ClientID, 0, Claims{}, ErrInvalid},
		{"the provider's key id, another key", resign(t, good, stranger, kid), p.ClientID, 0, Claims{}, ErrInvalid},
		{"alg none", none, p.ClientID, 0, Claims{}, ErrInvalid},
		{"HS256 with the public key as secret", hs, p.ClientID, 0, Claims{}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Now().Add(tc.advance)}
			v := newTestVerifier(t, p.Issuer(), tc.audience, clk)
			got, err := v.Verify(context.Background(), tc.raw)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("Verify = %+v, %v; want %+v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestProviderRotation: tokens with key ids the provider does not have are
// refused with at most one JWKS fetch a minute; after the provider rotates
// its key, a token of the new key is accepted once that bound allows a
// fetch, and tokens of the withdrawn key are refused.
func TestProviderRotation(t *testing.T) {
	p := startProvider(t)
	clk := &clock{t: time.Now()}
	v := newTestVerifier(t, p.Issuer(), p.ClientID, clk)
	first := p.login(t, mockoidc.DefaultUser())
	forger, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := func(n int) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			var out []string
			for i := range n {
				out = append(out, resign(t, first, forger, fmt.Sprintf("forged-%d-%d", clk.Now().UnixNano(), i)))
			}
			return out
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		before  func(t testing.TB)
		tokens  func(t *testing.T) []string
		err     error
		want    int // JWKS fetches after the step
	}{
		{"first token", 0, nil, func(*testing.T) []string { return []string{first} }, nil, 1},
		{"forged key ids within the minute", 30 * time.Second, nil, forged(50), ErrInvalid, 1},
		{"forged key ids, the minute over", 30 * time.Second, nil, forged(50), ErrInvalid, 2},
		{"new key within the minute of that fetch", 30 * time.Second, p.rotate, func(t *testing.T) []string { return []string{p.login(t, mockoidc.DefaultUser())} }, ErrInvalid, 2},
		{"new key after the minute", 30 * time.Second, nil, func(t *testing.T) []string { return []string{p.login(t, mockoidc.DefaultUser())} }, nil, 3},
		{"withdrawn key", 0, nil, func(*testing.T) []string { return []string{first} }, ErrInvalid, 3},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		if s.before != nil {
			s.before(t)
		}
		for _, raw := range s.tokens(t) {
			_, err := v.Verify(context.Background(), raw)
			if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
				t.Errorf("%s: Verify err = %v; want %v", s.name, err, s.err)
			}
		}
		if got := p.fetches(); got != s.want {
			t.Errorf("%s: JWKS fetches = %d; want %d", s.name, got, s.want)
		}
	}
}

// TestProviderUnreachable: with the provider down, a user token gets no
// verdict: ErrIssuerUnavailable, never ErrInvalid and never claims.
func TestProviderUnreachable(t *testing.T) {
	p := startProvider(t)
	raw := p.login(t, mockoidc.DefaultUser())
	if err := p.Shutdown(); err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, p.Issuer(), p.ClientID, &clock{t: time.Now()})
	got, err := v.Verify(context.Background(), raw)
	if got != (Claims{}) || !errors.Is(err, ErrIssuerUnavailable) {
		t.Errorf("Verify = %+v, %v; want ErrIssuerUnavailable", got, err)
	}
}
