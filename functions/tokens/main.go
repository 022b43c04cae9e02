// Command tokens is the token management Lambda: people mint, list,
// regenerate and revoke site and workspace tokens; API tokens introspect
// themselves; anyone holding a secret can revoke it.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokensmith/tokensmith/internal/lambdafn"
)

func main() { lambdafn.Main(newHandler) }

// newHandler wires the function from its environment.
func newHandler(_ context.Context, getenv func(string) string, log *slog.Logger) (lambdafn.Proxy, error) {
	st, err := lambdafn.Table(getenv)
	if err != nil {
		return nil, err
	}
	return lambdafn.Tokens(st, time.Now, log), nil
}
