package authorizer_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/tokensmith/tokensmith/internal/audit"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

func ExamplePolicy() {
	r, _ := route.Lookup("GET", "/v2/sites/{site_id}")
	p := authorizer.Policy("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/42e63e98c9a982ac9b8b7410", r)
	fmt.Println(p.Statement[0].Effect, p.Statement[0].Resource[0])
	// Output:
	// Allow arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/*
}

func TestBearer(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		multi   map[string][]string
		want    string
	}{
		{"plain", map[string]string{"Authorization": "Bearer abc"}, nil, "abc"},
		{"case", map[string]string{"authorization": "bearer abc"}, nil, "abc"},
		{"multi", nil, map[string][]string{"Authorization": {"Bearer abc"}}, "abc"},
		{"two values", nil, map[string][]string{"Authorization": {"Bearer abc", "Bearer def"}}, ""},
		{"basic", map[string]string{"Authorization": "Basic abc"}, nil, ""},
		{"empty", map[string]string{"Authorization": "Bearer "}, nil, ""},
		{"space inside", map[string]string{"Authorization": "Bearer a b"}, nil, ""},
		{"none", nil, nil, ""},
		{"huge", map[string]string{"Authorization": "Bearer " + string(make([]byte, 9000))}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := authorizer.Bearer(tc.headers, tc.multi)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Bearer = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// fixture is an authorizer on a fresh table holding one site token.
type fixture struct {
	authz  *authorizer.Authorizer
	db     *mock.CountingDB
	secret string
	now    time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	tb := newTable(t)
	secret := tb.mint(t, "0000000b0000000000000001", 0, fixedReader{}, nil)
	tb.db.Reset()
	return &fixture{
		authz:  &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: tb.st, Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))},
		db:     tb.db,
		secret: secret,
		now:    tb.now,
	}
}

// table is a table in DynamoDB Local, its calls counted, holding an
// enterprise workspace and one of its sites.
type table struct {
	name string
	db   *mock.CountingDB
	st   *store.Store
	ws   tokensmith.Workspace
	site tokensmith.Site
	now  time.Time
}

func newTable(t testing.TB) *table {
	t.Helper()
	client, name := dynamotest.NewTable(t)
	// One attempt a call, however slow DynamoDB Local is: the SDK retries
	// a write whose answer was late, which would count a request twice and
	// make the tests' exact counts wrong on a loaded machine.
	client = dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(time.Minute)
	})
	tb := &table{name: name, db: &mock.CountingDB{DB: client}, now: time.Now().UTC()}
	tb.st = store.New(tb.db, name)
	tb.ws = tokensmith.Workspace{ID: "0000000a0000000000000001", Slug: "w", Plan: tokensmith.PlanEnterprise, CreatedOn: tb.now}
	tb.site = tokensmith.Site{ID: "0000000a0000000000000002", WorkspaceID: tb.ws.ID, CreatedOn: tb.now}
	if err := tb.st.CreateWorkspace(context.Background(), tb.ws); err != nil {
		t.Fatal(err)
	}
	if err := tb.st.CreateSite(context.Background(), tb.site); err != nil {
		t.Fatal(err)
	}
	return tb
}

// mint stores site token id with sites:read and the IP allowlist allowed,
// its secret drawn from random, as the site's version-th token; it returns
// the secret.
func (tb *table) mint(t testing.TB, id string, version int64, random io.Reader, allowed []string) string {
	t.Helper()
	secret, err := token.Generate(token.KindSite, random)
	if err != nil {
		t.Fatal(err)
	}
	perms := scope.Permissions{"sites": scope.Read}
	tok := tokensmith.Token{ID: id, Kind: token.KindSite, Name: "n", SiteID: tb.site.ID, WorkspaceID: tb.ws.ID,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)), SecretHash: token.Hash(secret), CreatedOn: tb.now,
		ExpiresOn: tb.now.Add(token.Inactivity), AllowedIPs: allowed}
	ev := tokensmith.Event{ID: id, Type: audit.TypeAPIToken, SubType: audit.SubTokenCreated, Timestamp: tb.now, Workspace: tokensmith.WorkspaceRef{ID: tb.ws.ID}}
	if err := tb.st.CreateToken(context.Background(), version, "", 0, tok, ev, nil, tb.now); err != nil {
		t.Fatal(err)
	}
	return secret
}

