// Command auditlogs is the audit logs Lambda: workspace tokens read their
// workspace's audit log.
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
	return lambdafn.AuditLogs(st, log), nil
}
