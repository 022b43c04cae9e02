package usertoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/tokensmith/tokensmith/internal/keyage"
)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// key is a signing key of a test issuer.
type key struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
	typ  string // the typ header; "" is JWT
}

func newKey(t testing.TB, kid string, alg jose.SignatureAlgorithm) key {
	t.Helper()
	var priv crypto.Signer
	var err error
	if alg == jose.ES256 {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key{kid: kid, alg: alg, priv: priv}
}

// sign returns a JWT of claims signed with k.
func (k key) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	typ := k.typ
	if typ == "" {
		typ = "JWT"
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if k.kid != "" {
		opts = opts.WithHeader("kid", k.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// testIssuer is an OpenID Provider the test controls: it serves a discovery
// document whose jwks_uri is not where Cognito keeps its keys, publishes the
// keys it is given, counts what is fetched, and can go down.
type testIssuer struct {
	*httptest.Server
	mu          sync.Mutex
	keys        []key
	down        bool
	claimed     string // the issuer the discovery document names; "" is its own URL
	discoveries int
	jwksFetches int
}

func newTestIssuer(t testing.TB, keys ...key) *testIssuer {
	iss := &testIssuer{keys: keys}
	iss.Server = httptest.NewServer(http.HandlerFunc(iss.serve))
	t.Cleanup(iss.Close)
	return iss
}

func (iss *testIssuer) serve(w http.ResponseWriter, r *http.Request) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		iss.discoveries++
	case "/oauth2/v3/certs":
		iss.jwksFetches++
	}
	if iss.down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	var body any
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		claimed := iss.claimed
		if claimed == "" {
			claimed = iss.URL
		}
		body = map[string]any{"issuer": claimed, "jwks_uri": iss.URL + "/oauth2/v3/certs",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"}}
	case "/oauth2/v3/certs":
		set := jose.JSONWebKeySet{}
		for _, k := range iss.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
		}
		body = set
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// set changes the issuer under its lock.
func (iss *testIssuer) set(f func(*testIssuer)) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	f(iss)
}

// fetches returns how many discovery documents and JWKS were asked for.
func (iss *testIssuer) fetches() (discoveries, jwks int) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.discoveries, iss.jwksFetches
}

const audience = "client-1"

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// claims returns valid claims of iss for a person at now.
func claims(iss string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "sub": "person-1", "aud": audience, "email": "ada@example.com", "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func with(c map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for ck, cv := range c {
		out[ck] = cv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func newTestVerifier(t testing.TB, issuer, audience string, clk *clock) *Verifier {
	t.Helper()
	v, err := NewVerifier(Config{Issuer: issuer, Audience: audience, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// unsigned returns a token of claims with the header given and an empty
// signature.
func unsigned(header map[string]any, c map[string]any) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// hs256 returns a token of claims signed with HMAC-SHA256 under secret: the
// algorithm confusion that uses a published public key as the secret.
func hs256(t testing.TB, kid string, secret []byte, c map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func publicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestVerify(t *testing.T) {
	rs, es := newKey(t, "rs-1", jose.RS256), newKey(t, "es-1", jose.ES256)
	iss := newTestIssuer(t, rs, es)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	good := claims(iss.URL, start)
	stranger := newKey(t, "rs-1", jose.RS256) // the issuer's key id, another key
	unknown := newKey(t, "not-published", jose.RS256)
	noKid := rs
	noKid.kid = ""
	atJWT, appATJWT := rs, rs
	atJWT.typ, appATJWT.typ = "at+jwt", "application/at+JWT"
	person := Claims{Issuer: iss.URL, Subject: "person-1", Email: "ada@example.com"}
	tests := []struct {
		name string
		raw  string
		want Claims
		err  error
	}{
		{"RS256", rs.sign(t, good), person, nil},
		{"ES256", es.sign(t, good), person, nil},
		{"no key id, checked against every key", noKid.sign(t, good), person, nil},
		{"email_verified as the string true", rs.sign(t, with(good, "email_verified", "true")), person, nil},
		{"email_verified false", rs.sign(t, with(good, "email_verified", false)), Claims{}, ErrInvalid},
		{"email_verified absent", rs.sign(t, with(good, "email_verified", nil)), Claims{}, ErrInvalid},
		{"email_verified the string false", rs.sign(t, with(good, "email_verified", "false")), Claims{}, ErrInvalid},
		{"email absent", rs.sign(t, with(good, "email", nil)), Claims{}, ErrInvalid},
		{"expired within the clock-skew leeway", rs.sign(t, with(good, "exp", start.Add(-leeway).Unix())), person, nil},
		{"expired", rs.sign(t, with(good, "exp", start.Add(-leeway-time.Second).Unix())), Claims{}, ErrInvalid},
		{"no exp", rs.sign(t, with(good, "exp", nil)), Claims{}, ErrInvalid},
		{"not valid yet", rs.sign(t, with(good, "nbf", start.Add(leeway+time.Second).Unix())), Claims{}, ErrInvalid},
		{"issued in the future", rs.sign(t, with(good, "iat", start.Add(leeway+time.Second).Unix())), Claims{}, ErrInvalid},
		{"no sub", rs.sign(t, with(good, "sub", nil)), Claims{}, ErrInvalid},
		{"audience among several, azp this client", rs.sign(t, with(with(good, "aud", []string{"client-2", audience}), "azp", audience)), person, nil},
		{"audience among several, azp another client", rs.sign(t, with(with(good, "aud", []string{"client-2", audience}), "azp", "client-2")), Claims{}, ErrInvalid},
		{"audience among several, no azp", rs.sign(t, with(good, "aud", []string{"client-2", audience})), Claims{}, ErrInvalid},
		{"one audience, azp this client", rs.sign(t, with(good, "azp", audience)), person, nil},
		{"access token, typ at+jwt", atJWT.sign(t, good), Claims{}, ErrInvalid},
		{"access token, typ application/at+jwt", appATJWT.sign(t, good), Claims{}, ErrInvalid},
		{"access token, token_use access", rs.sign(t, with(good, "token_use", "access")), Claims{}, ErrInvalid},
		{"ID token, token_use id", rs.sign(t, with(good, "token_use", "id")), person, nil},
		{"wrong audience", rs.sign(t, with(good, "aud", "client-2")), Claims{}, ErrInvalid},
		{"another issuer", rs.sign(t, with(good, "iss", "https://other.example.com")), Claims{}, ErrInvalid},
		{"the issuer's key id, another key", stranger.sign(t, good), Claims{}, ErrInvalid},
		{"key id not in the JWKS", unknown.sign(t, good), Claims{}, ErrInvalid},
		{"alg none", unsigned(map[string]any{"alg": "none", "kid": rs.kid}, good), Claims{}, ErrInvalid},
		{"alg none, no key id", unsigned(map[string]any{"alg": "none"}, good), Claims{}, ErrInvalid},
		{"HS256 with the RSA public key as secret", hs256(t, rs.kid, publicPEM(t, rs.priv.Public()), good), Claims{}, ErrInvalid},
		{"HS256 with the EC public key as secret", hs256(t, es.kid, publicPEM(t, es.priv.Public()), good), Claims{}, ErrInvalid},
		{"not a JWT", "abc.def.ghi", Claims{}, ErrInvalid},
		{"JWS JSON serialization", `{"payload":"e30","signatures":[]}`, Claims{}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tc.raw)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("Verify = %+v, %v; want %+v, %v", got, err, tc.want, tc.err)
			}
		})
	}
	// One discovery and one JWKS: the unknown key ids came within the
	// minute of that fetch.
	if d, j := iss.fetches(); d != 1 || j != 1 {
		t.Errorf("fetches = %d discoveries, %d JWKS; want 1, 1", d, j)
	}
}

// TestDiscoveryIsLazy: building a Verifier asks nothing of the issuer, so
// the authorizer starts while the issuer is down; a verification then fails
// closed, the next few seconds of verifications fail without asking again,
// and one after that tries again.
func TestDiscoveryIsLazy(t *testing.T) {
	rs := newKey(t, "rs-1", jose.RS256)
	iss := newTestIssuer(t, rs)
	iss.set(func(i *testIssuer) { i.down = true })
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	if d, j := iss.fetches(); d != 0 || j != 0 {
		t.Fatalf("NewVerifier fetched %d discoveries, %d JWKS; want none", d, j)
	}
	raw := rs.sign(t, claims(iss.URL, start))

	steps := []struct {
		name            string
		advance         time.Duration
		down            bool
		err             error
		wantDiscoveries int
	}{
		{"first verification, issuer down", 0, true, ErrIssuerUnavailable, 1},
		{"within the retry bound, issuer back", 4 * time.Second, false, ErrIssuerUnavailable, 1},
		{"after the retry bound", time.Second, false, nil, 2},
		{"warm, issuer down again", 30 * time.Minute, true, nil, 2},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		iss.set(func(i *testIssuer) { i.down = s.down })
		_, err := v.Verify(context.Background(), raw)
		if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Errorf("%s: Verify err = %v; want %v", s.name, err, s.err)
		}
		if d, _ := iss.fetches(); d != s.wantDiscoveries {
			t.Errorf("%s: discoveries = %d; want %d", s.name, d, s.wantDiscoveries)
		}
	}
}

// TestDiscoveryNamesAnotherIssuer: a discovery document that names another
// issuer is not trusted: user tokens fail closed.
func TestDiscoveryNamesAnotherIssuer(t *testing.T) {
	rs := newKey(t, "rs-1", jose.RS256)
	iss := newTestIssuer(t, rs)
	iss.set(func(i *testIssuer) { i.claimed = "https://evil.example.com" })
	v := newTestVerifier(t, iss.URL, audience, &clock{t: start})
	_, err := v.Verify(context.Background(), rs.sign(t, claims(iss.URL, start)))
	if !errors.Is(err, ErrIssuerUnavailable) {
		t.Errorf("Verify err = %v; want ErrIssuerUnavailable", err)
	}
	if _, j := iss.fetches(); j != 0 {
		t.Errorf("JWKS fetches = %d; want 0", j)
	}
}

// TestUnknownKeyRefetchBound: tokens with key ids the issuer does not have
// are refused (401), and make at most one JWKS fetch a minute however many
// arrive.
func TestUnknownKeyRefetchBound(t *testing.T) {
	rs := newKey(t, "rs-1", jose.RS256)
	iss := newTestIssuer(t, rs)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	if _, err := v.Verify(context.Background(), rs.sign(t, claims(iss.URL, start))); err != nil {
		t.Fatal(err)
	}
	forger := newKey(t, "", jose.RS256)
	steps := []struct {
		name    string
		advance time.Duration
		tokens  int
		want    int // JWKS fetches after the step
	}{
		{"within the minute of the first fetch", 30 * time.Second, 100, 1},
		{"the minute over, one unknown key id refetches", 30 * time.Second, 1, 2},
		{"a hundred more within the minute", 59 * time.Second, 100, 2},
		{"the minute over, a hundred more", time.Second, 100, 3},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		for i := range s.tokens {
			forger.kid = fmt.Sprintf("forged-%s-%d", s.name, i)
			_, err := v.Verify(context.Background(), forger.sign(t, claims(iss.URL, clk.Now())))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: Verify err = %v; want ErrInvalid", s.name, err)
			}
		}
		if _, j := iss.fetches(); j != s.want {
			t.Errorf("%s: JWKS fetches = %d; want %d", s.name, j, s.want)
		}
	}
}

// TestUnknownKeyWhileIssuerDown: an unknown key id may be a key the issuer
// just rotated in, so when the refetch fails there is no verdict (500),
// while tokens of known keys keep being verified from the cache.
func TestUnknownKeyWhileIssuerDown(t *testing.T) {
	rs := newKey(t, "rs-1", jose.RS256)
	iss := newTestIssuer(t, rs)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	known := rs.sign(t, claims(iss.URL, start))
	if _, err := v.Verify(context.Background(), known); err != nil {
		t.Fatal(err)
	}
	iss.set(func(i *testIssuer) { i.down = true })
	clk.Add(refreshInterval)
	tests := []struct {
		name string
		raw  string
		err  error
	}{
		{"unknown key id, refetch fails", newKey(t, "rs-2", jose.RS256).sign(t, claims(iss.URL, start)), ErrIssuerUnavailable},
		{"unknown key id within the minute", newKey(t, "rs-3", jose.RS256).sign(t, claims(iss.URL, start)), ErrInvalid},
		{"known key id", known, nil},
	}
	for _, tc := range tests {
		_, err := v.Verify(context.Background(), tc.raw)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: Verify err = %v; want %v", tc.name, err, tc.err)
		}
	}
}

