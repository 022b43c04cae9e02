// Command people is the people Lambda: a signed-in person's workspaces and
// sites (GET /v2/me) and the invitations waiting for them, which they
// accept or decline, and the members of workspaces and sites, which
// workspace admins manage. Every call binds the operators' invitations to
// the person's verified email.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/people"
	"github.com/tokensmith/tokensmith/internal/store"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, time.Now, rand.Reader, log, os.Stdout)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// newHandler wires the function (its metrics records go to stdout): its
// configuration from getenv, the DynamoDB client, the store, the stack's
// Cognito user pool when USER_POOL_ID names one (empty with another issuer,
// and locally), the people service on the clock now and the randomness random
// (of ids), and its HTTP handler as a Lambda proxy handler.
func newHandler(_ context.Context, getenv func(string) string, now func() time.Time, random io.Reader, log *slog.Logger, stdout io.Writer) (httpapi.Proxy, error) {
	st, err := store.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	svc := &people.Service{Store: st, Now: now, Rand: random, UserPoolID: getenv("USER_POOL_ID")}
	if svc.UserPoolID != "" {
		if svc.UserPool, err = userPool(getenv); err != nil {
			return nil, err
		}
		svc.Resends = st
	}
	return metrics.Invocations(metrics.FunctionPeople, stdout, now, httpapi.People(svc, log).Proxy()), nil
}

// userPool is the Cognito client of the region and credentials Lambda puts
// in the environment.
func userPool(getenv func(string) string) (*cognitoidentityprovider.Client, error) {
	region, key, secret := getenv(ddbclient.EnvRegion), getenv(ddbclient.EnvKeyID), getenv(ddbclient.EnvSecret)
	if region == "" || key == "" || secret == "" {
		return nil, errors.New("USER_POOL_ID is set, but AWS_REGION and AWS credentials are not in the environment")
	}
	return cognitoidentityprovider.New(cognitoidentityprovider.Options{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, getenv(ddbclient.EnvSession)),
	}), nil
}
