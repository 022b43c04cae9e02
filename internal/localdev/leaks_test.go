package localdev_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/githubtest"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/scanner"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/token"
)

// from returns a client whose connections come from the loopback address
// ip, which the local gateway takes as the source address.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestIPAllowlist: a token minted with an allowlist works from a source
// address inside it and is 401 from any other (whatever X-Forwarded-For
// says), keeps it on regenerate, and shows it in lists, introspection and
// its token_created event. With the authorizer cache on, an allow cached
// for one address never serves another.
func TestIPAllowlist(t *testing.T) {
	for _, ttl := range []time.Duration{0, 30 * time.Second} {
		t.Run(fmt.Sprint("cache ", ttl), func(t *testing.T) {
			e := newEnvWith(t, ttl, nil)
			base := "/v2/sites/" + e.demo.SiteID + "/tokens"
			r := e.do("POST", base, e.demo.AdminToken, `{"name":"pinned","permissions":{"sites":"read"},"allowedIps":["127.0.0.1/32","2001:DB8::/32","127.0.0.1/32"]}`)
			if r.status != http.StatusCreated {
				t.Fatalf("create = %d %s", r.status, r.raw)
			}
			secret, id := r.str("token"), r.str("apiToken", "id")
			want := []any{"127.0.0.1/32", "2001:db8::/32"}
			if got, _ := r.body["apiToken"].(map[string]any)["allowedIps"].([]any); !slices.Equal(got, want) {
				t.Errorf("created allowedIps = %v; want %v (canonical, each once)", got, want)
			}
			inside, outside := from("127.0.0.1"), from("127.0.0.2")
			if got := e.send(inside, "GET", "/v2/sites", secret, "").status; got != 200 {
				t.Fatalf("from 127.0.0.1: %d; want 200", got)
			}
			// The allow just cached for 127.0.0.1 is not reused for 127.0.0.2.
			wantError(t, e.send(outside, "GET", "/v2/sites", secret, "", "X-Forwarded-For", "127.0.0.1"), 401, "not_authorized")
			intro := e.send(inside, "GET", "/v2/token/introspect", secret, "")
			if got, _ := intro.body["authorization"].(map[string]any)["allowedIps"].([]any); !slices.Equal(got, want) {
				t.Errorf("introspect allowedIps = %v; want %v", got, want)
			}
			newSecret := e.do("POST", base+"/"+id+"/regenerate", e.demo.AdminToken, "").str("token")
			wantError(t, e.send(outside, "GET", "/v2/sites", newSecret, ""), 401, "not_authorized")
			if got := e.send(inside, "GET", "/v2/sites", newSecret, "").status; got != 200 {
				t.Errorf("regenerated secret from 127.0.0.1: %d; want 200", got)
			}
			list := e.do("GET", base, e.demo.AdminToken, "")
			tokens, _ := list.body["apiTokens"].([]any)
			if len(tokens) != 1 || !slices.Equal(tokens[0].(map[string]any)["allowedIps"].([]any), want) {
				t.Errorf("list = %s; want the token with allowedIps %v", list.raw, want)
			}
			created := false
			for _, it := range e.items("AUDIT#") {
				if strings.Contains(it, `"eventSubType":"token_created"`) && strings.Contains(it, id) {
					created = strings.Contains(it, `"allowedIps":["127.0.0.1/32","2001:db8::/32"]`)
				}
			}
			if !created {
				t.Error("token_created does not record the allowlist")
			}
		})
	}
}