// TestKeyRotation: after the issuer rotates, a token of its new key is
// accepted once the refresh bound allows a fetch, and a token of the key it
// withdrew stops being accepted when the keys are fetched again.
func TestKeyRotation(t *testing.T) {
	old, next := newKey(t, "k-1", jose.RS256), newKey(t, "k-2", jose.ES256)
	iss := newTestIssuer(t, old)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, old.sign(t, claims(iss.URL, start))); err != nil {
		t.Fatal(err)
	}
	iss.set(func(i *testIssuer) { i.keys = []key{next} })
	steps := []struct {
		name    string
		advance time.Duration
		signer  key
		err     error
		want    int // JWKS fetches after the step
	}{
		{"new key within the minute", 30 * time.Second, next, ErrInvalid, 1},
		{"new key after the minute", 30 * time.Second, next, nil, 2},
		{"withdrawn key", 0, old, ErrInvalid, 2},
		{"new key, warm", time.Hour - 2*time.Minute, next, nil, 2},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		_, err := v.Verify(ctx, s.signer.sign(t, claims(iss.URL, clk.Now())))
		if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Errorf("%s: Verify err = %v; want %v", s.name, err, s.err)
		}
		if _, j := iss.fetches(); j != s.want {
			t.Errorf("%s: JWKS fetches = %d; want %d", s.name, j, s.want)
		}
	}
}

