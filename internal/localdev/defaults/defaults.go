// Package defaults holds where the local development set-up lives when the
// environment says nothing else: DynamoDB Local's endpoint, the table, the
// local stack's address and its folder. It imports nothing, so that
// tokenctl can default to them without linking the local stack.
package defaults

// Defaults of `make run` and tokenctl.
const (
	Endpoint = "http://127.0.0.1:8000"
	Table    = "tokensmith"
	Addr     = "127.0.0.1:3000"
	Dir      = ".local"
)
