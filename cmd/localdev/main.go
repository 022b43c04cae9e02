// Command localdev serves the whole API on http://127.0.0.1:3000 against
// DynamoDB Local, with demo data: what `make run` starts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tokensmith/tokensmith/internal/localdev"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/upstream/upstreamyaml"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localdev:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// upstreamFile names the upstream declaration make run reads.
func upstreamFile() string {
	if f := os.Getenv(upstreamyaml.EnvFile); f != "" {
		return f
	}
	return "upstreams.yaml"
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	addr := env("ADDR", defaults.Addr)
	baseURL := "http://" + addr
	dir := env("LOCAL_DIR", defaults.Dir)
	// The authorizer cache is off locally unless asked for, so that a
	// revoked token fails on the very next call of the walkthrough.
	ttl, err := strconv.Atoi(env("AUTHORIZER_CACHE_TTL", "0"))
	if err != nil {
		return fmt.Errorf("AUTHORIZER_CACHE_TTL: %w", err)
	}
	stack, err := localdev.Start(ctx, localdev.Config{
		Endpoint: env("DYNAMODB_ENDPOINT", defaults.Endpoint),
		Table:    env("TABLE_NAME", defaults.Table),
		Dir:      dir, BaseURL: baseURL, CacheTTL: time.Duration(ttl) * time.Second, Log: log,
		// Leak reports are checked against the local GitHub key unless
		// GITHUB_KEYS_URL names other keys.
		GitHubKeysURL: os.Getenv(secretscanning.EnvKeysURL),
		// Each invocation's metrics record goes to the log beside the
		// functions' own lines, as in AWS.
		Metrics: os.Stderr,
		// The upstream declaration: TOKENSMITH_UPSTREAMS, else the
		// repository's, with the demo CMS unless CMS_UPSTREAM_URL is set.
		Getenv: os.LookupEnv,
		// Every audit event is published to events.jsonl, one JSON line
		// each, as the stack's EventBridge bus receives it in AWS.
		Events: filepath.Join(dir, "events.jsonl"),
	})
	if err != nil {
		return err
	}
	demo, err := stack.SeedDemo(ctx, baseURL, time.Now())
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(demo, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "demo.json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write demo.json: %w", err)
	}
	// demo.env holds the same for shells: `. .local/demo.env`.
	envFile := fmt.Sprintf("BASE_URL=%s\nWORKSPACE_ID=%s\nWORKSPACE_SLUG=%s\nSITE_ID=%s\nADMIN_TOKEN=%s\nMEMBER_TOKEN=%s\n",
		demo.BaseURL, demo.WorkspaceID, demo.WorkspaceSlug, demo.SiteID, demo.AdminToken, demo.MemberToken)
	if err := os.WriteFile(filepath.Join(dir, "demo.env"), []byte(envFile), 0o600); err != nil {
		return fmt.Errorf("write demo.env: %w", err)
	}
	leaks := fmt.Sprintf(`Leak reports to %s/v2/secret-scanning/github are checked against %s;
`+"`go run ./cmd/tokenctl dev-leak-report --token T`"+` prints one signed by it (README.md, Leaked tokens).

`, baseURL, filepath.Join(dir, defaults.GitHubKeyFile))
	if url := os.Getenv(secretscanning.EnvKeysURL); url != "" {
		leaks = fmt.Sprintf("Leak reports to %s/v2/secret-scanning/github are checked against the keys at %s.\n\n", baseURL, url)
	}
	defer stack.Close()
	upstreams := fmt.Sprintf("Upstream routes: %d, of %s.\n", len(stack.Upstreams.Routes()), upstreamFile())
	if stack.DemoCMS != "" {
		upstreams += fmt.Sprintf("The demo CMS (the cms upstream) is at %s; README.md, Your API behind tokensmith, walks through it.\n", stack.DemoCMS)
	}
	leaks += upstreams + fmt.Sprintf("Every audit event is published as one JSON line to %s.\n\n", filepath.Join(dir, "events.jsonl"))
	srv := &http.Server{Addr: addr, Handler: stack.Handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Printf(`tokensmith is serving on %s (demo data in %s and demo.env)

Sign in to the console at %s
through the local issuer's page (%s): choose %s or %s, no password.

Mint a site token as the workspace admin, from another shell:

  . %s
  curl -s -X POST "$BASE_URL/v2/sites/$SITE_ID/tokens" \
    -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"CMS sync","permissions":{"sites":"read","cms":"read_write"}}'

%s`, baseURL, filepath.Join(dir, "demo.json"), baseURL+defaults.ConsolePath, stack.Issuer.URL(),
		localdev.DemoAdminEmail, localdev.DemoMemberEmail, filepath.Join(dir, "demo.env"), leaks)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