// TestKeysAge: keys are fetched again after maxKeyAge, so a key the issuer
// withdrew without rotating in a new one stops being accepted; when that
// refetch fails, the keys in hand keep serving.
func TestKeysAge(t *testing.T) {
	k1, k2 := newKey(t, "k-1", jose.RS256), newKey(t, "k-2", jose.RS256)
	iss := newTestIssuer(t, k1, k2)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, k1.sign(t, claims(iss.URL, start))); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		advance time.Duration
		edit    func(*testIssuer)
		err     error
		want    int // JWKS fetches after the step
	}{
		{"young keys, warm", maxKeyAge - time.Second, func(i *testIssuer) {}, nil, 1},
		{"aged, issuer down: cached keys serve", time.Second, func(i *testIssuer) { i.down = true }, nil, 2},
		{"within the minute: no new attempt", 30 * time.Second, func(i *testIssuer) {}, nil, 2},
		{"issuer back without k-2", 30 * time.Second, func(i *testIssuer) { i.down = false; i.keys = []key{k1} }, ErrInvalid, 3},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		iss.set(s.edit)
		_, err := v.Verify(ctx, k2.sign(t, claims(iss.URL, clk.Now())))
		if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Errorf("%s: Verify err = %v; want %v", s.name, err, s.err)
		}
		if _, j := iss.fetches(); j != s.want {
			t.Errorf("%s: JWKS fetches = %d; want %d", s.name, j, s.want)
		}
	}
}

