package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/eventbus"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/serversecret"
)

// functionRows measures every function's cold start against the baseline,
// the linux/arm64 sizes, and the authorizer binary's peak RSS.
func functionRows(ctx context.Context, endpoint, table, secret string, sec tokensmith.Secret) ([]row, error) {
	dir, err := os.MkdirTemp("", "tokensmith-bins-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	env := []string{"TABLE_NAME=" + table, "DYNAMODB_ENDPOINT=" + endpoint}
	site := tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: sec.TokenID, SiteID: sec.SiteID, WorkspaceID: sec.WorkspaceID, Scope: sec.Scope, RateLimit: benchRateLimit}
	person := tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: "https://issuer.example", Subject: "bench", Email: "admin@example.com"}
	ws := tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: sec.TokenID, WorkspaceID: sec.WorkspaceID, Scope: "workspace_activity:read",
		RateLimit: benchRateLimit, Plan: string(tokensmith.PlanEnterprise)}
	proxy := func(method, resource, path string, params map[string]string, p *tokensmith.Caller, body string) []byte {
		ev := events.APIGatewayProxyRequest{Resource: resource, Path: path, HTTPMethod: method, PathParameters: params, Body: body,
			Headers: map[string]string{"Content-Type": "application/json"}}
		if p != nil {
			ev.RequestContext.Authorizer = principal.Context(*p)
		}
		return mustJSON(ev)
	}
	authz := function{name: "authorizer", env: append([]string{"OIDC_ISSUER=http://127.0.0.1:1/issuer", "OIDC_AUDIENCE=bench"}, env...),
		event: mustJSON(events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/v2/sites",
			Resource: "/v2/sites", Path: "/v2/sites", HTTPMethod: "GET", Headers: map[string]string{"Authorization": "Bearer " + secret},
		}), holds: `"Effect":"Allow"`}
	secretsEnv, stopSecrets, err := secretsStub()
	if err != nil {
		return nil, err
	}
	defer stopSecrets()
	revokeGarbage := proxy("POST", "/v2/token/revoke", "/v2/token/revoke", nil, nil, `{"token":"garbage"}`)
	fns := []function{
		{name: "baseline", event: []byte(`{}`)},
		authz,
		// tokens is given its idempotency secret's ARN as in AWS, a loopback
		// stub of Secrets Manager behind it (read at the first keyed create,
		// so not by this event); its variant has the secret in the
		// environment, as a local run does.
		{name: "tokens", env: append(secretsEnv, env...), event: revokeGarbage, status: 200},
		{name: "tokens, secret from the environment", src: "tokens", env: append([]string{serversecret.EnvValue + "=" + defaults.IdempotencySecret}, append(lambdaEnv, env...)...), event: revokeGarbage, status: 200},
		{name: "sites", env: env, event: proxy("GET", "/v2/sites", "/v2/sites", nil, &site, ""), status: 200},
		{name: "auditlogs", env: env, event: proxy("GET", "/v2/workspaces/{workspace_id}/audit_logs", "/v2/workspaces/"+sec.WorkspaceID+"/audit_logs",
			map[string]string{"workspace_id": sec.WorkspaceID}, &ws, ""), status: 200},
		{name: "people", env: env, event: proxy("GET", "/v2/me", "/v2/me", nil, &person, ""), status: 200},
		// secretscanning's first event is a report GitHub did not sign: the
		// answer (401) needs neither GitHub's keys nor the table.
		{name: metrics.FunctionSecretScanning, env: append([]string{secretscanning.EnvKeysURL + "=http://127.0.0.1:1/keys"}, env...),
			event: proxy("POST", "/v2/secret-scanning/github", "/v2/secret-scanning/github", nil, nil, `[]`), status: 401},
		// auditpublish's first batch holds no audit event: it publishes
		// nothing, and its answer reports no failure.
		{name: "auditpublish", env: append([]string{eventbus.EnvBusName + "=tokensmith-bench"}, lambdaEnv...),
			event: mustJSON(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "REMOVE"}}})},
		{name: "tokenexpiry", env: env, event: mustJSON(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{EventName: "REMOVE"}}})},
		// upstream reads its assertion keys at cold start, as in AWS (the
		// first cold start writes the first key), and answers the key set.
		{name: "upstream", env: append([]string{"API_BASE_URL=http://127.0.0.1:1/prod", "CMS_UPSTREAM_URL="}, append(secretsEnv, env...)...),
			event: proxy("GET", "/.well-known/jwks.json", "/.well-known/jwks.json", nil, nil, ""), status: 200},
		{name: "console", env: []string{"OIDC_ISSUER=http://127.0.0.1:1/issuer", "OIDC_CLIENT_ID=bench", "API_BASE_URL=http://127.0.0.1:1",
			"CONSOLE_REDIRECT_URI=http://127.0.0.1:1/console/", "CONSOLE_POST_LOGOUT_REDIRECT_URI=http://127.0.0.1:1/console/"},
			event: proxy("GET", "/console/{file+}", "/console/config.json", map[string]string{"file": "config.json"}, nil, ""), status: 200},
	}
	// Every function under functions/ is measured: one with no event here
	// stops the bench rather than going unmeasured.
	mains, err := filepath.Glob("functions/*/main.go")
	if err != nil {
		return nil, err
	}
	for _, m := range mains {
		name := filepath.Base(filepath.Dir(m))
		if !slices.ContainsFunc(fns, func(f function) bool { return f.name == name }) {
			return nil, fmt.Errorf("bench has no first event for functions/%s", name)
		}
	}
	rows, built, err := coldStarts(ctx, dir, fns, cfg.coldRuns)
	if err != nil {
		return nil, fmt.Errorf("cold starts: %w", err)
	}
	rss, err := peakRSS(built["authorizer"], cfg.rssCalls)
	if err != nil {
		return nil, fmt.Errorf("authorizer RSS: %w", err)
	}
	mib := float64(rss) / (1 << 20)
	rows = append(rows, row{
		what:   fmt.Sprintf("Peak RSS of the authorizer binary (as Lambda runs it) after %d decisions of a valid token", cfg.rssCalls),
		figure: fmt.Sprintf("%.1f MiB", mib), target: "<= 64 MiB", verdict: verdict(mib <= 64),
	})
	return rows, nil
}

