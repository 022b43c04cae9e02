// Command authorizer is the API Gateway REQUEST authorizer Lambda: it checks
// the Bearer credential of every call.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/lambdafn"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function from its environment.
func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambdafn.Authorize, error) {
	env, err := lambdafn.Require(getenv, "TABLE_NAME", "OIDC_ISSUER", "OIDC_AUDIENCE")
	if err != nil {
		return nil, err
	}
	db, err := ddbclient.New(getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		return nil, err
	}
	users, err := usertoken.NewVerifier(usertoken.Config{
		Issuer: env["OIDC_ISSUER"], Audience: env["OIDC_AUDIENCE"], JWKSURL: getenv("OIDC_JWKS_URL"),
	})
	if err != nil {
		return nil, err
	}
	return lambdafn.Authorizer(users, store.New(db, env["TABLE_NAME"]), time.Now, log), nil
}