type fixedReader struct{}

func (fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i * 7)
	}
	return len(p), nil
}

func request(path, resource, cred string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET" + path,
		Resource: resource, Path: path, HTTPMethod: "GET",
		Headers: map[string]string{"Authorization": "Bearer " + cred},
	}
}

// TestMalformedTokensTouchNoTable: a credential that is not a well-formed
// token is refused before any read.
func TestMalformedTokensTouchNoTable(t *testing.T) {
	secret, err := token.Generate(token.KindSite, fixedReader{})
	if err != nil {
		t.Fatal(err)
	}
	authz := &authorizer.Authorizer{Users: mock.NoUsers(), Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Secrets: &mock.Secrets{SecretFn: func(_ context.Context, hash string) (tokensmith.Secret, error) {
			t.Errorf("Secret(%s) read for a malformed token", hash)
			return tokensmith.Secret{}, tokensmith.NotFound()
		}}}
	for _, cred := range []string{"garbage", secret[:len(secret)-1] + "x", "tsx_" + secret[4:], secret + "0", ""} {
		_, err := authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", cred))
		if !errors.Is(err, authorizer.ErrUnauthorized) {
			t.Errorf("Handle(%q) = %v; want ErrUnauthorized", cred, err)
		}
	}
}

// TestValidTokenCostsOneRead: a well-formed token costs one read and
// nothing else: the function that serves the request counts it and notes
// the use.
func TestValidTokenCostsOneRead(t *testing.T) {
	f := newFixture(t)
	resp, err := f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", f.secret))
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" || resp.PrincipalID == f.secret {
		t.Fatalf("Handle(valid) = %+v, %v", resp, err)
	}
	if n := f.db.Calls(); n != 1 {
		t.Errorf("%d DynamoDB calls for a valid use; want 1 (the read)", n)
	}
	for i := 0; i < 10; i++ {
		f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", f.secret))
	}
	if n := f.db.Calls(); n != 11 {
		t.Errorf("%d DynamoDB calls after 10 more uses; want 11 (one read each, no writes)", n)
	}
	for k, v := range resp.Context {
		if s, _ := v.(string); s == f.secret {
			t.Errorf("context %s holds the secret", k)
		}
	}
}

func TestFailsClosed(t *testing.T) {
	for name, fail := range map[string]error{
		"throttling":  &types.ProvisionedThroughputExceededException{Message: new(string)},
		"unreachable": errors.New("dial tcp 127.0.0.1:8000: connection refused"),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.db.DB = mock.Failing(fail)
			resp, err := f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", f.secret))
			if err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("Handle with DynamoDB failing = %+v, %v; want an error API Gateway answers with 500", resp, err)
			}
			if len(resp.PolicyDocument.Statement) != 0 {
				t.Errorf("a policy came back: %+v", resp.PolicyDocument)
			}
		})
	}
}

func BenchmarkMalformedToken(b *testing.B) {
	f := newFixture(b)
	req := request("/v2/sites", "/v2/sites", f.secret[:len(f.secret)-1]+"x")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.authz.Handle(ctx, req)
	}
	b.ReportMetric(float64(f.db.Calls())/float64(b.N), "dbcalls/op")
}

// FuzzBearer holds the Authorization header parser to "never panics, and a
// credential it returns is one non-empty word after the Bearer scheme".
func FuzzBearer(f *testing.F) {
	for _, v := range []string{"Bearer abc", "bearer  x", "Basic abc", "Bearer", "Bearer a b", "BEARER tss_x\n"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cred, ok := authorizer.Bearer(map[string]string{"Authorization": v}, nil)
		if !ok {
			return
		}
		if cred == "" || strings.ContainsAny(cred, " \t\r\n") || !strings.EqualFold(v[:7], "bearer ") || !strings.HasSuffix(v, cred) {
			t.Fatalf("Bearer(%q) = %q", v, cred)
		}
	})
}

