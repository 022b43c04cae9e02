// Package lambdafn assembles each Lambda function's handler from its parts,
// so that functions/*/main.go, the local gateway and the tests build them
// the same way.
package lambdafn

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/expiry"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/manage"
	"github.com/tokensmith/tokensmith/internal/sites"
	"github.com/tokensmith/tokensmith/internal/store"
)

// Proxy is the handler of a function behind an API Gateway REST API
// (Lambda proxy integration).
type Proxy = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Authorize is the handler of a REQUEST authorizer.
type Authorize = func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Adapt runs an http.Handler as a proxy-integration Lambda handler.
func Adapt(h http.Handler) Proxy { return httpadapter.New(h).ProxyWithContext }

// Tokens is the token management function.
func Tokens(st *store.Store, now func() time.Time, log *slog.Logger) Proxy {
	svc := manage.New(st)
	svc.Now = now
	return Adapt(httpapi.Tokens(svc, log))
}

// Sites is the sites function.
func Sites(st *store.Store, log *slog.Logger) Proxy {
	return Adapt(httpapi.Sites(sites.New(st), log))
}

// AuditLogs is the audit logs function.
func AuditLogs(st *store.Store, log *slog.Logger) Proxy {
	return Adapt(httpapi.AuditLogs(audit.New(st), log))
}

// TokenExpiry is the stream consumer that records inactivity expiry.
func TokenExpiry(st *store.Store, now func() time.Time, log *slog.Logger) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	h := expiry.New(st, log)
	h.Now = now
	return h.Handle
}

// Authorizer is the REQUEST authorizer function.
func Authorizer(users authorizer.UserVerifier, secrets authorizer.Secrets, now func() time.Time, log *slog.Logger) Authorize {
	a := &authorizer.Authorizer{Users: users, Secrets: secrets, Now: now, Log: log}
	return a.Handle
}

// TableEnv are the variables Table reads.
var TableEnv = []string{"TABLE_NAME", "DYNAMODB_ENDPOINT"}

// Table builds the store on the table named by TABLE_NAME, with the client
// of ddbclient (DYNAMODB_ENDPOINT points it at DynamoDB Local).
func Table(getenv func(string) string) (*store.Store, error) {
	env, err := Require(getenv, "TABLE_NAME")
	if err != nil {
		return nil, err
	}
	db, err := ddbclient.New(getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		return nil, err
	}
	return store.New(db, env["TABLE_NAME"]), nil
}

// Main is every function's main: it wires the handler from the process
// environment, failing fast (the function's init fails, visibly in its
// log) when the wiring does, and hands the handler to the Lambda runtime.
func Main[H any](newHandler func(context.Context, func(string) string, *slog.Logger) (H, error)) {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// Require reads the named variables with getenv and fails when one is empty,
// so that a function misconfigured in the template fails at start-up.
func Require(getenv func(string) string, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		v := getenv(n)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is not set", n)
		}
		out[n] = v
	}
	return out, nil
}