// TestIPAllowlistBadInput: an allowlist that is not up to 20 CIDR ranges is
// a 400 validation_error naming the field, and writes nothing.
func TestIPAllowlistBadInput(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/tokens"
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf(`"10.0.%d.0/24"`, i)
	}
	tests := []struct{ name, ips, field string }{
		{"not CIDR", `["203.0.113.7"]`, "allowedIps[0]"},
		{"host bits", `["10.0.0.0/8","203.0.113.7/24"]`, "allowedIps[1]"},
		{"garbage", `["anywhere"]`, "allowedIps[0]"},
		{"too many", "[" + strings.Join(many, ",") + "]", "allowedIps"},
	}
	// The admin's first call binds their invitation: made before the count.
	e.do("GET", base, e.demo.AdminToken, "")
	before := e.state()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", base, e.demo.AdminToken, `{"name":"n","permissions":{"sites":"read"},"allowedIps":`+tc.ips+`}`)
			wantError(t, r, 400, "validation_error")
			d, _ := r.body["details"].([]any)
			if len(d) != 1 || d[0].(map[string]any)["field"] != tc.field {
				t.Errorf("details = %v; want one on %s", r.body["details"], tc.field)
			}
		})
	}
	if r := e.do("POST", base, e.demo.AdminToken, `{"name":"n","permissions":{"sites":"read"},"allowedIps":"10.0.0.0/8"}`); r.status != 400 {
		t.Errorf("allowedIps as a string: %d; want 400", r.status)
	}
	if after := e.state(); !slices.Equal(before, after) {
		t.Errorf("refused creates changed the table")
	}
}

// TestScopeLastUsed: a successful call notes the scope it exercised, on
// the usage write it makes anyway; the token's other scopes stay null.
func TestScopeLastUsed(t *testing.T) {
	e := newEnv(t)
	secret, _ := e.mint("site", `{"sites":"read","forms":"read"}`)
	before := time.Now().UTC().Truncate(time.Millisecond)
	if got := e.do("GET", "/v2/sites", secret, "").status; got != 200 {
		t.Fatalf("GET /v2/sites: %d", got)
	}
	list := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, "")
	used := list.body["apiTokens"].([]any)[0].(map[string]any)["scopeLastUsed"].(map[string]any)
	at, err := time.Parse(time.RFC3339, fmt.Sprint(used["sites:read"]))
	if err != nil || at.Before(before) || used["forms:read"] != nil || len(used) != 2 {
		t.Errorf("scopeLastUsed = %v; want sites:read at the call, forms:read null", used)
	}
}

// report is a signed delivery of GitHub's secret scanning.
type report struct {
	keyID, sig string
	body       []byte
}

