package eventstest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
)

// lambdaEnv are the variables Lambda itself sets in every function's
// environment (the region and the execution role's credentials), which a
// template may not set.
var lambdaEnv = []string{ddbclient.EnvRegion, ddbclient.EnvKeyID, ddbclient.EnvSecret, ddbclient.EnvSession}

// CheckEnv holds the environment variables the wiring of the function
// logicalID reads to those template.yaml sets for it (its own and the
// globals'), both ways. The wiring runs twice on the values of
// events/env.json: as locally, with DYNAMODB_ENDPOINT, and as in AWS,
// without it and with what Lambda sets; every variable read in either run
// counts, and the wiring must succeed in both.
func CheckEnv[E, R any](t *testing.T, logicalID string, newHandler Wiring[E, R]) {
	t.Helper()
	tmpl, fn := function(t, logicalID)
	set := map[string]bool{}
	for k := range tmpl.Globals.Function.Environment.Variables {
		set[k] = true
	}
	for k := range fn.Environment.Variables {
		set[k] = true
	}
	var samples map[string]map[string]string
	b, err := os.ReadFile(filepath.Join(root(), "events", "env.json"))
	if err == nil {
		err = json.Unmarshal(b, &samples)
	}
	if err != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	local := samples[logicalID]
	inAWS := map[string]string{ddbclient.EnvEndpoint: "", ddbclient.EnvRegion: "us-east-1", ddbclient.EnvKeyID: "AKIDEXAMPLE", ddbclient.EnvSecret: "secret", ddbclient.EnvSession: "session"}
	for k, v := range local {
		if _, ok := inAWS[k]; !ok {
			inAWS[k] = v
		}
	}
	read := map[string]bool{}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for name, env := range map[string]map[string]string{"locally": local, "in AWS": inAWS} {
		getenv := func(k string) string {
			read[k] = true
			return env[k]
		}
		if _, err := newHandler(context.Background(), getenv, log); err != nil {
			t.Errorf("%s wiring %s with events/env.json: %v", logicalID, name, err)
		}
	}
	for k := range read {
		if !set[k] && !slices.Contains(lambdaEnv, k) {
			t.Errorf("%s reads %s, which template.yaml does not set for it", logicalID, k)
		}
	}
	for k := range set {
		if !read[k] {
			t.Errorf("template.yaml sets %s for %s, which it never reads", k, logicalID)
		}
	}
}

// function returns the template and its function logicalID.
func function(t *testing.T, logicalID string) (*samtemplate.Template, samtemplate.Function) {
	t.Helper()
	tmpl, err := samtemplate.Load()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := fns[logicalID]
	if !ok {
		t.Fatalf("template.yaml has no function %s", logicalID)
	}
	return tmpl, fn
}
