// Command auditlogs is the audit logs Lambda: workspace tokens read their
// workspace's audit log.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/store"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, time.Now, log, os.Stdout)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function (its metrics records go to stdout): its
// configuration from getenv, the DynamoDB client, the store, the audit log
// service, and its HTTP handler as a Lambda proxy handler, whose guard counts
// requests on the clock now.
func newHandler(_ context.Context, getenv func(string) string, now func() time.Time, log *slog.Logger, stdout io.Writer) (httpapi.Proxy, error) {
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	svc := audit.New(st)
	return metrics.Invocations(metrics.FunctionAuditLogs, stdout, now, httpapi.AuditLogs(svc, httpapi.NewGuard(st, now, log), log).Proxy()), nil
}
