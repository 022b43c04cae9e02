package localdev_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
)

// The console's sign-in, as a browser runs it against make run, without the
// browser: the authorization request with an S256 challenge, the seeded admin
// chosen on the local issuer's page, the code exchanged with the verifier,
// and the ID token used on a management route through the local gateway.
func TestConsoleSignIn(t *testing.T) {
	e := newEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(req *http.Request, want int) *http.Response {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != want {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s %s = %d %s; want %d", req.Method, req.URL, resp.StatusCode, b, want)
		}
		return resp
	}
	get := func(u string, want int) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		return send(req, want)
	}
	post := func(u string, form url.Values, want int) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return send(req, want)
	}
	follow := func(resp *http.Response) string {
		t.Helper()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("%s: no Location: %v", resp.Request.URL, err)
		}
		return loc.String()
	}

	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	callback := e.url + "/console/callback"
	state := rand.Text()
	authorize := url.Values{
		"client_id": {issuer.DefaultClientID}, "redirect_uri": {callback}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {state}, "nonce": {rand.Text()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	page := follow(get(e.stack.Issuer.URL()+"/authorize?"+authorize.Encode(), http.StatusFound))

	// The page lists the seeded admin as a button of a form that posts the
	// request id; the test posts what that button posts.
	body, _ := io.ReadAll(get(page, http.StatusOK).Body)
	form := regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">\s*<input type="hidden" name="id" value="([^"]+)">.*?</form>`).FindSubmatch(body)
	if form == nil {
		t.Fatalf("the sign-in page has no form:\n%s", body)
	}
	button := `<button type="submit" name="email" value="` + localdev.DemoAdminEmail + `"`
	if !regexp.MustCompile(regexp.QuoteMeta(button)).Match(form[0]) {
		t.Fatalf("the sign-in page's first form has no button for %s:\n%s", localdev.DemoAdminEmail, form[0])
	}
	action, _ := url.Parse(page)
	action = action.ResolveReference(&url.URL{Path: html.UnescapeString(string(form[1]))})
	signedIn := post(action.String(), url.Values{"id": {html.UnescapeString(string(form[2]))}, "email": {localdev.DemoAdminEmail}}, http.StatusSeeOther)
	back, err := url.Parse(follow(get(follow(signedIn), http.StatusFound)))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != callback || back.Query().Get("state") != state {
		t.Fatalf("redirected to %s; want %s with state %s", back, callback, state)
	}

	resp := post(e.stack.Issuer.URL()+"/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "code_verifier": {verifier},
		"client_id": {issuer.DefaultClientID}, "redirect_uri": {callback},
	}, http.StatusOK)
	var tokens struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tokens); err != nil {
		t.Fatal(err)
	}

	r := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", tokens.IDToken, "")
	if r.status != http.StatusOK {
		t.Fatalf("GET tokens with the signed-in admin's ID token = %d %s; want 200", r.status, r.raw)
	}
	// The flow's token names the same person as the demo's admin token.
	if got, want := subject(t, tokens.IDToken), issuer.SubjectFor(localdev.DemoAdminEmail); got != want {
		t.Errorf("sub = %q; want %q", got, want)
	}
	if got, want := subject(t, e.demo.AdminToken), issuer.SubjectFor(localdev.DemoAdminEmail); got != want {
		t.Errorf("demo admin token sub = %q; want %q", got, want)
	}
}

// subject is the sub of a JWT, unverified.
func subject(t *testing.T, raw string) string {
	t.Helper()
	parts := regexp.MustCompile(`^[^.]+\.([^.]+)\.[^.]+$`).FindStringSubmatch(raw)
	if parts == nil {
		t.Fatalf("%q is not a JWT", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Sub
}
