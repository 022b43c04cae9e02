// Package defaults holds where the local development set-up lives when the
// environment says nothing else: DynamoDB Local's endpoint, the table, the
// local stack's address and its folder, and where the local issuer is served
// and keeps its key. It imports only the standard library, so that tokenctl
// can default to them without linking the local stack.
package defaults

import "time"

// Defaults of `make run` and tokenctl.
const (
	Endpoint = "http://127.0.0.1:8000"
	Table    = "tokensmith"
	Addr     = "127.0.0.1:3000"
	Dir      = ".local"
	// IdempotencySecret keys idempotency records locally (in AWS the
	// template generates the secret in Secrets Manager); events/env.json
	// gives `sam local invoke` the same value.
	IdempotencySecret = "tokensmith-local-development-idempotency-secret"
)

// The local issuer and the console, below the stack's base URL and folder.
const (
	// IssuerPath is where the local OpenID Provider is served.
	IssuerPath = "/dev-issuer"
	// IssuerKeyFile is its signing key, under Dir.
	IssuerKeyFile = "dev-issuer.pem"
	// ConsolePath is where the console is served; the console's redirect
	// URIs are ConsolePath and ConsolePath+"callback".
	ConsolePath = "/console/"
	// TokenTTL is how long the user tokens of .local/demo.json and
	// `tokenctl dev-token` last: a working day, so a walkthrough does not
	// outlive them.
	TokenTTL = 12 * time.Hour
)

// The local stand-in for GitHub's secret scanning keys, below the stack's
// base URL and folder: the secret scanning endpoint of `make run` checks
// reports against it unless GITHUB_KEYS_URL names other keys, and
// `tokenctl dev-leak-report` signs reports with it.
const (
	// GitHubKeysPath is where its keys document is served, in the shape of
	// GitHub's https://api.github.com/meta/public_keys/secret_scanning.
	GitHubKeysPath = "/dev-github/meta/public_keys/secret_scanning"
	// GitHubKeyFile is its signing key, under Dir.
	GitHubKeyFile = "dev-github.pem"
)

// The assertion key of the upstream routes, under Dir (in AWS it is kept in
// Secrets Manager).
const AssertionKeyFile = "assertion-key.pem"
