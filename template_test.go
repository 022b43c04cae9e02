package tokensmith_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/store"

	"gopkg.in/yaml.v3"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
	"github.com/tokensmith/tokensmith/internal/upstream"
)

// functionDir maps a template logical id (TokensFunction) to its package
// under functions/ (tokens).
func functionDir(logicalID string) string {
	return strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}

func load(t *testing.T) *samtemplate.Template {
	t.Helper()
	tmpl, err := samtemplate.Load()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// TestRoutesMatchTemplate holds template.yaml's API events to the route
// table: every route is there, on its function, with the authorizer unless
// public, and nothing else is.
func TestRoutesMatchTemplate(t *testing.T) {
	fns, err := load(t).Functions()
	if err != nil {
		t.Fatal(err)
	}
	type ev struct{ fn, method, path, auth string }
	var inTemplate []ev
	for id, f := range fns {
		for _, e := range f.Events {
			if e.Type == "Api" {
				inTemplate = append(inTemplate, ev{functionDir(id), e.Properties.Method, e.Properties.Path, e.Properties.Auth.Authorizer})
			}
		}
	}
	api, err := load(t).API()
	if err != nil {
		t.Fatal(err)
	}
	for path, methods := range api.DefinitionBody.Paths {
		for method, op := range methods {
			fn := functionNamed(t, op.Integration.URI)
			auth := ""
			if len(op.Security) == 1 && op.Security[0]["NONE"] != nil {
				auth = "NONE"
			}
			inTemplate = append(inTemplate, ev{fn, gatewayMethod(method), path, auth})
		}
	}
	var inTable []ev
	for _, r := range route.Resources() {
		auth := ""
		if r.Auth == route.Public {
			auth = "NONE"
		}
		inTable = append(inTable, ev{r.Function, r.Method, r.Path, auth})
	}
	key := func(e []ev) []string {
		var out []string
		for _, x := range e {
			out = append(out, x.method+" "+x.path+" -> "+x.fn+" auth="+x.auth)
		}
		sort.Strings(out)
		return out
	}
	got, want := key(inTemplate), key(inTable)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("template events:\n%s\nroute table:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// gatewayMethod is an OpenAPI method key of the API's definition as the
// route table names it: API Gateway's any-method extension is ANY.
func gatewayMethod(key string) string {
	if key == "x-amazon-apigateway-any-method" {
		return "ANY"
	}
	return strings.ToUpper(key)
}

// TestUpstreamRoutesReachTheProxy holds every upstream route of the
// repository's declaration to the one resource that serves it in
// template.yaml: route.Proxy, among route.Resources.
func TestUpstreamRoutesReachTheProxy(t *testing.T) {
	d, err := upstream.Built(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Routes()) == 0 {
		t.Fatal("upstreams.yaml declares no route")
	}
	for _, r := range d.Routes() {
		if res := r.Resource(); res != route.Proxy || !slices.Contains(route.Resources(), res) {
			t.Errorf("%s: served by %v; want route.Proxy", r.Op, res)
		}
	}
}

// functionNamed returns the package under functions/ that an integration
// URI of the API's definition invokes by its fixed name
// (function:${AWS::StackName}-<name>-${StackSuffix}).
func functionNamed(t *testing.T, uri yaml.Node) string {
	t.Helper()
	var sub []any
	if err := uri.Decode(&sub); err != nil || len(sub) == 0 {
		t.Fatalf("integration uri is not a !Sub list: %v", err)
	}
	m := regexp.MustCompile(`:function:\$\{AWS::StackName\}-([a-z]+)-\$\{StackSuffix\}/invocations$`).FindStringSubmatch(fmt.Sprint(sub[0]))
	if m == nil {
		t.Fatalf("integration uri %v names no function by its fixed name", sub[0])
	}
	return m[1]
}

// TestFunctionsMatchTemplate holds functions/ to the template: one package
// per function, built by the Makefile, whose tests hold its wiring to the
// template's environment (eventstest.CheckEnv) and IAM policy
// (eventstest.CheckPolicy).
func TestFunctionsMatchTemplate(t *testing.T) {
	fns, err := load(t).Functions()
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob("functions/*/main.go")
	if len(dirs) != len(fns) {
		t.Errorf("%d packages under functions/, %d functions in the template", len(dirs), len(fns))
	}
	routed := map[string]bool{}
	for _, r := range route.Table {
		routed[r.Function] = true
	}
	for id, f := range fns {
		t.Run(id, func(t *testing.T) {
			dir := functionDir(id)
			if _, err := os.Stat(filepath.Join("functions", dir, "main.go")); err != nil {
				t.Fatalf("no functions/%s for %s: %v", dir, id, err)
			}
			// The target may have prerequisites (the console's bundle).
			target := regexp.MustCompile(`(?m)^build-` + id + `:[^\n]*\n\t\$\(LAMBDA_BUILD\) -o \$\(ARTIFACTS_DIR\)/bootstrap \./functions/` + dir + `\n`)
			if !target.Match(makefile) {
				t.Errorf("Makefile lacks a build-%s target building ./functions/%s", id, dir)
			}
			tests, err := os.ReadFile(filepath.Join("functions", dir, "main_test.go"))
			if err != nil {
				t.Fatalf("functions/%s has no main_test.go: %v", dir, err)
			}
			for _, check := range []string{"eventstest.CheckEnv(", "eventstest.CheckPolicy(", `"` + id + `"`} {
				if !strings.Contains(string(tests), check) {
					t.Errorf("functions/%s/main_test.go does not call %s for %s", dir, check, id)
				}
			}
			apiEvents := 0
			for _, e := range f.Events {
				if e.Type == "Api" {
					apiEvents++
				}
			}
			if apiEvents > 0 && !routed[dir] {
				t.Errorf("%s has API events but serves no route of the route table", id)
			}
		})
	}
}

func TestAuthorizerAndGatewayResponses(t *testing.T) {
	api, err := load(t).API()
	if err != nil {
		t.Fatal(err)
	}
	a, ok := api.Auth.Authorizers[api.Auth.DefaultAuthorizer]
	if !ok || a.FunctionPayloadType != "REQUEST" {
		t.Fatalf("default authorizer = %+v; want a REQUEST authorizer", a)
	}
	// The cache key must hold the route, or a cached decision would be
	// reused for routes the credential's scopes do not allow, and the source
	// address, or one would be reused from an address a token's allowlist
	// refuses.
	if !slices.Equal(a.Identity.Headers, authorizer.IdentityHeaders) || !slices.Equal(a.Identity.Context, authorizer.IdentityContext) {
		t.Errorf("identity sources = %v %v; want %v %v", a.Identity.Headers, a.Identity.Context, authorizer.IdentityHeaders, authorizer.IdentityContext)
	}
	for _, c := range []string{"httpMethod", "resourcePath", "identity.sourceIp"} {
		if !slices.Contains(authorizer.IdentityContext, c) {
			t.Errorf("authorizer.IdentityContext lacks %s", c)
		}
	}
	if h := api.GatewayResponses["THROTTLED"].ResponseParameters.Headers["Retry-After"]; h == "" {
		t.Error("THROTTLED sets no Retry-After")
	}
	want := map[string]int{"UNAUTHORIZED": 401, "ACCESS_DENIED": 403, "MISSING_AUTHENTICATION_TOKEN": 404, "THROTTLED": 429, "DEFAULT_4XX": 0, "DEFAULT_5XX": 0}
	for typ, status := range want {
		gr, ok := api.GatewayResponses[typ]
		if !ok {
			t.Errorf("no gateway response %s", typ)
			continue
		}
		if status != 0 && gr.Status(0) != status {
			t.Errorf("%s status = %s; want %d", typ, gr.StatusCode, status)
		}
		body := strings.NewReplacer("$context.authorizer.code", tokensmith.EMISSINGSCOPES, "$context.authorizer.message", "m").Replace(gr.ResponseTemplates["application/json"])
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []any  `json:"details"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message == "" || e.Details == nil {
			t.Errorf("%s body %q is not an API error: %v", typ, body, err)
			continue
		}
		if s := httpapi.Status(e.Code); status != 0 && s != status {
			t.Errorf("%s answers %d with code %s, which API.md gives status %d", typ, status, e.Code, s)
		}
	}
}

// TestEventsCoverFunctions holds events/ to the template: every function has
// a sample event for `sam local invoke`, every event names a function, and
// every event has its golden answer.
func TestEventsCoverFunctions(t *testing.T) {
	fns, err := load(t).Functions()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("events/*-*.json")
	dirs := map[string]bool{}
	for id := range fns {
		dirs[functionDir(id)] = true
	}
	covered := map[string]int{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		fn, _, _ := strings.Cut(name, "-")
		if !dirs[fn] {
			t.Errorf("%s names no function of the template", f)
		}
		if _, err := os.Stat(filepath.Join("events", "golden", name+".json")); err != nil {
			t.Errorf("%s has no golden answer", f)
		}
		covered[fn]++
	}
	for id := range fns {
		if covered[functionDir(id)] == 0 {
			t.Errorf("%s has no sample event in events/", id)
		}
	}
	var env map[string]map[string]string
	b, err := os.ReadFile("events/env.json")
	if err != nil || json.Unmarshal(b, &env) != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	for id, f := range fns {
		for k := range f.Environment.Variables {
			if _, ok := env[id][k]; !ok {
				t.Errorf("events/env.json sets no %s for %s", k, id)
			}
		}
	}
}

// TestExpiryStream holds the stream consumer's event source to what it
// handles: TTL removals of token records only, with partial batch failures
// and a destination for records that keep failing.
func TestExpiryStream(t *testing.T) {
	fns, err := load(t).Functions()
	if err != nil {
		t.Fatal(err)
	}
	f, ok := fns["TokenExpiryFunction"]
	if !ok {
		t.Fatal("no TokenExpiryFunction")
	}
	var found bool
	for _, e := range f.Events {
		if e.Type != "DynamoDB" {
			continue
		}
		found = true
		p := e.Properties
		if strings.Join(p.FunctionResponseTypes, ",") != "ReportBatchItemFailures" {
			t.Errorf("FunctionResponseTypes = %v", p.FunctionResponseTypes)
		}
		if p.DestinationConfig.OnFailure.Destination == "" {
			t.Error("no OnFailure destination")
		}
		if len(p.FilterCriteria.Filters) != 1 {
			t.Fatalf("filters = %+v; want one", p.FilterCriteria.Filters)
		}
		var pattern struct {
			EventName    []string `json:"eventName"`
			UserIdentity struct {
				Type        []string `json:"type"`
				PrincipalID []string `json:"principalId"`
			} `json:"userIdentity"`
			DynamoDB struct {
				Keys struct {
					SK struct {
						S []struct {
							Prefix string `json:"prefix"`
						} `json:"S"`
					} `json:"SK"`
				} `json:"Keys"`
			} `json:"dynamodb"`
		}
		if err := json.Unmarshal([]byte(p.FilterCriteria.Filters[0].Pattern), &pattern); err != nil {
			t.Fatalf("filter pattern: %v", err)
		}
		if fmt.Sprint(pattern.EventName, pattern.UserIdentity.Type, pattern.UserIdentity.PrincipalID) != "[REMOVE] [Service] [dynamodb.amazonaws.com]" ||
			len(pattern.DynamoDB.Keys.SK.S) != 1 || !isTokenPrefix(pattern.DynamoDB.Keys.SK.S[0].Prefix) {
			t.Errorf("filter pattern %+v does not pass exactly TTL removals of token records", pattern)
		}
	}
	if !found {
		t.Error("TokenExpiryFunction has no DynamoDB stream event")
	}
}

// isTokenPrefix reports whether p is exactly the prefix of token records'
// sort keys as the store writes them: every key starting with p is a token
// record's, and p without its last character is not such a prefix.
func isTokenPrefix(p string) bool {
	return p != "" && store.IsTokenSortKey(p) && !store.IsTokenSortKey(p[:len(p)-1])
}

// TestFunctionsLinkNoLocalCode holds every Lambda to what it runs in AWS: no
// local development code, no template parser, no YAML parser. tokenctl, the
// operator's tool, may use the dev issuer, the local GitHub key and the
// local defaults but not the local stack.
func TestFunctionsLinkNoLocalCode(t *testing.T) {
	const module = "github.com/tokensmith/tokensmith/"
	dirs, _ := filepath.Glob("functions/*")
	if len(dirs) == 0 {
		t.Fatal("no functions/*")
	}
	forbidden := func(pkg string) bool {
		return strings.HasPrefix(pkg, module+"internal/localdev") || pkg == module+"internal/samtemplate" ||
			pkg == module+"internal/eventstest" || pkg == module+"internal/dynamotest" || strings.HasPrefix(pkg, "gopkg.in/yaml.")
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			for _, pkg := range deps(t, "./"+dir) {
				if forbidden(pkg) {
					t.Errorf("%s links %s", dir, pkg)
				}
			}
		})
	}
	t.Run("cmd/tokenctl", func(t *testing.T) {
		for _, pkg := range deps(t, "./cmd/tokenctl") {
			if strings.HasPrefix(pkg, module+"internal/localdev") && !slices.Contains(tokenctlMayLink, strings.TrimPrefix(pkg, module+"internal/localdev/")) {
				t.Errorf("cmd/tokenctl links %s", pkg)
			}
		}
	})
}

// tokenctlMayLink are the packages below internal/localdev that tokenctl
// links: what dev-token and dev-leak-report sign with, and the defaults.
var tokenctlMayLink = []string{"defaults", "issuer", "keyfile", "scanner"}

// deps lists the packages pkg links, as the Lambda build (linux/arm64,
// lambda.norpc) sees them.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestPublishStream holds the event bus publisher's event source to what
// it handles: the writing of audit events only, with partial batch
// failures, retries and a dead-letter queue; and its policy to publishing
// on the stack's bus alone.
func TestPublishStream(t *testing.T) {
	fns, err := load(t).Functions()
	if err != nil {
		t.Fatal(err)
	}
	f, ok := fns["AuditPublishFunction"]
	if !ok {
		t.Fatal("no AuditPublishFunction")
	}
	streams := 0
	for _, e := range f.Events {
		if e.Type != "DynamoDB" {
			continue
		}
		streams++
		p := e.Properties
		if strings.Join(p.FunctionResponseTypes, ",") != "ReportBatchItemFailures" {
			t.Errorf("FunctionResponseTypes = %v", p.FunctionResponseTypes)
		}
		if !strings.Contains(p.DestinationConfig.OnFailure.Destination, "PublishDeadLetterQueue") {
			t.Errorf("OnFailure destination = %q; want PublishDeadLetterQueue", p.DestinationConfig.OnFailure.Destination)
		}
		if len(p.FilterCriteria.Filters) != 1 {
			t.Fatalf("filters = %+v; want one", p.FilterCriteria.Filters)
		}
		type prefix struct {
			S []struct {
				Prefix string `json:"prefix"`
			} `json:"S"`
		}
		var pattern struct {
			EventName []string `json:"eventName"`
			DynamoDB  struct {
				Keys struct{ PK, SK prefix } `json:"Keys"`
			} `json:"dynamodb"`
		}
		if err := json.Unmarshal([]byte(p.FilterCriteria.Filters[0].Pattern), &pattern); err != nil {
			t.Fatalf("filter pattern: %v", err)
		}
		keys := pattern.DynamoDB.Keys
		if fmt.Sprint(pattern.EventName) != "[INSERT]" || len(keys.PK.S) != 1 || len(keys.SK.S) != 1 ||
			!store.IsAuditKey(keys.PK.S[0].Prefix, keys.SK.S[0].Prefix) || keys.PK.S[0].Prefix != store.AuditKeysPrefix {
			t.Errorf("filter pattern %+v does not pass exactly the writing of audit events", pattern)
		}
	}
	if streams != 1 {
		t.Errorf("AuditPublishFunction has %d DynamoDB stream events; want 1", streams)
	}
	granted := 0
	for _, p := range f.Policies {
		for _, st := range p.Statement {
			for _, a := range st.Action {
				granted++
				if a != "events:PutEvents" || fmt.Sprint(st.Resource) != "[EventBus.Arn]" {
					t.Errorf("AuditPublishFunction is granted %s on %v; want events:PutEvents on the stack's bus alone", a, st.Resource)
				}
			}
		}
	}
	if granted != 1 {
		t.Errorf("AuditPublishFunction's policy grants %d actions; want events:PutEvents alone", granted)
	}
}