// TestStaleKeysWhileIssuerDown: while refetching the keys fails, the keys
// in hand keep verifying for up to keyage.MaxStale after they were
// fetched, then nothing is verified (500) until a refetch succeeds, so a
// key the issuer withdrew stops being accepted within a day.
func TestStaleKeysWhileIssuerDown(t *testing.T) {
	k := newKey(t, "k-1", jose.RS256)
	iss := newTestIssuer(t, k)
	clk := &clock{t: start}
	v := newTestVerifier(t, iss.URL, audience, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, k.sign(t, claims(iss.URL, start))); err != nil {
		t.Fatal(err)
	}
	iss.set(func(i *testIssuer) { i.down = true })
	steps := []struct {
		name string
		at   time.Duration // since the keys were fetched
		down bool
		err  error
		want int // JWKS fetches after the step
	}{
		{"aged, refetch fails: the keys serve", keyage.MaxAge, true, nil, 2},
		{"half a minute before the cap, refetch fails", keyage.MaxStale - 30*time.Second, true, nil, 3},
		{"at the cap, within the minute of the last try", keyage.MaxStale, true, ErrIssuerUnavailable, 3},
		{"past the cap, refetch fails", keyage.MaxStale + time.Minute, true, ErrIssuerUnavailable, 4},
		{"a week on, refetch fails", 7 * 24 * time.Hour, true, ErrIssuerUnavailable, 5},
		{"issuer back", 7*24*time.Hour + time.Minute, false, nil, 6},
	}
	for _, s := range steps {
		clk.Set(start.Add(s.at))
		iss.set(func(i *testIssuer) { i.down = s.down })
		_, err := v.Verify(ctx, k.sign(t, claims(iss.URL, clk.Now())))
		if !errors.Is(err, s.err) || (s.err == nil) != (err == nil) {
			t.Errorf("%s: Verify err = %v; want %v", s.name, err, s.err)
		}
		if _, j := iss.fetches(); j != s.want {
			t.Errorf("%s: JWKS fetches = %d; want %d", s.name, j, s.want)
		}
	}
}

