// Package eventstest feeds the sample events of events/ (what `sam local
// invoke -e` takes) to the functions' handlers against a seeded DynamoDB
// Local table, and compares what they answer with the golden files in
// events/golden/. `go test ./functions/... -update` rewrites the goldens.
package eventstest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

var update = flag.Bool("update", false, "rewrite events/golden/ from what the handlers answer")

// The fixture the sample events name.
const (
	WorkspaceID = "65f0c0ffee00000000000001"
	SiteID      = "65f0c0ffee00000000000002"
	OtherSiteID = "65f0c0ffee00000000000003"
	TokenID     = "65f0c0ffee00000000000010"
	UserID      = "65f0c0ffee00000000000020"
	// Secret is the site token events/authorizer-api-token.json presents:
	// Generate's output for the fixed bytes of fixedReader.
	Secret = "tss_BmNyZAlEpQ1cDoHsT4fGrKvW7iJuNyZAlMxQ1cDo0qg1mu"
)

type fixedReader struct{}

func (fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*37 + 11)
	}
	return len(p), nil
}

// Env creates a table holding the fixture and returns the environment a
// function's wiring reads.
func Env(t *testing.T) func(string) string {
	t.Helper()
	db, table := dynamotest.NewTable(t)
	st := store.New(db, table)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ws := store.Workspace{ID: WorkspaceID, Slug: "hitchhikers", Name: "Hitchhikers", Plan: store.PlanEnterprise, CreatedOn: now}
	must(st.CreateWorkspace(ctx, ws))
	for _, s := range []store.Site{
		{ID: SiteID, WorkspaceID: WorkspaceID, DisplayName: "Heart of Gold Spaceship", ShortName: "heart-of-gold", TimeZone: "UTC", CreatedOn: now, LastUpdated: now},
		{ID: OtherSiteID, WorkspaceID: WorkspaceID, DisplayName: "Bistromath", ShortName: "bistromath", TimeZone: "UTC", CreatedOn: now, LastUpdated: now},
	} {
		must(st.CreateSite(ctx, s))
	}
	u, err := st.EnsureUser(ctx, "admin@example.com", UserID)
	must(err)
	ev := func(sub string) store.AuditEvent {
		return store.AuditEvent{ID: sub, EventType: "workspace_membership", EventSubType: sub, Timestamp: now,
			Actor: store.Actor{Type: store.ActorSystem}, Workspace: store.WorkspaceRef{ID: ws.ID, Slug: ws.Slug}}
	}
	must(st.PutMembership(ctx, store.Scope{WorkspaceID: WorkspaceID}, u.ID, store.RoleAdmin, "", ev("user_added")))
	secret, err := token.Generate(token.KindSite, fixedReader{})
	must(err)
	if secret != Secret {
		t.Fatalf("fixture secret = %s; events name %s", secret, Secret)
	}
	perms := scope.Permissions{"sites": scope.Read}
	tok := store.Token{ID: TokenID, Kind: token.KindSite, Name: "CMS sync", SiteID: SiteID, WorkspaceID: WorkspaceID,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)), DisplayHint: token.DisplayHint(secret),
		SecretHash: token.Hash(secret), CreatedOn: now, CreatedBy: store.Actor{Type: store.ActorPerson, ID: u.ID, Email: u.Email},
		ExpiresOn: now.Add(token.Inactivity)}
	created := ev("token_created")
	created.EventType = store.EventAPIToken
	must(st.CreateToken(ctx, 0, tok, created, nil, now))

	env := map[string]string{
		"TABLE_NAME": table, "DYNAMODB_ENDPOINT": dynamotest.Endpoint(),
		"OIDC_ISSUER": "http://127.0.0.1:1/issuer", "OIDC_AUDIENCE": "tokensmith-local",
	}
	return func(k string) string { return env[k] }
}

// root is the repository's root, where events/ is.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)

// Check feeds every events/<function>-*.json to invoke and compares the
// answer (or the error) with its golden file. Times are masked, since the
// fixture is made at test time.
func Check(t *testing.T, function string, invoke func(ctx context.Context, event []byte) (any, error)) {
	files, err := filepath.Glob(filepath.Join(root(), "events", function+"-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/%s-*.json: %v", function, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := invoke(context.Background(), raw)
			var result any = out
			if err != nil {
				result = map[string]string{"error": err.Error()}
			}
			got := render(t, result)
			golden := filepath.Join(root(), "events", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden for %s (run go test ./functions/... -update): %v", name, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s answers\n%s\nwant (events/golden/%s.json)\n%s", name, got, name, want)
			}
		})
	}
}

// render turns a handler's answer into indented JSON, with a JSON body
// shown as JSON and times masked.
func render(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if body, ok := m["body"].(string); ok {
		var parsed any
		if json.Unmarshal([]byte(body), &parsed) == nil {
			m["body"] = parsed
		}
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(timestamp.ReplaceAll(out, []byte("<time>")), '\n')
}

// Wiring is a function's newHandler: what its main builds from the
// environment.
type Wiring[E, R any] func(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, E) (R, error), error)

// Run wires the function named function on the fixture's environment and
// checks every events/<function>-*.json against its golden answer; it also
// checks that the wiring fails fast, naming TABLE_NAME, with no environment.
// It returns the environment, for checks of what the events wrote.
func Run[E, R any](t *testing.T, function string, newHandler Wiring[E, R]) func(string) string {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	t.Run("fails fast", func(t *testing.T) {
		if _, err := newHandler(context.Background(), func(string) string { return "" }, log); err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
			t.Errorf("newHandler with no environment = %v; want an error naming TABLE_NAME", err)
		}
	})
	getenv := Env(t)
	h, err := newHandler(context.Background(), getenv, log)
	if err != nil {
		t.Fatal(err)
	}
	Check(t, function, func(ctx context.Context, raw []byte) (any, error) {
		var ev E
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		return h(ctx, ev)
	})
	return getenv
}
