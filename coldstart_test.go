package tokensmith_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestFunctionsLinkNoSDKSchemas: no function links an AWS SDK service's
// generated schemas package. Releases of the SDK's services from
// dynamodb v1.69.0 and secretsmanager v1.50.0 on build every shape of the
// service at package initialisation (dynamodb's took 3 ms and 590 KB of
// each cold start); the releases before make the same calls without them,
// and go.mod keeps those services, and the DynamoDB feature modules that
// require them, at those releases.
func TestFunctionsLinkNoSDKSchemas(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./functions/...")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/...: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/aws/") && strings.HasSuffix(pkg, "/schemas") {
			t.Errorf("a function links %s, whose initialisation every cold start pays", pkg)
		}
	}
}