// FuzzHandle feeds the authorizer arbitrary requests: it never panics, and
// it allows only the one valid token, on an API token route (whose scope
// the function that serves it checks, where the request is counted).
func FuzzHandle(f *testing.F) {
	secret, _ := token.Generate(token.KindSite, fixedReader{})
	sec := tokensmith.Secret{Hash: token.Hash(secret), TokenID: "0000000b0000000000000001", Kind: token.KindSite, SiteID: "s", WorkspaceID: "w",
		Scope: "sites:read", ExpiresOn: time.Now().Add(time.Hour)}
	a := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(sec), Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	f.Add("GET", "/v2/sites", "Bearer "+secret)
	f.Add("GET", "/v2/workspaces/{workspace_id}/audit_logs", "Bearer "+secret)
	f.Add("POST", "/v2/sites/{site_id}/tokens", "Bearer eyJhbGciOiJub25lIn0.e30.")
	f.Add("GET", "/v2/token/introspect", "Bearer "+secret[:len(secret)-1]+"x")
	f.Fuzz(func(t *testing.T, method, resource, header string) {
		resp, err := a.Handle(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/" + method + resource,
			Resource: resource, HTTPMethod: method, Headers: map[string]string{"Authorization": header},
		})
		if err != nil || len(resp.PolicyDocument.Statement) == 0 || resp.PolicyDocument.Statement[0].Effect != "Allow" {
			return
		}
		r, ok := route.Lookup(method, resource)
		cred, _ := authorizer.Bearer(map[string]string{"Authorization": header}, nil)
		if !ok || !r.Auth.TakesAPIToken() || cred != secret {
			t.Fatalf("allowed %s %s with %q", method, resource, header)
		}
	})
}

// TestAllowsValidTokens: every live API token is allowed on every API token
// route, whatever its scopes and its workspace's plan, so that the function
// that serves the request counts it against the token's rate limit before
// refusing it (httpapi.Guard); the context carries what the function
// decides with: scopes, plan and the rate limit of the token's secret.
func TestAllowsValidTokens(t *testing.T) {
	wsSecret, _ := token.Generate(token.KindWorkspace, fixedReader{})
	siteSecret, _ := token.Generate(token.KindSite, fixedReader{})
	now := time.Now()
	tests := []struct {
		name          string
		kind          token.Kind
		plan          tokensmith.Plan
		rateLimit     int64
		resource      string
		wantRateLimit string
	}{
		{"workspace token, enterprise", token.KindWorkspace, tokensmith.PlanEnterprise, 0, "/v2/workspaces/{workspace_id}/audit_logs", "120"},
		{"workspace token, missing scope", token.KindWorkspace, tokensmith.PlanEnterprise, 0, "/v2/sites", "120"},
		{"workspace token, free", token.KindWorkspace, tokensmith.PlanFree, 0, "/v2/token/introspect", "120"},
		{"site token, starter", token.KindSite, "", 60, "/v2/sites", "60"},
		{"site token, missing scope", token.KindSite, "", 600, "/v2/workspaces/{workspace_id}/audit_logs", "600"},
		{"site token, stored before limits", token.KindSite, "", 0, "/v2/token/introspect", "120"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret, scope := wsSecret, "workspace_activity:read"
			if tc.kind == token.KindSite {
				secret, scope = siteSecret, "sites:read"
			}
			sec := tokensmith.Secret{Hash: token.Hash(secret), TokenID: "0000000b0000000000000001", Kind: tc.kind, SiteID: "0000000a0000000000000002",
				WorkspaceID: "0000000a0000000000000001", Scope: scope, ExpiresOn: now.Add(time.Hour), Plan: tc.plan, RateLimit: tc.rateLimit}
			a := &authorizer.Authorizer{Users: mock.NoUsers(), Secrets: mock.OneSecret(sec), Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			resp, err := a.Handle(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
				Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET" + tc.resource,
				Resource: tc.resource, HTTPMethod: "GET", Headers: map[string]string{"Authorization": "Bearer " + secret},
			})
			if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" {
				t.Fatalf("Handle = %+v, %v; want an allow", resp.PolicyDocument, err)
			}
			if got := resp.Context["rateLimit"]; got != tc.wantRateLimit {
				t.Errorf("context rateLimit = %v; want %s", got, tc.wantRateLimit)
			}
			if got := resp.Context["plan"]; got != string(tc.plan) {
				t.Errorf("context plan = %v; want %q", got, tc.plan)
			}
			if got := resp.Context["scope"]; got != scope {
				t.Errorf("context scope = %v; want %s", got, scope)
			}
		})
	}
}
