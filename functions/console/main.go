// Command console is the console Lambda: it serves the web console's page,
// assets and run-time configuration below /console/, with no credential.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/console"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/webconsole"
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

// newHandler wires the function: the page's configuration from getenv and
// the embedded bundle, as a Lambda proxy handler. It reads no table.
func newHandler(_ context.Context, getenv func(string) string, _ *slog.Logger) (httpapi.Proxy, error) {
	h, err := webconsole.New(console.Files(), webconsole.Config{
		Issuer:                getenv("OIDC_ISSUER"),
		ClientID:              getenv("OIDC_CLIENT_ID"),
		TokenOrigin:           getenv("OIDC_TOKEN_ORIGIN"),
		APIBaseURL:            getenv("API_BASE_URL"),
		RedirectURI:           getenv("CONSOLE_REDIRECT_URI"),
		PostLogoutRedirectURI: getenv("CONSOLE_POST_LOGOUT_REDIRECT_URI"),
	})
	if err != nil {
		return nil, fmt.Errorf("environment variables OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_TOKEN_ORIGIN, API_BASE_URL, CONSOLE_REDIRECT_URI, CONSOLE_POST_LOGOUT_REDIRECT_URI: %w", err)
	}
	return httpapi.Adapt(h), nil
}