func (e *env) report(r report) (int, []map[string]string, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/v2/secret-scanning/github", bytes.NewReader(r.body))
	req.Header.Set("Content-Type", "application/json")
	if r.keyID != "" {
		req.Header.Set(secretscanning.HeaderKeyID, r.keyID)
		req.Header.Set(secretscanning.HeaderSignature, r.sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out []map[string]string
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out, string(raw)
}

// revokedByGitHub reports whether the token id's token_revoked event names
// GitHub as the actor and url as where it was found.
func (e *env) revokedByGitHub(id, url string) bool {
	e.t.Helper()
	for _, it := range e.items("AUDIT#") {
		if strings.Contains(it, id) && strings.Contains(it, `"eventSubType":"token_revoked"`) {
			return strings.Contains(it, `"actor":{"id":"github","type":"partner"}`) && strings.Contains(it, `"url":"`+url+`"`)
		}
	}
	return false
}

// TestSecretScanning: GitHub's signed report revokes each live token it
// names, in its own audited transaction with GitHub as the actor and the
// report's URL; revoked tokens and garbage are false positives; the same
// report delivered again answers alike and writes nothing; a report not
// signed by GitHub's published keys is 401 and changes nothing. No
// reported plaintext is kept or logged.
func TestSecretScanning(t *testing.T) {
	github := githubtest.NewKey(t)
	keys := githubtest.Serve(t, github)
	e := newEnvConfig(t, localdev.Config{CacheTTL: -1, GitHubKeysURL: keys.URL})
	live, liveID := e.mint("site", `{"sites":"read"}`)
	revoked, revokedID := e.mint("site", `{"forms":"read"}`)
	e.do("DELETE", "/v2/sites/"+e.demo.SiteID+"/tokens/"+revokedID, e.demo.AdminToken, "")
	wsLive, _ := e.mint("workspace", `{"workspace_activity":"read"}`)
	garbage := []string{"tss_" + strings.Repeat("A", 46), "not a token", ""}

	type m struct {
		Token  string `json:"token"`
		Type   string `json:"type"`
		URL    string `json:"url"`
		Source string `json:"source"`
	}
	matches := []m{{live, "tokensmith_site_token", "https://github.com/o/r/blob/1/a.txt", "content"},
		{revoked, "tokensmith_site_token", "https://github.com/o/r/blob/1/b.txt", "content"},
		{wsLive, "tokensmith_workspace_token", "https://github.com/o/r/blob/1/c.txt", "commit"}}
	for _, g := range garbage {
		matches = append(matches, m{g, "tokensmith_site_token", "https://github.com/o/r/blob/1/d.txt", "content"})
	}
	body, _ := json.Marshal(matches)
	signed := report{github.ID, github.Sign(t, body), body}

	t.Run("refused reports change nothing", func(t *testing.T) {
		other := githubtest.NewKey(t)
		before := e.state()
		for name, r := range map[string]report{
			"unsigned":           {body: body},
			"wrong key":          {github.ID, other.Sign(t, body), body},
			"tampered body":      {github.ID, signed.sig, bytes.Replace(body, []byte("a.txt"), []byte("z.txt"), 1)},
			"unknown identifier": {other.ID, other.Sign(t, body), body},
		} {
			if status, _, raw := e.report(r); status != 401 || !strings.Contains(raw, `"not_authorized"`) {
				t.Errorf("%s: %d %s; want 401 not_authorized", name, status, raw)
			}
		}
		if after := e.state(); !slices.Equal(before, after) {
			t.Error("a refused report changed the table")
		}
		if got := e.do("GET", "/v2/sites", live, "").status; got != 200 {
			t.Errorf("live token after refused reports: %d; want 200", got)
		}
	})

	want := []string{"true_positive", "false_positive", "true_positive", "false_positive", "false_positive", "false_positive"}
	events := func() int { return len(e.items("AUDIT#")) }
	var after int
	for delivery := 1; delivery <= 2; delivery++ {
		status, out, raw := e.report(signed)
		if status != 200 || len(out) != len(matches) {
			t.Fatalf("delivery %d: %d %s", delivery, status, raw)
		}
		for i, f := range out {
			if f["label"] != want[i] || f["token_hash"] != token.Hash(matches[i].Token) || f["token_type"] != matches[i].Type {
				t.Errorf("delivery %d, match %d: %v; want %s with the token's SHA-256 and type", delivery, i, f, want[i])
			}
		}
		if delivery == 1 {
			after = events()
		} else if n := events(); n != after {
			t.Errorf("the second delivery wrote %d more events; want none", n-after)
		}
	}
	for _, s := range []string{live, wsLive} {
		wantError(t, e.do("GET", "/v2/token/introspect", s, ""), 401, "not_authorized")
	}
	// The live site token's revocation is audited with GitHub as the actor
	// and the URL where it was found.
	if !e.revokedByGitHub(liveID, "https://github.com/o/r/blob/1/a.txt") {
		t.Error("no token_revoked event with actor partner github and the report's url")
	}
	for _, it := range e.items("") {
		for _, s := range []string{live, revoked, wsLive} {
			if strings.Contains(it, s) {
				t.Errorf("the table holds a reported secret: %s", it)
			}
		}
	}
	for _, s := range []string{live, revoked, wsLive} {
		if strings.Contains(e.logs.String(), s) {
			t.Error("the log holds a reported secret")
		}
	}

	t.Run("malformed reports", func(t *testing.T) {
		before := e.state()
		for name, b := range map[string]string{
			"not JSON":      `[{"token":`,
			"an object":     `{"token":"x"}`,
			"token not str": `[{"token":5,"type":"t","url":"u"}]`,
			"no token":      `[{"type":"t","url":"u"}]`,
			"url too long":  `[{"token":"x","type":"t","url":"` + strings.Repeat("u", 2049) + `"}]`,
		} {
			status, _, raw := e.report(report{github.ID, github.Sign(t, []byte(b)), []byte(b)})
			if status != 400 || !strings.Contains(raw, `"code":"`) {
				t.Errorf("%s: %d %s; want a 400 JSON error", name, status, raw)
			}
		}
		if after := e.state(); !slices.Equal(before, after) {
			t.Error("a malformed report changed the table")
		}
	})
}

// TestSecretScanningKeysUnavailable: a report that cannot be checked, as
// GitHub's keys are unreachable, answer other than 200 or take longer than
// the fetch's timeout, is 503 service_unavailable with Retry-After (GitHub
// delivers it again), counted as failed so that the alarm pages, and
// revokes nothing.
func TestSecretScanningKeysUnavailable(t *testing.T) {
	down := githubtest.Serve(t, githubtest.NewKey(t))
	down.SetDown(true)
	missing := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(missing.Close)
	const timeout = 300 * time.Millisecond
	github := githubtest.NewKey(t)
	for _, tc := range []struct{ name, url string }{
		{"unreachable", "http://127.0.0.1:1/keys"},
		{"answers 503", down.URL},
		{"answers 404", missing.URL},
		{"hangs past the timeout", githubtest.Hang(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvConfig(t, localdev.Config{CacheTTL: -1, GitHubKeysURL: tc.url, GitHubKeysTimeout: timeout})
			secret, _ := e.mint("site", `{"sites":"read"}`)
			body, _ := json.Marshal([]secretscanning.Match{{Token: secret, Type: secretscanning.TypeSiteToken, URL: "https://github.com/o/r", Source: "content"}})
			before := e.state()
			start := time.Now()
			r := e.do("POST", "/v2/secret-scanning/github", "", string(body),
				secretscanning.HeaderKeyID, github.ID, secretscanning.HeaderSignature, github.Sign(t, body))
			// Within the fetch's timeout, well short of the default one.
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("answered in %s; want within the fetch's timeout, %s", took, timeout)
			}
			wantError(t, r, http.StatusServiceUnavailable, "service_unavailable")
			if got, want := r.header.Get("Retry-After"), "60"; got != want {
				t.Errorf("Retry-After = %q; want %q", got, want)
			}
			if after := e.state(); !slices.Equal(before, after) {
				t.Error("a report that could not be checked changed the table")
			}
			if got := e.do("GET", "/v2/sites", secret, "").status; got != 200 {
				t.Errorf("token after an unverifiable report: %d; want 200", got)
			}
			if got := metricsIn(t, e.logs.String())["secretscanning Decisions failed"]; got != 1 {
				t.Errorf("%d failed leak reports in the metrics; want 1", got)
			}
		})
	}
}

// TestDevLeakReport: with no GITHUB_KEYS_URL the stack checks reports
// against its local key, published in GitHub's shape; a report printed by
// `tokenctl dev-leak-report` (package scanner), posted with its headers and
// body, revokes the token with GitHub as the actor and the
// report's URL. A report signed by another folder's key is 401.
func TestDevLeakReport(t *testing.T) {
	e := newEnv(t)
	secret, id := e.mint("site", `{"sites":"read"}`)
	const url = "https://github.com/o/r/blob/1/.env"
	d, err := scanner.Report(e.dir, secret, url)
	if err != nil {
		t.Fatal(err)
	}
	post := func(d secretscanning.Delivery) report {
		return report{d.Headers[secretscanning.HeaderKeyID], d.Headers[secretscanning.HeaderSignature], []byte(d.Body)}
	}

	// The keys document names the key that signed it.
	keys := e.do("GET", defaults.GitHubKeysPath, "", "")
	published, _ := keys.body["public_keys"].([]any)
	if len(published) != 1 || published[0].(map[string]any)["key_identifier"] != d.Headers[secretscanning.HeaderKeyID] {
		t.Errorf("keys document = %s; want one key, %s", keys.raw, d.Headers[secretscanning.HeaderKeyID])
	}

	before := e.state()
	otherDir := t.TempDir()
	if _, err := scanner.Keys(otherDir); err != nil {
		t.Fatal(err)
	}
	other, err := scanner.Report(otherDir, secret, url)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, raw := e.report(post(other)); status != 401 {
		t.Errorf("report signed by another key: %d %s; want 401", status, raw)
	}
	if after := e.state(); !slices.Equal(before, after) {
		t.Error("a refused report changed the table")
	}

	status, out, raw := e.report(post(d))
	if status != 200 || len(out) != 1 || out[0]["label"] != "true_positive" || out[0]["token_hash"] != token.Hash(secret) ||
		out[0]["token_type"] != secretscanning.TypeSiteToken {
		t.Fatalf("dev-leak-report's report: %d %s; want 200 with one true_positive %s", status, raw, secretscanning.TypeSiteToken)
	}
	wantError(t, e.do("GET", "/v2/sites", secret, ""), 401, "not_authorized")
	if !e.revokedByGitHub(id, url) {
		t.Error("no token_revoked event with actor partner github and the report's url")
	}
}
