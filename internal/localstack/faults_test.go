package localstack_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/lambdafn"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// A table that cannot be reached fails the request with a generic 500 and
// lets nothing through.
func TestDynamoDBUnreachable(t *testing.T) {
	db, err := ddbclient.New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	h := lambdafn.Tokens(store.New(db, "tokensmith"), time.Now, slog.New(slog.NewJSONHandler(&logs, nil)))
	p := principal.Principal{Kind: principal.User, UserID: "u1", Email: "admin@example.com"}
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/v2/sites/0000000a0000000000000002/tokens", `{"name":"x","permissions":{"sites":"read"}}`},
		{"GET", "/v2/sites/0000000a0000000000000002/tokens", ""},
		{"DELETE", "/v2/workspaces/0000000a0000000000000001/tokens/0000000b0000000000000001", ""},
	} {
		resp, err := h(context.Background(), events.APIGatewayProxyRequest{
			HTTPMethod: req.method, Path: req.path, Body: req.body,
			Headers:        map[string]string{"Content-Type": "application/json"},
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: p.Context()},
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

// An issuer whose keys cannot be fetched makes the authorizer fail (a 500 at
// API Gateway), never allow and never claim the token is bad.
func TestIssuerUnreachable(t *testing.T) {
	e := newEnv(t)
	users, err := usertoken.NewVerifier(usertoken.Config{Issuer: e.stack.Issuer.URL, Audience: usertoken.DevAudience, JWKSURL: "http://127.0.0.1:1/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	authz := lambdafn.Authorizer(users, e.stack.Store, time.Now, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	resp, err := authz(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites/" + e.demo.SiteID + "/tokens",
		Resource: "/v2/sites/{site_id}/tokens", HTTPMethod: "GET",
		Headers: map[string]string{"Authorization": "Bearer " + e.demo.AdminToken},
	})
	if err == nil || errors.Is(err, authorizer.ErrUnauthorized) || err.Error() == "Unauthorized" || authorizer.Allows(resp.PolicyDocument, "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites/x/tokens") {
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
	if err != nil || !authorizer.Allows(resp.PolicyDocument, "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites") {
		t.Errorf("API token with the issuer down = %+v, %v; want an allow", resp, err)
	}
}
