package assertion

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// EnvSecretARN names the Secrets Manager secret that holds the key ring.
// The template creates it holding no key ({"keys":[]}); the first cold
// start of the upstream function generates the first key and writes it
// there (Load), so that the private key is made in the stack, by the stack,
// and exists nowhere else.
const EnvSecretARN = "ASSERTION_KEY_SECRET_ARN"

// firstKeyToken is the ClientRequestToken of the secret's first key:
// Secrets Manager makes one version per token, so of cold starts racing to
// write the first key one writes it and the others' writes fail, after
// which they read the one written.
const firstKeyToken = "tokensmith-assertion-key-first-0000"

// API is the Secrets Manager calls Load and Rotate make.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// ring is the secret's JSON: the current key first.
type ring struct {
	Keys []storedKey `json:"keys"`
}

type storedKey struct {
	// Key is the private key, SEC 1 DER.
	Key       []byte     `json:"key"`
	RetiredAt *time.Time `json:"retiredAt,omitempty"`
}

func (r ring) keys() ([]Key, error) {
	var out []Key
	for i, s := range r.Keys {
		priv, err := x509.ParseECPrivateKey(s.Key)
		if err != nil {
			return nil, fmt.Errorf("assertion: key %d of the secret: %w", i, err)
		}
		k, err := NewKey(priv)
		if err != nil {
			return nil, err
		}
		if s.RetiredAt != nil {
			k.RetiredAt = *s.RetiredAt
		}
		out = append(out, k)
	}
	return out, nil
}

func encode(keys []Key) (string, error) {
	var r ring
	for _, k := range keys {
		der, err := x509.MarshalECPrivateKey(k.Private)
		if err != nil {
			return "", fmt.Errorf("assertion: encode key: %w", err)
		}
		s := storedKey{Key: der}
		if !k.RetiredAt.IsZero() {
			at := k.RetiredAt
			s.RetiredAt = &at
		}
		r.Keys = append(r.Keys, s)
	}
	b, err := json.Marshal(r)
	return string(b), err
}

func read(ctx context.Context, api API, arn string) ([]Key, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("assertion: read %s: %w", arn, err)
	}
	var r ring
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &r); err != nil {
		return nil, fmt.Errorf("assertion: the secret %s is not a key ring", arn)
	}
	return r.keys()
}

// Load returns the key ring of the secret arn, generating and writing the
// first key when the secret holds none. Nothing of a private key is ever
// logged or put in an error.
func Load(ctx context.Context, api API, arn string) ([]Key, error) {
	keys, err := read(ctx, api, arn)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	k, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	value, err := encode([]Key{k})
	if err != nil {
		return nil, err
	}
	_, err = api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), SecretString: aws.String(value), ClientRequestToken: aws.String(firstKeyToken),
	})
	var exists *smtypes.ResourceExistsException
	switch {
	case err == nil:
		return []Key{k}, nil
	case errors.As(err, &exists):
		// Another cold start wrote the first key: use it.
		keys, err := read(ctx, api, arn)
		if err == nil && len(keys) == 0 {
			err = fmt.Errorf("assertion: the secret %s holds no key after its first key was written", arn)
		}
		return keys, err
	}
	return nil, fmt.Errorf("assertion: write the first key to %s: %w", arn, err)
}

// Rotate makes a new current key in the secret arn at now: the previous
// current key is retired at now and stays published for Retention; keys
// retired longer ago are dropped, and with dropAll every previous key is
// (after a leak). Running functions pick the ring up at their next cold
// start (docs/OPERATIONS.md says how to start them anew).
func Rotate(ctx context.Context, api API, arn string, now time.Time, dropAll bool) (Key, error) {
	keys, err := read(ctx, api, arn)
	if err != nil {
		return Key{}, err
	}
	k, err := GenerateKey()
	if err != nil {
		return Key{}, err
	}
	next := []Key{k}
	if dropAll {
		keys = nil
	}
	for i, old := range keys {
		if i == 0 {
			old.RetiredAt = now
		}
		if now.Sub(old.RetiredAt) <= Retention {
			next = append(next, old)
		}
	}
	value, err := encode(next)
	if err != nil {
		return Key{}, err
	}
	if _, err := api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(value)}); err != nil {
		return Key{}, fmt.Errorf("assertion: write the rotated ring to %s: %w", arn, err)
	}
	return k, nil
}

// EnvKey is a local run's key instead (events/env.json, `sam local`): a
// P-256 private key in PEM. The template sets it empty.
const EnvKey = "ASSERTION_KEY"

// FromEnv returns the key ring getenv names: EnvKey's key when set,
// otherwise the ring of the secret EnvSecretARN names, read (and its first
// key written) with api. Neither set is an error naming both.
func FromEnv(ctx context.Context, getenv func(string) string, api API) ([]Key, error) {
	pemKey, arn := getenv(EnvKey), getenv(EnvSecretARN)
	if pemKey != "" {
		block, _ := pem.Decode([]byte(pemKey))
		if block == nil {
			return nil, fmt.Errorf("assertion: %s holds no PEM key", EnvKey)
		}
		priv, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("assertion: %s: %w", EnvKey, err)
		}
		k, err := NewKey(priv)
		if err != nil {
			return nil, err
		}
		return []Key{k}, nil
	}
	if arn != "" {
		return Load(ctx, api, arn)
	}
	return nil, fmt.Errorf("assertion: neither %s nor %s is set", EnvSecretARN, EnvKey)
}
