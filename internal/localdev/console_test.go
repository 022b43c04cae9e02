package localdev_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/chromium"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
)

// browserTimeout bounds the whole browser run.
const browserTimeout = 8 * time.Minute

// TestConsoleInBrowser runs the console's end-to-end tests (console/e2e.mjs)
// in Chromium against this stack: sign-in through the local issuer's page,
// the token flows and their effect on the data API, the audit log, members,
// the member's and the free workspace's views, axe-core on every page, and no
// secret left in the page's storage. The stack's clock is shifted back while
// site tokens are seeded, so that the list has one expiring within 30 days
// and one with scopes unused for more than 30 days. It needs Chromium
// (internal/chromium: CHROMIUM, one on PATH, or the one fetched from npm)
// and console/node_modules (npm ci), as `make test` and CI provide; without them it fails rather than pass untested. -short skips
// it. CONSOLE_SHOTS=dir (relative to the repository) saves screenshots of
// the main pages there.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "console"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("console/node_modules is not installed (make test runs npm ci): %v", err)
	}
	browser, err := chromium.Find(os.Stderr)
	if err != nil {
		t.Fatalf("no Chromium to drive: %v", err)
	}

	// The stack runs on real time, shifted while the test seeds a token
	// generated long ago: its expiry is near enough for the list to flag it.
	clk := &shiftedClock{}
	e := newEnvWith(t, -1, clk.Now)
	// The admin's first call, at the real time, binds their invitation
	// (invitation_accepted) before the clock moves back.
	if r := e.do("GET", "/v2/me", e.demo.AdminToken, ""); r.status != http.StatusOK {
		t.Fatalf("the admin's first call: %d %s", r.status, r.raw)
	}
	clk.Shift(-(365 - expiringInDays) * 24 * time.Hour)
	old := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, `{"name":"Old integration","permissions":{"forms":"read"}}`)
	// A token generated 40 days ago, with an allowlist, whose CMS scopes were
	// never used and whose sites:read is used now: the list marks the CMS
	// scopes unused and offers a narrower token.
	clk.Shift(-unusedForDays * 24 * time.Hour)
	unused := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken,
		`{"name":"Unused integration","permissions":{"sites":"read","cms":"read_write"},"allowedIps":["127.0.0.0/8","::1/128"]}`)
	clk.Shift(0)
	if old.status != http.StatusCreated || unused.status != http.StatusCreated {
		t.Fatalf("seeding old tokens: %d %s; %d %s", old.status, old.raw, unused.status, unused.raw)
	}
	if r := e.do("GET", "/v2/sites", unused.str("token"), ""); r.status != http.StatusOK {
		t.Fatalf("using the unused token's sites:read: %d %s", r.status, r.raw)
	}
	ctx := context.Background()
	free, err := e.stack.Operator.CreateWorkspace(ctx, "magrathea", "Magrathea", tokensmith.PlanFree)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.stack.Operator.AddMember(ctx, free.ID, "", localdev.DemoAdminEmail, tokensmith.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"baseUrl": e.url, "siteId": e.demo.SiteID, "workspaceId": e.demo.WorkspaceID, "freeWorkspaceId": free.ID,
		"adminEmail": localdev.DemoAdminEmail, "memberEmail": localdev.DemoMemberEmail,
		"adminToken": e.demo.AdminToken, "expiringToken": "Old integration", "expiringInDays": expiringInDays,
		"unusedToken": "Unused integration", "issuer": e.stack.Issuer.URL(), "clientId": issuer.DefaultClientID,
	}
	b, _ := json.Marshal(cfg)
	stackFile := filepath.Join(t.TempDir(), "stack.json")
	if err := os.WriteFile(stackFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	run, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(run, "node", "e2e.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "E2E_CONFIG="+stackFile, "CHROMIUM="+browser)
	if shots := os.Getenv("CONSOLE_SHOTS"); shots != "" {
		if !filepath.IsAbs(shots) {
			shots = filepath.Join(dir, "..", shots) // relative to the repository, as make runs it
		}
		cmd.Env = append(cmd.Env, "SHOTS="+shots)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m, ok := strings.CutPrefix(line, "METRICS "); ok {
			writeConsoleMetrics(t, m)
		}
		t.Log(line)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("console/e2e.mjs: %v", err)
	}
}

// expiringInDays is how soon the token TestConsoleInBrowser seeds expires.
const expiringInDays = 25

// unusedForDays is how long ago TestConsoleInBrowser seeds the token whose
// CMS scopes were never used: more than the 30 days the console waits.
const unusedForDays = 40

// shiftedClock is real time moved by a shift the test sets.
type shiftedClock struct {
	mu    sync.Mutex
	shift time.Duration
}

func (c *shiftedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.shift)
}

// Shift sets how far the clock is from real time.
func (c *shiftedClock) Shift(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shift = d
}

// writeConsoleMetrics keeps the browser run's measurements for cmd/bench
// (docs/BENCHMARKS.md) when CONSOLE_METRICS names a file.
func writeConsoleMetrics(t *testing.T, m string) {
	if f := os.Getenv("CONSOLE_METRICS"); f != "" {
		if err := os.WriteFile(f, []byte(m+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// TestConsoleServed holds what `make run` serves at /console/: the page, its
// configuration pointing at the local issuer, the policy headers, and the
// script gzipped for a browser that accepts it, as API Gateway does.
func TestConsoleServed(t *testing.T) {
	e := newEnv(t)
	get := func(path, encoding string) *http.Response {
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.Header.Set("Accept-Encoding", encoding)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	page := get("/console/", "identity")
	html, _ := io.ReadAll(page.Body)
	if page.StatusCode != 200 || page.Header.Get("Cache-Control") != "no-store" || !strings.Contains(string(html), "<script type=\"module\" src=\"assets/app-") {
		t.Fatalf("GET /console/ = %d %q %.200s", page.StatusCode, page.Header.Get("Cache-Control"), html)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := page.Header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	var cfg map[string]string
	if err := json.NewDecoder(get("/console/config.json", "").Body).Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["issuer"] != e.stack.Issuer.URL() || cfg["redirectUri"] != e.url+"/console/" || cfg["apiBaseUrl"] != e.url {
		t.Errorf("config.json = %v", cfg)
	}
	script := regexp.MustCompile(`assets/app-[A-Z0-9]+\.js`).FindString(string(html))
	for _, tc := range []struct{ encoding, want string }{{"gzip, deflate, br", "gzip"}, {"identity", ""}} {
		r := get("/console/"+script, tc.encoding)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != tc.want || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s (Accept-Encoding %s) = %d, Content-Encoding %q, Cache-Control %q", script, tc.encoding, r.StatusCode, r.Header.Get("Content-Encoding"), r.Header.Get("Cache-Control"))
		}
		if tc.want == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := io.ReadAll(zr)
			if len(plain) <= len(body) {
				t.Errorf("gzip body %d bytes, plain %d", len(body), len(plain))
			}
		}
	}
}
