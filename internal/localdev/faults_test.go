package localdev_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/gateway"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/people"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// tokensHandler is the tokens function's handler on st, built as its main
// builds it.
func tokensHandler(st *store.Store, log *slog.Logger) httpapi.Proxy {
	return httpapi.Tokens(apitokens.New(st, people.New(st), []byte(defaults.IdempotencySecret)), httpapi.NewGuard(st, time.Now, log), log).Proxy()
}

// authorizerHandler is the authorizer function's handler on secrets, built
// as its main builds it.
func authorizerHandler(users authorizer.UserVerifier, secrets authorizer.Secrets, log *slog.Logger) func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	a := &authorizer.Authorizer{Users: users, Secrets: secrets, Now: time.Now, Log: log}
	return a.Handle
}

// A table that cannot be reached fails the request with a generic 500 and
// lets nothing through.
func TestDynamoDBUnreachable(t *testing.T) {
	db := ddbclient.Local("http://127.0.0.1:1")
	var logs strings.Builder
	h := tokensHandler(store.New(db, "tokensmith"), slog.New(slog.NewJSONHandler(&logs, nil)))
	p := tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: "https://issuer.example", Subject: "u1", Email: "admin@example.com"}
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/v2/sites/0000000a0000000000000002/tokens", `{"name":"x","permissions":{"sites":"read"}}`},
		{"GET", "/v2/sites/0000000a0000000000000002/tokens", ""},
		{"DELETE", "/v2/workspaces/0000000a0000000000000001/tokens/0000000b0000000000000001", ""},
	} {
		resp, err := h(context.Background(), events.APIGatewayProxyRequest{
			HTTPMethod: req.method, Path: req.path, Body: req.body,
			Headers:        map[string]string{"Content-Type": "application/json"},
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: principal.Context(p)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(resp.Body, `"code":"internal_error"`) ||
			!strings.Contains(resp.Body, `"An Internal Error occurred"`) || strings.Contains(resp.Body, "127.0.0.1") {
			t.Errorf("%s %s = %d %s; want a generic 500", req.method, req.path, resp.StatusCode, resp.Body)
		}
	}
	if !strings.Contains(logs.String(), "127.0.0.1:1") {
		t.Error("the cause of the 500 is not in the log")
	}
}

// An issuer whose discovery document and keys cannot be fetched makes the
// authorizer fail (a 500 at API Gateway), never allow and never claim the
// token is bad.
func TestIssuerUnreachable(t *testing.T) {
	e := newEnv(t)
	users, err := usertoken.NewVerifier(usertoken.Config{Issuer: "http://127.0.0.1:1/dev-issuer", Audience: issuer.DefaultClientID})
	if err != nil {
		t.Fatal(err)
	}
	authz := authorizerHandler(users, e.stack.Store, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	resp, err := authz(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites/" + e.demo.SiteID + "/tokens",
		Resource: "/v2/sites/{site_id}/tokens", HTTPMethod: "GET",
		Headers: map[string]string{"Authorization": "Bearer " + e.demo.AdminToken},
	})
	if err == nil || errors.Is(err, authorizer.ErrUnauthorized) || err.Error() == "Unauthorized" || gateway.Allows(resp.PolicyDocument, "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites/x/tokens") {
		t.Fatalf("authorizer with the issuer down = %+v, %v; want a failure", resp, err)
	}
	if !errors.Is(err, usertoken.ErrIssuerUnavailable) {
		t.Errorf("err = %v; want ErrIssuerUnavailable", err)
	}

	// API tokens do not depend on the issuer: they keep working.
	r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, `{"name":"x","permissions":{"sites":"read"}}`)
	secret := r.str("token")
	resp, err = authz(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites",
		Resource: "/v2/sites", HTTPMethod: "GET", Headers: map[string]string{"Authorization": "Bearer " + secret},
	})
	if err != nil || !gateway.Allows(resp.PolicyDocument, "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites") {
		t.Errorf("API token with the issuer down = %+v, %v; want an allow", resp, err)
	}
}

// TestThrottledWritesLeaveNothing: a create whose transaction is throttled
// answers 500 and leaves the table as it was.
func TestThrottledWritesLeaveNothing(t *testing.T) {
	e := newEnv(t)
	// The admin signs in first, so that the creates below reach their own writes.
	if r := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, ""); r.status != 200 {
		t.Fatalf("admin's first call = %d %s", r.status, r.raw)
	}
	before := fmt.Sprint(e.state())
	throttled := mock.Through(e.stack.DB)
	throttled.TransactWriteItemsFn = mock.Failing(&types.ProvisionedThroughputExceededException{Message: aws.String("throttled")}).TransactWriteItemsFn
	h := tokensHandler(store.New(throttled, e.table), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	p := tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: e.stack.Issuer.URL(), Subject: issuer.SubjectFor(localdev.DemoAdminEmail), Email: localdev.DemoAdminEmail}
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/v2/sites/" + e.demo.SiteID + "/tokens", `{"name":"x","permissions":{"sites":"read"}}`},
		{"POST", "/v2/workspaces/" + e.demo.WorkspaceID + "/tokens", `{"name":"x","permissions":{"workspace_activity":"read"}}`},
	} {
		resp, err := h(context.Background(), events.APIGatewayProxyRequest{
			HTTPMethod: req.method, Path: req.path, Body: req.body,
			Headers:        map[string]string{"Content-Type": "application/json"},
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: principal.Context(p)},
		})
		if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, "internal_error") {
			t.Errorf("%s %s with writes throttled = %d %s, %v; want 500", req.method, req.path, resp.StatusCode, resp.Body, err)
		}
	}
	if after := fmt.Sprint(e.state()); after != before {
		t.Error("a throttled create changed the table")
	}
}

// TestHungTableFailsClosed points the authorizer and the token function at a
// table that accepts connections and never answers: the authorizer never
// allows, the function answers 500, both within the client's bound.
func TestHungTableFailsClosed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	db := ddbclient.Local("http://" + l.Addr().String())
	st := store.New(db, "tokensmith")
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	secret, _ := token.Generate(token.KindSite, rand.Reader)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		authz := authorizerHandler(nil, st, log)
		resp, err := authz(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites",
			Resource: "/v2/sites", HTTPMethod: "GET", Headers: map[string]string{"Authorization": "Bearer " + secret},
		})
		if err == nil || errors.Is(err, authorizer.ErrUnauthorized) || len(resp.PolicyDocument.Statement) != 0 {
			t.Errorf("authorizer with a hung table = %+v, %v; want a failure", resp, err)
		}
	}()
	go func() {
		defer wg.Done()
		p := tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: "https://issuer.example", Subject: "u", Email: "admin@example.com"}
		resp, err := tokensHandler(st, log)(context.Background(), events.APIGatewayProxyRequest{
			HTTPMethod: "GET", Path: "/v2/sites/0000000a0000000000000002/tokens",
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: principal.Context(p)},
		})
		if err != nil || resp.StatusCode != 500 {
			t.Errorf("token list with a hung table = %d, %v; want 500", resp.StatusCode, err)
		}
	}()
	wg.Wait()
}
