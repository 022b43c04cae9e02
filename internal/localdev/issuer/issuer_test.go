package issuer_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
)

var people = []issuer.Person{
	{Name: "Workspace admin", Email: "admin@example.com"},
	{Name: "Workspace member", Email: "member@example.com"},
	{Email: "given@example.com", Subject: "given-subject"},
}

// clock is a settable clock for the issuer's request expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is an issuer served at /dev-issuer of a test server, as make run
// serves it, with the console's redirect URIs on the same server.
type env struct {
	srv      *httptest.Server
	iss      *issuer.Issuer
	cfg      issuer.Config
	clock    *clock
	redirect string
	client   *http.Client // does not follow redirects
}

func newEnv(t *testing.T, keyFile string) *env {
	t.Helper()
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	clk := &clock{now: time.Now()}
	cfg := issuer.Config{
		URL:          srv.URL + "/dev-issuer",
		KeyFile:      keyFile,
		RedirectURIs: []string{srv.URL + "/console/", srv.URL + "/console/callback"},
		People:       people,
		Now:          clk.Now,
	}
	iss, err := issuer.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(iss.Path()+"/", iss)
	handler = mux
	return &env{
		srv: srv, iss: iss, cfg: cfg, clock: clk, redirect: srv.URL + "/console/callback",
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

func keyFile(t *testing.T) string { return filepath.Join(t.TempDir(), "dev-issuer.pem") }

type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(v))
	return pkce{v, base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorizeParams is a good authorization request of the console.
func (e *env) authorizeParams(p pkce) url.Values {
	return url.Values{
		"client_id": {issuer.DefaultClientID}, "redirect_uri": {e.redirect}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"state-" + rand.Text()}, "nonce": {"nonce-" + rand.Text()},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"},
	}
}

func (e *env) get(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := e.client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *env) post(t *testing.T, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := e.client.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func location(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	u, err := resp.Location()
	if err != nil {
		t.Fatalf("%s: status %d, no Location: %v", resp.Request.URL, resp.StatusCode, err)
	}
	return u
}

// authorize sends the authorization request and returns the sign-in page's URL.
func (e *env) authorize(t *testing.T, params url.Values) *url.URL {
	t.Helper()
	resp := e.get(t, e.cfg.URL+"/authorize?"+params.Encode())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET authorize: status %d; want 302: %s", resp.StatusCode, body(t, resp))
	}
	return location(t, resp)
}

// signIn does what the page's buttons and email form do: post the email with
// the request id, then follow the issuer's redirects to the client's.
func (e *env) signIn(t *testing.T, page *url.URL, email string) *url.URL {
	t.Helper()
	resp := e.post(t, page.String(), url.Values{"id": {page.Query().Get("id")}, "email": {email}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST login: status %d; want 303: %s", resp.StatusCode, body(t, resp))
	}
	resp = e.get(t, location(t, resp).String())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET callback: status %d; want 302: %s", resp.StatusCode, body(t, resp))
	}
	return location(t, resp)
}

type tokenResponse struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
	Status       int    `json:"-"`
}

func (e *env) exchange(t *testing.T, form url.Values) tokenResponse {
	t.Helper()
	form.Set("grant_type", "authorization_code")
	resp := e.post(t, e.cfg.URL+"/oauth/token", form)
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatalf("decode token response (status %d): %v", resp.StatusCode, err)
	}
	tr.Status = resp.StatusCode
	return tr
}

// codeFor runs the flow up to the code for email.
func (e *env) codeFor(t *testing.T, p pkce, email string) string {
	t.Helper()
	back := e.signIn(t, e.authorize(t, e.authorizeParams(p)), email)
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("redirect %s has no code", back)
	}
	return code
}

func (e *env) exchangeForm(code string, p pkce) url.Values {
	return url.Values{"code": {code}, "code_verifier": {p.verifier}, "client_id": {issuer.DefaultClientID}, "redirect_uri": {e.redirect}}
}

type idClaims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Nonce         string `json:"nonce"`
}

