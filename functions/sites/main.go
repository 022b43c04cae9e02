// Command sites is the sites Lambda: API tokens read the sites they are granted.
package main

import (
	"context"
	"log/slog"

	"github.com/tokensmith/tokensmith/internal/lambdafn"
)

func main() { lambdafn.Main(newHandler) }

// newHandler wires the function from its environment.
func newHandler(_ context.Context, getenv func(string) string, log *slog.Logger) (lambdafn.Proxy, error) {
	st, err := lambdafn.Table(getenv)
	if err != nil {
		return nil, err
	}
	return lambdafn.Sites(st, log), nil
}
