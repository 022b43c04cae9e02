package authorizer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

func ExamplePolicy() {
	r, _ := route.Lookup("GET", "/v2/sites/{site_id}")
	p := authorizer.Policy("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v2/sites/42e63e98c9a982ac9b8b7410", r, "Allow")
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

// countingDB counts the calls the store makes, and can fail them all.
type countingDB struct {
	store.DB
	calls atomic.Int64
	fail  error
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return nil, c.fail
	}
	return c.DB.GetItem(ctx, in, optFns...)
}

func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return nil, c.fail
	}
	return c.DB.TransactWriteItems(ctx, in, optFns...)
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.calls.Add(1)
	if c.fail != nil {
		return nil, c.fail
	}
	return c.DB.UpdateItem(ctx, in, optFns...)
}

type noUsers struct{}

func (noUsers) Verify(context.Context, string) (usertoken.Claims, error) {
	return usertoken.Claims{}, usertoken.ErrInvalid
}

// fixture is an authorizer on a fresh table holding one site token.
type fixture struct {
	authz  *authorizer.Authorizer
	db     *countingDB
	secret string
	now    time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	db := &countingDB{DB: client}
	st := store.New(db, table)
	ctx := context.Background()
	now := time.Now().UTC()
	ws := tokensmith.Workspace{ID: "0000000a0000000000000001", Slug: "w", Plan: tokensmith.PlanEnterprise, CreatedOn: now}
	site := tokensmith.Site{ID: "0000000a0000000000000002", WorkspaceID: ws.ID, CreatedOn: now}
	if err := st.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	secret, _ := token.Generate(token.KindSite, fixedReader{})
	perms := scope.Permissions{"sites": scope.Read}
	tok := tokensmith.Token{ID: "0000000b0000000000000001", Kind: token.KindSite, Name: "bench", SiteID: site.ID, WorkspaceID: ws.ID,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)), SecretHash: token.Hash(secret), CreatedOn: now,
		ExpiresOn: now.Add(token.Inactivity)}
	ev := tokensmith.Event{ID: "e1", Type: "api_token", SubType: "token_created", Timestamp: now, Workspace: tokensmith.WorkspaceRef{ID: ws.ID}}
	if err := st.CreateToken(ctx, 0, tok, ev, nil, now); err != nil {
		t.Fatal(err)
	}
	db.calls.Store(0)
	return &fixture{
		authz:  &authorizer.Authorizer{Users: noUsers{}, Secrets: st, Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))},
		db:     db,
		secret: secret,
		now:    now,
	}
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

func TestMalformedTokensTouchNoTable(t *testing.T) {
	f := newFixture(t)
	for _, cred := range []string{"garbage", f.secret[:len(f.secret)-1] + "x", "tsx_" + f.secret[4:], f.secret + "0", ""} {
		_, err := f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", cred))
		if !errors.Is(err, authorizer.ErrUnauthorized) {
			t.Errorf("Handle(%q) = %v; want ErrUnauthorized", cred, err)
		}
	}
	if n := f.db.calls.Load(); n != 0 {
		t.Errorf("%d DynamoDB calls for malformed tokens; want 0", n)
	}
	// A well-formed token costs one read, and the first use one usage write.
	resp, err := f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", f.secret))
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Allow" || resp.PrincipalID == f.secret {
		t.Fatalf("Handle(valid) = %+v, %v", resp, err)
	}
	if n := f.db.calls.Load(); n != 2 {
		t.Errorf("%d DynamoDB calls for a first valid use; want 2 (read, usage write)", n)
	}
	for i := 0; i < 10; i++ {
		f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", f.secret))
	}
	if n := f.db.calls.Load(); n != 12 {
		t.Errorf("%d DynamoDB calls after 10 more uses within a minute; want 12 (one read each, no more writes)", n)
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
			f.db.fail = fail
			resp, err := f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", f.secret))
			if err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("Handle with DynamoDB failing = %+v, %v; want an error API Gateway answers with 500", resp, err)
			}
			if len(resp.PolicyDocument.Statement) != 0 {
				t.Errorf("a policy came back: %+v", resp.PolicyDocument)
			}
		})
	}
	// Usage writes failing do not fail an allowed request: usage is not a
	// decision, and the read that decided succeeded.
	f := newFixture(t)
	inner := f.db.DB
	f.db.DB = failWrites{inner}
	if _, err := f.authz.Handle(context.Background(), request("/v2/sites", "/v2/sites", f.secret)); err != nil {
		t.Errorf("Handle with usage writes failing = %v; want an allow", err)
	}
}

type failWrites struct{ store.DB }

func (failWrites) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, errors.New("write failed")
}

func BenchmarkMalformedToken(b *testing.B) {
	f := newFixture(b)
	req := request("/v2/sites", "/v2/sites", f.secret[:len(f.secret)-1]+"x")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.authz.Handle(ctx, req)
	}
	b.ReportMetric(float64(f.db.calls.Load())/float64(b.N), "dbcalls/op")
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

// memSecrets is a store in memory holding one secret, for fuzzing the
// handler without I/O (storage behaviour is tested against DynamoDB Local).
type memSecrets struct{ sec tokensmith.Secret }

func (m memSecrets) Secret(_ context.Context, hash string) (tokensmith.Secret, error) {
	if hash == m.sec.Hash {
		return m.sec, nil
	}
	return tokensmith.Secret{}, store.ErrNotFound
}

func (memSecrets) RecordUse(context.Context, tokensmith.Secret, time.Time, int64, time.Duration) error {
	return nil
}

// FuzzHandle feeds the authorizer arbitrary requests: it never panics, and
// it allows only the one valid token, on a route whose scope it holds.
func FuzzHandle(f *testing.F) {
	secret, _ := token.Generate(token.KindSite, fixedReader{})
	sec := tokensmith.Secret{Hash: token.Hash(secret), TokenID: "0000000b0000000000000001", Kind: token.KindSite, SiteID: "s", WorkspaceID: "w",
		Scope: "sites:read", ExpiresOn: time.Now().Add(time.Hour)}
	a := &authorizer.Authorizer{Users: noUsers{}, Secrets: memSecrets{sec}, Now: time.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
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
		if !ok || r.Auth != route.APIToken || cred != secret || (r.Scope != "" && r.Scope != "sites:read") {
			t.Fatalf("allowed %s %s with %q", method, resource, header)
		}
	})
}
