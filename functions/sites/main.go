// Command sites is the sites Lambda: API tokens read the sites they are granted.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/lambdafn"
	"github.com/tokensmith/tokensmith/internal/store"
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
func newHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) (lambdafn.Proxy, error) {
	env, err := lambdafn.Require(getenv, "TABLE_NAME")
	if err != nil {
		return nil, err
	}
	db, err := ddbclient.New(getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		return nil, err
	}
	return lambdafn.Sites(store.New(db, env["TABLE_NAME"]), log), nil
}