// verify checks raw as a relying party does, through discovery.
func (e *env) verify(t *testing.T, raw string) (*oidc.IDToken, idClaims, error) {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), e.srv.Client())
	provider, err := oidc.NewProvider(ctx, e.cfg.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	tok, err := provider.Verifier(&oidc.Config{ClientID: issuer.DefaultClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, idClaims{}, err
	}
	var c idClaims
	if err := tok.Claims(&c); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return tok, c, nil
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t, keyFile(t))
	resp := e.get(t, e.cfg.URL+"/.well-known/openid-configuration")
	var d struct {
		Issuer                string   `json:"issuer"`
		Authorization         string   `json:"authorization_endpoint"`
		Token                 string   `json:"token_endpoint"`
		JWKS                  string   `json:"jwks_uri"`
		EndSession            string   `json:"end_session_endpoint"`
		Revocation            string   `json:"revocation_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
		IDTokenSigningAlgs    []string `json:"id_token_signing_alg_values_supported"`
		TokenEndpointAuthMeth []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatalf("decode discovery (status %d): %v", resp.StatusCode, err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"issuer", d.Issuer, e.cfg.URL},
		{"authorization_endpoint", d.Authorization, e.cfg.URL + "/authorize"},
		{"token_endpoint", d.Token, e.cfg.URL + "/oauth/token"},
		{"jwks_uri", d.JWKS, e.cfg.URL + issuer.JWKSPath},
		{"end_session_endpoint", d.EndSession, e.cfg.URL + "/end_session"},
		{"revocation_endpoint", d.Revocation, e.cfg.URL + "/revoke"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q; want %q", tc.name, tc.got, tc.want)
		}
	}
	if !slices.Equal(d.CodeChallengeMethods, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v; want [S256]", d.CodeChallengeMethods)
	}
	if !slices.Equal(d.IDTokenSigningAlgs, []string{"ES256"}) {
		t.Errorf("id_token_signing_alg_values_supported = %v; want [ES256]", d.IDTokenSigningAlgs)
	}
}

func TestSignInPage(t *testing.T) {
	e := newEnv(t, keyFile(t))
	page := e.authorize(t, e.authorizeParams(newPKCE()))
	if got, want := page.Path, "/dev-issuer/login"; got != want {
		t.Fatalf("authorize redirects to %s; want %s", got, want)
	}
	resp := e.get(t, page.String())
	html := body(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET login: status %d; want 200", resp.StatusCode)
	}
	wants := []string{`<html lang="en">`, "<main>", "<h1>", `<label for="email">Email</label>`, `<input id="email" name="email" type="email"`,
		"no password", `href="/dev-issuer/login.css"`}
	for _, p := range people {
		// The button's content, and so its accessible name, is the email.
		wants = append(wants, `value="`+p.Email+`"`, `>`+p.Email+`</button>`)
	}
	for _, want := range wants {
		if !strings.Contains(html, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"<script", "style=", "<style"} {
		if strings.Contains(html, unwanted) {
			t.Errorf("sign-in page holds %q; the CSP forbids inline script and style", unwanted)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self' " + e.srv.URL, "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q; want it to hold %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q; want no script source", csp)
	}
	css := e.get(t, e.srv.URL+"/dev-issuer/login.css")
	if got := css.Header.Get("Content-Type"); css.StatusCode != http.StatusOK || !strings.HasPrefix(got, "text/css") {
		t.Errorf("GET login.css: status %d, Content-Type %q; want 200 text/css", css.StatusCode, got)
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, keyFile(t))
	tests := []struct {
		name, email, wantSub string
	}{
		{"seeded person's button", "admin@example.com", issuer.SubjectFor("admin@example.com")},
		{"typed email", "someone.new@example.org", issuer.SubjectFor("someone.new@example.org")},
		{"person with a given subject", "given@example.com", "given-subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKCE()
			params := e.authorizeParams(p)
			back := e.signIn(t, e.authorize(t, params), tc.email)
			if got, want := back.Scheme+"://"+back.Host+back.Path, e.redirect; got != want {
				t.Errorf("redirected to %s; want %s", got, want)
			}
			if got, want := back.Query().Get("state"), params.Get("state"); got != want {
				t.Errorf("state = %q; want %q", got, want)
			}
			tr := e.exchange(t, e.exchangeForm(back.Query().Get("code"), p))
			if tr.Status != http.StatusOK || tr.IDToken == "" || tr.AccessToken == "" {
				t.Fatalf("token: status %d, error %q; want 200 with an ID and an access token", tr.Status, tr.Error)
			}
			tok, c, err := e.verify(t, tr.IDToken)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if tok.Subject != tc.wantSub || c.Email != tc.email || c.EmailVerified == nil || !*c.EmailVerified {
				t.Errorf("sub, email, email_verified = %q, %q, %v; want %q, %q, true", tok.Subject, c.Email, c.EmailVerified, tc.wantSub, tc.email)
			}
			if !slices.Equal(tok.Audience, []string{issuer.DefaultClientID}) || tok.Issuer != e.cfg.URL {
				t.Errorf("aud, iss = %v, %q; want [%s], %q", tok.Audience, tok.Issuer, issuer.DefaultClientID, e.cfg.URL)
			}
			if got, want := c.Nonce, params.Get("nonce"); got != want {
				t.Errorf("nonce = %q; want %q", got, want)
			}
			if got := time.Until(tok.Expiry); got < 50*time.Minute || got > issuer.DefaultTokenTTL {
				t.Errorf("ID token expires in %v; want about %v", got, issuer.DefaultTokenTTL)
			}

			req, _ := http.NewRequest(http.MethodGet, e.cfg.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			defer resp.Body.Close()
			var info struct{ Sub, Email string }
			if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.Sub != tc.wantSub || info.Email != tc.email {
				t.Errorf("userinfo = %+v, %v (status %d); want sub %q, email %q", info, err, resp.StatusCode, tc.wantSub, tc.email)
			}
		})
	}
}

func TestAuthorizeRefused(t *testing.T) {
	e := newEnv(t, keyFile(t))
	tests := []struct {
		name   string
		change func(url.Values)
		// wantRedirectError is the error sent back to the (registered)
		// redirect URI; empty means the issuer answers 400 itself, because
		// the redirect URI cannot be trusted.
		wantRedirectError string
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "someone-else") }, ""},
		{"redirect URI not registered", func(v url.Values) { v.Set("redirect_uri", e.srv.URL+"/elsewhere") }, ""},
		{"redirect URI of another origin", func(v url.Values) { v.Set("redirect_uri", "http://evil.example/console/callback") }, ""},
		{"plain challenge", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"challenge without a method", func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request"},
		{"missing challenge", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request"},
		{"implicit flow", func(v url.Values) { v.Set("response_type", "id_token") }, "unauthorized_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := e.authorizeParams(newPKCE())
			tc.change(params)
			resp := e.get(t, e.cfg.URL+"/authorize?"+params.Encode())
			if tc.wantRedirectError == "" {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Errorf("status %d, Location %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d; want 302 to the client with an error", resp.StatusCode)
			}
			back := location(t, resp)
			// An implicit response would carry its answer in the fragment.
			answer := back.Query()
			if back.Fragment != "" {
				answer, _ = url.ParseQuery(back.Fragment)
			}
			if !strings.HasPrefix(back.String(), e.redirect) || answer.Get("error") != tc.wantRedirectError ||
				answer.Get("code") != "" || answer.Get("state") != params.Get("state") {
				t.Errorf("redirected to %s; want %s with error=%s, the state and no code", back, e.redirect, tc.wantRedirectError)
			}
		})
	}
}

func TestTokenRefused(t *testing.T) {
	e := newEnv(t, keyFile(t))
	tests := []struct {
		name       string
		exchange   func(t *testing.T, code string, p pkce) tokenResponse
		wantStatus int
		wantError  string
	}{
		{"wrong code verifier", func(t *testing.T, code string, p pkce) tokenResponse {
			return e.exchange(t, e.exchangeForm(code, newPKCE()))
		}, http.StatusBadRequest, "invalid_grant"},
		{"no code verifier", func(t *testing.T, code string, p pkce) tokenResponse {
			f := e.exchangeForm(code, p)
			f.Del("code_verifier")
			return e.exchange(t, f)
		}, http.StatusBadRequest, "invalid_request"},
		{"reused code", func(t *testing.T, code string, p pkce) tokenResponse {
			if first := e.exchange(t, e.exchangeForm(code, p)); first.Status != http.StatusOK {
				t.Fatalf("first exchange: status %d, error %q; want 200", first.Status, first.Error)
			}
			return e.exchange(t, e.exchangeForm(code, p))
		}, http.StatusBadRequest, "invalid_grant"},
		{"code retried after a wrong verifier", func(t *testing.T, code string, p pkce) tokenResponse {
			e.exchange(t, e.exchangeForm(code, newPKCE()))
			return e.exchange(t, e.exchangeForm(code, p))
		}, http.StatusBadRequest, "invalid_grant"},
		{"unknown client", func(t *testing.T, code string, p pkce) tokenResponse {
			f := e.exchangeForm(code, p)
			f.Set("client_id", "someone-else")
			return e.exchange(t, f)
		}, http.StatusUnauthorized, "invalid_client"},
		{"other redirect URI", func(t *testing.T, code string, p pkce) tokenResponse {
			f := e.exchangeForm(code, p)
			f.Set("redirect_uri", e.srv.URL+"/console/")
			return e.exchange(t, f)
		}, http.StatusBadRequest, "invalid_grant"},
		{"made-up code", func(t *testing.T, code string, p pkce) tokenResponse {
			return e.exchange(t, e.exchangeForm("not-a-code", p))
		}, http.StatusBadRequest, "invalid_grant"},
		{"expired sign-in", func(t *testing.T, code string, p pkce) tokenResponse {
			e.clock.Add(11 * time.Minute)
			return e.exchange(t, e.exchangeForm(code, p))
		}, http.StatusBadRequest, "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKCE()
			tr := tc.exchange(t, e.codeFor(t, p, "member@example.com"), p)
			if tr.Status != tc.wantStatus || tr.Error != tc.wantError || tr.IDToken != "" {
				t.Errorf("status %d, error %q, ID token %t; want %d, %q, none", tr.Status, tr.Error, tr.IDToken != "", tc.wantStatus, tc.wantError)
			}
		})
	}
}

func TestLoginRefused(t *testing.T) {
	e := newEnv(t, keyFile(t))
	tests := []struct {
		name  string
		id    func(t *testing.T) string
		email string
		want  string
	}{
		{"not an email", func(t *testing.T) string {
			return e.authorize(t, e.authorizeParams(newPKCE())).Query().Get("id")
		}, "Admin <admin@example.com>", "Type an email address"},
		{"unknown request", func(*testing.T) string { return "made-up" }, "admin@example.com", "expired"},
		{"request already signed in", func(t *testing.T) string {
			page := e.authorize(t, e.authorizeParams(newPKCE()))
			e.signIn(t, page, "admin@example.com")
			return page.Query().Get("id")
		}, "member@example.com", "expired"},
		{"expired request", func(t *testing.T) string {
			id := e.authorize(t, e.authorizeParams(newPKCE())).Query().Get("id")
			e.clock.Add(11 * time.Minute)
			return id
		}, "admin@example.com", "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.post(t, e.cfg.URL+"/login", url.Values{"id": {tc.id(t)}, "email": {tc.email}})
			if got := body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(got, tc.want) {
				t.Errorf("status %d, page %q; want 400 saying %q", resp.StatusCode, got, tc.want)
			}
		})
	}
}

func TestEndSession(t *testing.T) {
	e := newEnv(t, keyFile(t))
	tests := []struct{ name, redirect, wantStatus, wantLocation string }{
		{"registered", e.srv.URL + "/console/", "302", e.srv.URL + "/console/?state=s"},
		{"not registered", "http://evil.example/", "400", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.get(t, e.cfg.URL+"/end_session?"+url.Values{
				"client_id": {issuer.DefaultClientID}, "post_logout_redirect_uri": {tc.redirect}, "state": {"s"},
			}.Encode())
			if got := resp.Status[:3]; got != tc.wantStatus || resp.Header.Get("Location") != tc.wantLocation {
				t.Errorf("status %s, Location %q; want %s, %q", got, resp.Header.Get("Location"), tc.wantStatus, tc.wantLocation)
			}
		})
	}
}

func TestSign(t *testing.T) {
	file := keyFile(t)
	e := newEnv(t, file)
	now := time.Now()

	// The flow's token, to compare the shape with.
	p := newPKCE()
	flow := e.exchange(t, e.exchangeForm(e.codeFor(t, p, "admin@example.com"), p))
	flowKid := kid(t, flow.IDToken)

	tests := []struct {
		name         string
		claims       issuer.Claims
		wantSub      string
		wantVerified bool
	}{
		{"verified", issuer.Claims{Email: "admin@example.com"}, issuer.SubjectFor("admin@example.com"), true},
		{"given subject", issuer.Claims{Email: "admin@example.com", Subject: "sub-1"}, "sub-1", true},
		{"unverified", issuer.Claims{Email: "member@example.com", Unverified: true}, issuer.SubjectFor("member@example.com"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// tokenctl signs offline from the same configuration.
			raw, err := issuer.Sign(issuer.Config{URL: e.cfg.URL, KeyFile: file}, tc.claims, now, time.Hour)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			tok, c, err := e.verify(t, raw)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if tok.Subject != tc.wantSub || c.Email != tc.claims.Email || c.EmailVerified == nil || *c.EmailVerified != tc.wantVerified {
				t.Errorf("sub, email, email_verified = %q, %q, %v; want %q, %q, %t", tok.Subject, c.Email, c.EmailVerified, tc.wantSub, tc.claims.Email, tc.wantVerified)
			}
			if got := kid(t, raw); got != flowKid {
				t.Errorf("kid = %q; want the flow's %q", got, flowKid)
			}
			if !tok.IssuedAt.Equal(now.Truncate(time.Second)) || !tok.Expiry.Equal(now.Add(time.Hour).Truncate(time.Second)) {
				t.Errorf("iat, exp = %v, %v; want %v, %v", tok.IssuedAt, tok.Expiry, now, now.Add(time.Hour))
			}
			same, err := e.iss.Sign(tc.claims, now, time.Hour)
			if err != nil || claimsOf(t, same) != claimsOf(t, raw) {
				t.Errorf("Issuer.Sign claims = %s, %v; want Sign's %s", claimsOf(t, same), err, claimsOf(t, raw))
			}
		})
	}
}

func TestSignRefused(t *testing.T) {
	e := newEnv(t, keyFile(t))
	tests := []struct {
		name    string
		cfg     issuer.Config
		claims  issuer.Claims
		wantErr error
	}{
		{"no key file", issuer.Config{URL: e.cfg.URL, KeyFile: keyFile(t)}, issuer.Claims{Email: "admin@example.com"}, issuer.ErrNoKey},
		{"no email", e.cfg, issuer.Claims{Subject: "s"}, issuer.ErrNoEmail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := issuer.Sign(tc.cfg, tc.claims, time.Now(), time.Hour); !errors.Is(err, tc.wantErr) {
				t.Errorf("Sign = %v; want %v", err, tc.wantErr)
			}
			if _, err := os.Stat(tc.cfg.KeyFile); err != nil {
				if !errors.Is(err, os.ErrNotExist) || tc.wantErr != issuer.ErrNoKey {
					t.Errorf("stat key file: %v", err)
				}
			} else if tc.wantErr == issuer.ErrNoKey {
				t.Errorf("Sign created %s; want no key written", tc.cfg.KeyFile)
			}
		})
	}
}

func TestKeyFile(t *testing.T) {
	file := keyFile(t)
	first := newEnv(t, file)
	raw, err := first.iss.Sign(issuer.Claims{Email: "admin@example.com"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	tests := []struct {
		name    string
		keyFile string
		wantOK  bool
	}{
		{"restart with the same key file", file, true},
		{"fresh issuer with another key file", keyFile(t), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.keyFile)
			// The token claims the new server's issuer, so only the key differs.
			restamped, err := issuer.Sign(issuer.Config{URL: e.cfg.URL, KeyFile: file}, issuer.Claims{Email: "admin@example.com"}, time.Now(), time.Hour)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			_, _, err = e.verify(t, restamped)
			if got := err == nil; got != tc.wantOK {
				t.Errorf("verify = %v; want ok %t", err, tc.wantOK)
			}
		})
	}
	if _, _, err := first.verify(t, raw); err != nil {
		t.Errorf("verify with the first issuer: %v", err)
	}
}

func TestNewRefused(t *testing.T) {
	good := issuer.Config{URL: "http://127.0.0.1:3000/dev-issuer", KeyFile: keyFile(t), RedirectURIs: []string{"http://127.0.0.1:3000/console/"}}
	tests := []struct {
		name   string
		change func(*issuer.Config)
	}{
		{"relative URL", func(c *issuer.Config) { c.URL = "/dev-issuer" }},
		{"not a loopback address", func(c *issuer.Config) { c.URL = "http://tokensmith.example/dev-issuer" }},
		{"no key file", func(c *issuer.Config) { c.KeyFile = "" }},
		{"no redirect URI", func(c *issuer.Config) { c.RedirectURIs = nil }},
		{"relative redirect URI", func(c *issuer.Config) { c.RedirectURIs = []string{"/console/"} }},
		{"person without email", func(c *issuer.Config) { c.People = []issuer.Person{{Name: "Nobody"}} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			if _, err := issuer.New(cfg); !errors.Is(err, issuer.ErrConfig) {
				t.Errorf("New = %v; want %v", err, issuer.ErrConfig)
			}
		})
	}
	if _, err := issuer.New(good); err != nil {
		t.Errorf("New(good) = %v; want nil", err)
	}
}

func kid(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return jws.Signatures[0].Header.KeyID
}

func claimsOf(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode claims: %v", err)
	}
	return string(b)
}

// TestRefreshAndRevoke: like Cognito, a sign-in gets a refresh token
// (without offline_access), which renews the ID token until it is revoked
// at the revocation endpoint; another client cannot revoke it.
func TestRefreshAndRevoke(t *testing.T) {
	e := newEnv(t, keyFile(t))
	p := newPKCE()
	tr := e.exchange(t, e.exchangeForm(e.codeFor(t, p, "admin@example.com"), p))
	if tr.Status != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("sign-in: status %d, error %q, refresh token %q; want one", tr.Status, tr.Error, tr.RefreshToken)
	}
	refresh := func() tokenResponse {
		resp := e.post(t, e.cfg.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {issuer.DefaultClientID}})
		var out tokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("decode refresh (status %d): %v", resp.StatusCode, err)
		}
		out.Status = resp.StatusCode
		return out
	}
	revoke := func(clientID string) int {
		resp := e.post(t, e.cfg.URL+"/revoke", url.Values{"token": {tr.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {clientID}})
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, step := range []struct {
		revokeAs   string // "" for no revocation before the refresh
		wantStatus int
	}{
		{"", http.StatusOK},
		{"another-client", http.StatusOK},
		{issuer.DefaultClientID, http.StatusBadRequest},
	} {
		if step.revokeAs != "" {
			if got := revoke(step.revokeAs); got != http.StatusOK && got != http.StatusUnauthorized {
				t.Errorf("step %d: revoke as %s: status %d", i, step.revokeAs, got)
			}
		}
		got := refresh()
		if got.Status != step.wantStatus {
			t.Errorf("step %d: refresh = %d %q; want %d", i, got.Status, got.Error, step.wantStatus)
		}
		if got.Status == http.StatusOK {
			if _, c, err := e.verify(t, got.IDToken); err != nil || c.Email != "admin@example.com" {
				t.Errorf("step %d: refreshed ID token = %+v, %v; want admin@example.com's", i, c, err)
			}
		}
	}
}
