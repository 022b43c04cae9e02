// Package serversecret reads the server-side secret that idempotency
// records are keyed with: from AWS Secrets Manager, once, at the first
// request that needs it, or for a local run from the environment. The secret is never in the table,
// so a copy of the table (or a backup) alone cannot turn a guessed
// Idempotency-Key into its record or open the secret the record holds.
package serversecret

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
)

// Variables Load reads. The template sets EnvARN to the secret it creates
// and EnvValue empty; a local run (events/env.json, `make run`) sets
// EnvValue to a development value instead.
const (
	EnvARN   = "IDEMPOTENCY_SECRET_ARN"
	EnvValue = "IDEMPOTENCY_SECRET"
)

// MinLen is the shortest secret accepted, in bytes: 32 bytes of a secret
// the template generates (64 letters and digits) put it out of reach of an
// offline search.
const MinLen = 32

// Errors of Load.
var (
	ErrUnset    = errors.New("serversecret: neither IDEMPOTENCY_SECRET_ARN nor IDEMPOTENCY_SECRET is set")
	ErrTooShort = errors.New("serversecret: secret is too short")
)

// API is the Secrets Manager call Load makes.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Load returns the secret the environment getenv names: EnvValue's value
// when set, otherwise the string of the secret EnvARN names, read with api.
// It fails, and the function with it, when neither is set, the read fails
// or the secret is shorter than MinLen: idempotent creation never runs
// with a weaker key.
func Load(ctx context.Context, getenv func(string) string, api API) ([]byte, error) {
	arn, value := getenv(EnvARN), getenv(EnvValue)
	var secret string
	switch {
	case value != "":
		secret = value
	case arn != "":
		out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("serversecret: read %s: %w", arn, err)
		}
		secret = aws.ToString(out.SecretString)
	default:
		return nil, ErrUnset
	}
	if len(secret) < MinLen {
		return nil, fmt.Errorf("%w (%d bytes; at least %d)", ErrTooShort, len(secret), MinLen)
	}
	return []byte(secret), nil
}

// Lazy is the secret the environment names, read by Load at its first use
// rather than at cold start: only a create with an Idempotency-Key needs it,
// so the other requests of a new instance do not wait for Secrets Manager,
// and neither does the cold start. A failed read is not kept: the next use
// reads again.
type Lazy struct {
	getenv func(string) string
	api    API

	mu     sync.Mutex
	secret []byte
}

// NewLazy checks at once what needs no read (one of EnvARN and EnvValue is
// set; a local value is long enough), so a misconfigured function still
// fails to start, and returns the Lazy that reads the rest when first used.
func NewLazy(getenv func(string) string, api API) (*Lazy, error) {
	l := &Lazy{getenv: getenv, api: api}
	switch {
	case getenv(EnvValue) != "":
		s, err := Load(context.Background(), getenv, api)
		if err != nil {
			return nil, err
		}
		l.secret = s
	case getenv(EnvARN) == "":
		return nil, ErrUnset
	}
	return l, nil
}

// Secret returns the secret, reading it the first time.
func (l *Lazy) Secret(ctx context.Context) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.secret != nil {
		return l.secret, nil
	}
	s, err := Load(ctx, l.getenv, l.api)
	if err != nil {
		return nil, err
	}
	l.secret = s
	return s, nil
}

// EnvEndpoint is the SDKs' variable for a Secrets Manager endpoint other
// than the region's (AWS SDKs and Tools Reference Guide, "Service-specific
// endpoints"); Client honours it as the SDK's config package would. The
// benchmarks point it at a loopback stub.
const EnvEndpoint = "AWS_ENDPOINT_URL_SECRETS_MANAGER"

// Client returns the Secrets Manager client of the region and credentials
// Lambda puts in the environment getenv reads, with the bounds of
// ddbclient: a read that cannot succeed fails within ddbclient.WorstCase.
func Client(getenv func(string) string) (*secretsmanager.Client, error) {
	region, key, secret := getenv(ddbclient.EnvRegion), getenv(ddbclient.EnvKeyID), getenv(ddbclient.EnvSecret)
	if region == "" || key == "" || secret == "" {
		return nil, errors.New("serversecret: AWS_REGION and AWS credentials are not in the environment")
	}
	var endpoint *string
	if e := getenv(EnvEndpoint); e != "" {
		endpoint = aws.String(e)
	}
	return secretsmanager.New(secretsmanager.Options{
		BaseEndpoint: endpoint,
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, getenv(ddbclient.EnvSession)),
		Retryer: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = ddbclient.MaxAttempts
			so.MaxBackoff = ddbclient.MaxBackoff
		}),
		HTTPClient: awshttp.NewBuildableClient().WithTimeout(ddbclient.AttemptTimeout),
	}), nil
}
