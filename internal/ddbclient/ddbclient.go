// Package ddbclient builds the DynamoDB client: AWS's default configuration
// in Lambda, or a local endpoint such as DynamoDB Local.
package ddbclient

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// New returns a DynamoDB client. With endpoint set (DynamoDB Local), it uses
// that endpoint with fixed local credentials; otherwise the environment's.
// Retries are bounded so that a failing table fails a request well inside a
// Lambda timeout, and every HTTP call has its own deadline.
// optFns adjust the client's options further (benchmarks count operations
// with a middleware).
func New(ctx context.Context, endpoint string, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryMaxAttempts(3),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(3 * time.Second)),
	}
	if endpoint != "" {
		opts = append(opts,
			config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("ddbclient: load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local's CRC32 response header does not always match
			// its body; checking it only logs a warning per call.
			o.DisableValidateResponseChecksum = true
		}
	}}, optFns...)...), nil
}
