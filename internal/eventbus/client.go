package eventbus

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
)

// Variables a function that publishes reads. EVENTBRIDGE_ENDPOINT comes
// from the template (empty in AWS) and names a local endpoint in tests.
const (
	EnvBusName  = "EVENT_BUS_NAME"
	EnvEndpoint = "EVENTBRIDGE_ENDPOINT"
)

// FromEnv returns the Bus the environment getenv describes: the bus
// EVENT_BUS_NAME names, through a client with the region and credentials
// Lambda puts in the environment, or of EVENTBRIDGE_ENDPOINT when set. Like
// ddbclient it builds the client without the SDK's config package, and
// with the same bounds of a call.
func FromEnv(getenv func(string) string) (*Bus, error) {
	name := getenv(EnvBusName)
	if name == "" {
		return nil, errors.New("environment variable " + EnvBusName + " is not set")
	}
	o := eventbridge.Options{
		Retryer: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = ddbclient.MaxAttempts
			so.MaxBackoff = ddbclient.MaxBackoff
		}),
		HTTPClient: awshttp.NewBuildableClient().WithTimeout(ddbclient.AttemptTimeout),
	}
	if endpoint := getenv(EnvEndpoint); endpoint != "" {
		o.Region = "us-east-1"
		o.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		o.BaseEndpoint = aws.String(endpoint)
		return &Bus{API: eventbridge.New(o), Name: name}, nil
	}
	o.Region = getenv(ddbclient.EnvRegion)
	key, secret := getenv(ddbclient.EnvKeyID), getenv(ddbclient.EnvSecret)
	if o.Region == "" || key == "" || secret == "" {
		return nil, errors.New("eventbus: AWS_REGION and AWS credentials are not in the environment (set " + EnvEndpoint + " for a local endpoint)")
	}
	o.Credentials = credentials.NewStaticCredentialsProvider(key, secret, getenv(ddbclient.EnvSession))
	return &Bus{API: eventbridge.New(o), Name: name}, nil
}