// secretsStub serves Secrets Manager's GetSecretValue and PutSecretValue
// on loopback, holding the idempotency secret and the assertion key ring
// (created holding no key, as the template creates it), and returns the
// environment that points the tokens and upstream functions at them (with
// the region and placeholder credentials Lambda would give them).
func secretsStub() (env []string, stop func(), err error) {
	var mu sync.Mutex
	values := map[string]string{benchSecretARN: defaults.IdempotencySecret, benchAssertionARN: `{"keys":[]}`}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId, SecretString string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		value, ok := values[in.SecretId]
		if !ok {
			http.Error(w, "unknown secret", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch r.Header.Get("X-Amz-Target") {
		case "secretsmanager.GetSecretValue":
			fmt.Fprintf(w, `{"ARN":%q,"SecretString":%q,"VersionId":"1"}`, in.SecretId, value)
		case "secretsmanager.PutSecretValue":
			values[in.SecretId] = in.SecretString
			fmt.Fprintf(w, `{"ARN":%q,"VersionId":"2"}`, in.SecretId)
		default:
			http.Error(w, "unexpected call", http.StatusBadRequest)
		}
	}))
	return append([]string{serversecret.EnvARN + "=" + benchSecretARN, assertion.EnvSecretARN + "=" + benchAssertionARN,
		serversecret.EnvEndpoint + "=" + srv.URL}, lambdaEnv...), srv.Close, nil
}

// lambdaEnv is the region and (placeholder) credentials Lambda puts in
// every function's environment.
var lambdaEnv = []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_SESSION_TOKEN=bench"}

const (
	benchSecretARN    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:idempotency-AbCdEf"
	benchAssertionARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:assertion-AbCdEf"
)