// cpuTime is the CPU time the process has used: on a shared machine the
// wall time of a benchmark says more about the neighbours than the code.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyWarm is one user-token verification with the discovery
// document and the keys cached, of a token verified before (answered from
// the verifier's memory): no network call.
func BenchmarkVerifyWarm(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		b.Run(string(alg), func(b *testing.B) {
			k := newKey(b, "k-1", alg)
			iss := newTestIssuer(b, k)
			v := newTestVerifier(b, iss.URL, audience, &clock{t: start})
			raw := k.sign(b, claims(iss.URL, start))
			ctx := context.Background()
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			b.StopTimer()
			if d, j := iss.fetches(); d != 1 || j != 1 {
				b.Errorf("fetches = %d discoveries, %d JWKS; want 1, 1", d, j)
			}
		})
	}
}

// TestDocumentsBounded: a discovery document or a JWKS longer than
// maxDocument fails to be read (errTooLarge) however it is read, go-oidc's
// whole read of the discovery document included; one within it is read
// whole.
func TestDocumentsBounded(t *testing.T) {
	big := `{"issuer":"x","pad":"` + strings.Repeat("a", maxDocument) + `"}`
	bigJWKS := `{"keys":[` + strings.Repeat(" ", maxDocument) + `]}`
	small := `{"issuer":"x"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		case "/jwks":
			io.WriteString(w, bigJWKS)
		default:
			io.WriteString(w, small)
		}
	}))
	defer srv.Close()
	k := newKeySet(srv.URL, srv.Client(), time.Now)
	read := func(path string) ([]byte, error) {
		resp, err := k.client.Get(srv.URL + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	if _, err := read("/big"); !errors.Is(err, errTooLarge) {
		t.Errorf("reading %d bytes = %v; want %v", len(big), err, errTooLarge)
	}
	if body, err := read("/small"); err != nil || string(body) != small {
		t.Errorf("reading a small document = %q, %v", body, err)
	}
	k.jwksURL = srv.URL + "/jwks"
	if _, err := k.fetchKeys(context.Background(), time.Now()); !errors.Is(err, errTooLarge) {
		t.Errorf("fetching a JWKS of %d bytes = %v; want %v", len(bigJWKS), err, errTooLarge)
	}
}
