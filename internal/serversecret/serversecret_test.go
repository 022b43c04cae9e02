package serversecret_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokensmith/tokensmith/internal/serversecret"
)

// fakeAPI answers GetSecretValue with its function field.
type fakeAPI struct {
	GetSecretValueFn func(id string) (string, error)
}

func (f fakeAPI) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s, err := f.GetSecretValueFn(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}, nil
}

func TestLoad(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:idem-AbCdEf"
	long := strings.Repeat("k", serversecret.MinLen)
	errDown := errors.New("service unavailable")
	api := fakeAPI{GetSecretValueFn: func(id string) (string, error) {
		switch id {
		case arn:
			return long + "from-aws", nil
		case arn + "-short":
			return "short", nil
		}
		return "", errDown
	}}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr error
	}{
		{"from secrets manager", map[string]string{serversecret.EnvARN: arn}, long + "from-aws", nil},
		{"local value first", map[string]string{serversecret.EnvARN: arn, serversecret.EnvValue: long}, long, nil},
		{"unreadable", map[string]string{serversecret.EnvARN: arn + "-gone"}, "", errDown},
		{"short in secrets manager", map[string]string{serversecret.EnvARN: arn + "-short"}, "", serversecret.ErrTooShort},
		{"short local value", map[string]string{serversecret.EnvValue: "dev"}, "", serversecret.ErrTooShort},
		{"unset", map[string]string{}, "", serversecret.ErrUnset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serversecret.Load(context.Background(), func(k string) string { return tc.env[k] }, api)
			if string(got) != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("Load = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestLazy: the secret is read at its first use, not before; a failed read
// is not kept; a good one is read once; what needs no read is checked at
// once.
func TestLazy(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:idem-AbCdEf"
	long := strings.Repeat("k", serversecret.MinLen)
	reads, down := 0, true
	api := fakeAPI{GetSecretValueFn: func(string) (string, error) {
		reads++
		if down {
			return "", errors.New("service unavailable")
		}
		return long, nil
	}}
	ctx := context.Background()
	l, err := serversecret.NewLazy(func(k string) string { return map[string]string{serversecret.EnvARN: arn}[k] }, api)
	if err != nil || reads != 0 {
		t.Fatalf("NewLazy = %v after %d reads; want no error and no read", err, reads)
	}
	if _, err := l.Secret(ctx); err == nil {
		t.Error("Secret while Secrets Manager fails = nil error")
	}
	down = false
	for range 2 {
		if got, err := l.Secret(ctx); err != nil || string(got) != long {
			t.Errorf("Secret = %q, %v; want the secret", got, err)
		}
	}
	if reads != 2 {
		t.Errorf("%d reads; want 2 (the failed one, then one kept)", reads)
	}

	for name, env := range map[string]map[string]string{
		"unset": {},
		"short": {serversecret.EnvValue: "dev"},
	} {
		if _, err := serversecret.NewLazy(func(k string) string { return env[k] }, api); err == nil {
			t.Errorf("NewLazy %s = nil error; want the function not to start", name)
		}
	}
	local, err := serversecret.NewLazy(func(k string) string { return map[string]string{serversecret.EnvValue: long}[k] }, api)
	if err != nil {
		t.Fatal(err)
	}
	reads = 0
	if got, err := local.Secret(ctx); err != nil || string(got) != long || reads != 0 {
		t.Errorf("local Secret = %q, %v after %d reads; want the value, no read", got, err, reads)
	}
}
