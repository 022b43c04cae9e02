// Command authorizer is the API Gateway REQUEST authorizer Lambda: it checks
// the Bearer credential of every call.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokensmith/tokensmith/internal/lambdafn"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

func main() { lambdafn.Main(newHandler) }

// newHandler wires the function from its environment.
func newHandler(_ context.Context, getenv func(string) string, log *slog.Logger) (lambdafn.Authorize, error) {
	st, err := lambdafn.Table(getenv)
	if err != nil {
		return nil, err
	}
	env, err := lambdafn.Require(getenv, "OIDC_ISSUER", "OIDC_AUDIENCE")
	if err != nil {
		return nil, err
	}
	users, err := usertoken.NewVerifier(usertoken.Config{Issuer: env["OIDC_ISSUER"], Audience: env["OIDC_AUDIENCE"]})
	if err != nil {
		return nil, err
	}
	return lambdafn.Authorizer(users, st, time.Now, log), nil
}
