package localdev_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/openapitest"
)

// env is a running stack with the demo seeded, served over HTTP.
type env struct {
	t     *testing.T
	stack *localdev.Stack
	table string
	url   string
	srv   *httptest.Server
	demo  localdev.Demo
	logs  *bytes.Buffer
	dir   string // the stack's folder (Config.Dir)
}

// clock is a test's movable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// contract checks the exchanges of every stack the tests start.
var contract = sync.OnceValues(openapitest.New)

func newEnv(t *testing.T) *env { return newEnvWith(t, -1, nil) }

// newEnvWith starts a stack with an authorizer cache TTL (negative: the
// template's default), a clock (nil: the real one) and options of its
// DynamoDB client.
func newEnvWith(t *testing.T, cacheTTL time.Duration, now func() time.Time, opts ...func(*dynamodb.Options)) *env {
	t.Helper()
	return newEnvConfig(t, localdev.Config{CacheTTL: cacheTTL, Now: now, ClientOptions: opts})
}

// newEnvConfig starts a stack configured as cfg, on a table, folder, address
// and log of its own.
func newEnvConfig(t *testing.T, cfg localdev.Config) *env {
	t.Helper()
	return startEnv(t, cfg, false)
}

// newFaultyEnv starts a stack whose DynamoDB client fails as opt makes it:
// its exchanges are checked against docs/openapi.yaml as any stack's, but a
// request the document calls invalid may be answered 500 internal_error,
// when what the service reads before it looks at the body failed.
func newFaultyEnv(t *testing.T, opt func(*dynamodb.Options)) *env {
	t.Helper()
	return startEnv(t, localdev.Config{ClientOptions: []func(*dynamodb.Options){opt}}, true)
}

// startEnv starts the stack of newEnvConfig; faults says whether its
// DynamoDB client is made to fail (newFaultyEnv).
func startEnv(t *testing.T, cfg localdev.Config, faults bool) *env {
	t.Helper()
	_, table := dynamotest.NewTable(t)
	var h http.Handler
	var checked *openapitest.Handler // its checks end after the server's last request
	t.Cleanup(func() {
		if checked != nil {
			checked.Close()
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	logs := &bytes.Buffer{}
	cfg.Endpoint, cfg.Table, cfg.Dir, cfg.BaseURL = dynamotest.Endpoint(), table, t.TempDir(), srv.URL
	// The metrics records go to the log, as with make run.
	logw := &lockedWriter{w: logs}
	cfg.Log, cfg.Metrics = slog.New(slog.NewJSONHandler(logw, nil)), logw
	stack, err := localdev.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	// Every exchange of the tests is checked against docs/openapi.yaml.
	checker, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	if faults {
		checker = checker.WithFaults()
	}
	checked = openapitest.NewHandler(checker, stack.Handler, func(err error) { t.Error(err) }, defaults.IssuerPath, defaults.GitHubKeysPath)
	h = checked
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})
	demo, err := stack.SeedDemo(context.Background(), srv.URL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, stack: stack, table: table, url: srv.URL, srv: srv, demo: demo, logs: logs, dir: cfg.Dir}
}

// response is an HTTP answer with its JSON body decoded.
type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (r response) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// do sends a request; headers come in name, value pairs.
func (e *env) do(method, path, bearer, body string, headers ...string) response {
	e.t.Helper()
	return e.send(http.DefaultClient, method, path, bearer, body, headers...)
}

// send sends a request with client.
func (e *env) send(client *http.Client, method, path, bearer, body string, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			e.t.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			e.t.Errorf("%s %s: Content-Type = %q; want application/json", method, path, ct)
		}
	}
	return out
}

// wantError checks an error response's status and code.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("code") != code {
		t.Fatalf("got %d %s; want %d %s (body %s)", r.status, r.str("code"), status, code, r.raw)
	}
	if r.str("message") == "" {
		t.Errorf("error without a message: %s", r.raw)
	}
	if _, ok := r.body["details"].([]any); !ok {
		t.Errorf("error without a details array: %s", r.raw)
	}
}

// items returns every item of the table, as JSON text, by partition key prefix.
func (e *env) items(prefix string) []string {
	e.t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(e.stack.DB, &dynamodb.ScanInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				e.t.Fatal(err)
			}
			if pk, _ := m["PK"].(string); strings.HasPrefix(pk, prefix) {
				b, _ := json.Marshal(m)
				out = append(out, string(b))
			}
		}
	}
	return out
}

// state is every item of the table but the rate-limit counters: a request
// of a valid token counts against its limit however it is answered (API.md
// section 9), and that count is no change the request asked for.
func (e *env) state() []string {
	e.t.Helper()
	var out []string
	for _, it := range e.items("") {
		if !strings.HasPrefix(it, `{"PK":"RATE#`) {
			out = append(out, it)
		}
	}
	return out
}

// lockedWriter lets concurrent handlers log into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
