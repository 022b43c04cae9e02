package rie

import (
	"testing"
)

// TestEnv holds the environment of a local run to events/env.json, read on
// the host, and to what Lambda takes from template.yaml.
func TestEnv(t *testing.T) {
	for _, tc := range []struct {
		function string
		want     map[string]string
	}{
		{"AuthorizerFunction", map[string]string{
			"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000", "OIDC_ISSUER": "http://127.0.0.1:3000/dev-issuer",
			"AWS_LAMBDA_FUNCTION_NAME": "AuthorizerFunction", "AWS_LAMBDA_FUNCTION_TIMEOUT": "10",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_REGION": "us-east-1",
		}},
		{"SecretScanningFunction", map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "28", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}},
		{"ConsoleFunction", map[string]string{"OIDC_ISSUER": "http://127.0.0.1:3000/dev-issuer", "TABLE_NAME": ""}},
	} {
		t.Run(tc.function, func(t *testing.T) {
			env, err := Env("../..", tc.function)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if got := env[k]; got != want {
					t.Errorf("Env(%s)[%s] = %q; want %q", tc.function, k, got, want)
				}
			}
		})
	}
	if _, err := Env("../..", "NoSuchFunction"); err == nil {
		t.Error("Env(NoSuchFunction) succeeded; want an error")
	}
}
