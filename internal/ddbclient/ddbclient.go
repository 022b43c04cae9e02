// Package ddbclient builds the functions' DynamoDB client: from the
// environment Lambda gives a function, or for a local endpoint such as
// DynamoDB Local.
//
// It does not use the SDK's config package: its credential chain (SSO,
// STS, shared files) is what an operator's machine needs, not a Lambda
// function, whose credentials and region are in its environment, and
// linking it costs every cold start its package initialisation.
package ddbclient

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Bounds of one DynamoDB call: at most MaxAttempts attempts of at most
// AttemptTimeout each, at most MaxBackoff apart. A call that cannot succeed
// fails within WorstCase, well inside the functions' 10-second timeout, so
// the function answers (a 5xx, never an allow) instead of being killed.
const (
	MaxAttempts    = 3
	AttemptTimeout = 2 * time.Second
	MaxBackoff     = 300 * time.Millisecond
	WorstCase      = MaxAttempts*AttemptTimeout + (MaxAttempts-1)*MaxBackoff
)

// Options are the client settings both constructors share: the bounds
// above, and the metrics of each invocation's DynamoDB calls (Measured).
func Options(o *dynamodb.Options) {
	Measured(o)
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = MaxAttempts
		so.MaxBackoff = MaxBackoff
	})
	o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(AttemptTimeout)
}

// Variables New reads. Lambda sets the AWS ones in every function's
// environment; DYNAMODB_ENDPOINT comes from the template (empty in AWS).
const (
	EnvEndpoint = "DYNAMODB_ENDPOINT"
	EnvRegion   = "AWS_REGION"
	EnvKeyID    = "AWS_ACCESS_KEY_ID"
	EnvSecret   = "AWS_SECRET_ACCESS_KEY"
	EnvSession  = "AWS_SESSION_TOKEN"
)

// New returns the DynamoDB client the environment getenv reads describes:
// with DYNAMODB_ENDPOINT set, the DynamoDB Local there (see Local);
// otherwise the region and credentials Lambda puts in the environment.
// optFns adjust the options further (benchmarks count operations with a
// middleware).
func New(getenv func(string) string, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	if endpoint := getenv(EnvEndpoint); endpoint != "" {
		return Local(endpoint, optFns...), nil
	}
	o := dynamodb.Options{}
	Options(&o)
	o.Region = getenv(EnvRegion)
	key, secret := getenv(EnvKeyID), getenv(EnvSecret)
	if o.Region == "" || key == "" || secret == "" {
		return nil, errors.New("ddbclient: AWS_REGION and AWS credentials are not in the environment (set DYNAMODB_ENDPOINT for a local table)")
	}
	o.Credentials = credentials.NewStaticCredentialsProvider(key, secret, getenv(EnvSession))
	return dynamodb.New(o, optFns...), nil
}

// Local returns a client of the DynamoDB Local at endpoint, with fixed local
// credentials.
func Local(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	o := dynamodb.Options{}
	Options(&o)
	o.Region = "us-east-1"
	o.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	o.BaseEndpoint = aws.String(endpoint)
	// DynamoDB Local's CRC32 response header does not always match its
	// body; checking it only logs a warning per call.
	o.DisableValidateResponseChecksum = true
	return dynamodb.New(o, optFns...)
}
