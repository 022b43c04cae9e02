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
	"os"
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
// above.
func Options(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = MaxAttempts
		so.MaxBackoff = MaxBackoff
	})
	o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(AttemptTimeout)
}

// New returns a DynamoDB client. With endpoint set (DynamoDB Local), it uses
// that endpoint with fixed local credentials; otherwise the region and
// credentials Lambda puts in the environment. optFns adjust the options
// further (benchmarks count operations with a middleware).
func New(endpoint string, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	o := dynamodb.Options{}
	Options(&o)
	if endpoint != "" {
		o.Region = "us-east-1"
		o.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		o.BaseEndpoint = aws.String(endpoint)
		// DynamoDB Local's CRC32 response header does not always match its
		// body; checking it only logs a warning per call.
		o.DisableValidateResponseChecksum = true
	} else {
		o.Region = os.Getenv("AWS_REGION")
		key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if o.Region == "" || key == "" || secret == "" {
			return nil, errors.New("ddbclient: AWS_REGION and AWS credentials are not in the environment (set DYNAMODB_ENDPOINT for a local table)")
		}
		o.Credentials = credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	return dynamodb.New(o, optFns...), nil
}
