package notify

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
)

// Variables a function that emails reads. NOTIFICATION_SENDER is the
// NotificationSender parameter (empty: nothing is emailed); SES_ENDPOINT
// comes from the template (empty in AWS) and names a local endpoint in
// tests; CONSOLE_URL is where the messages' links point.
const (
	EnvSender     = "NOTIFICATION_SENDER"
	EnvEndpoint   = "SES_ENDPOINT"
	EnvConsoleURL = "CONSOLE_URL"
)

// MailerFromEnv returns the SES mailer the environment getenv describes,
// built as ddbclient builds the DynamoDB client, or nil (and no error) when
// NOTIFICATION_SENDER is empty: the stack then emails nobody.
func MailerFromEnv(getenv func(string) string) (Mailer, error) {
	from := getenv(EnvSender)
	if from == "" {
		return nil, nil
	}
	o := sesv2.Options{
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
		return &SES{API: sesv2.New(o), From: from}, nil
	}
	o.Region = getenv(ddbclient.EnvRegion)
	key, secret := getenv(ddbclient.EnvKeyID), getenv(ddbclient.EnvSecret)
	if o.Region == "" || key == "" || secret == "" {
		return nil, errors.New("notify: AWS_REGION and AWS credentials are not in the environment (set " + EnvEndpoint + " for a local endpoint)")
	}
	o.Credentials = credentials.NewStaticCredentialsProvider(key, secret, getenv(ddbclient.EnvSession))
	return &SES{API: sesv2.New(o), From: from}, nil
}
