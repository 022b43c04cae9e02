// Package eventstest holds each function's wiring (the newHandler of its
// main) to what is deployed: it feeds the sample events of events/ (what
// `sam local invoke -e` takes) to the handler against a seeded DynamoDB
// Local table, on a fixed clock and fixed randomness, and compares what it
// answers with the golden files in events/golden/; it compares the
// environment variables the wiring reads with those template.yaml sets; and
// it compares the DynamoDB actions the handler called with those the
// function's IAM policy grants. `go test ./functions/... -update` rewrites
// the goldens.
package eventstest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/eventbridgetest"
	"github.com/tokensmith/tokensmith/internal/eventbus"
	"github.com/tokensmith/tokensmith/internal/githubtest"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/serversecret"
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
	MemberID    = "65f0c0ffee00000000000030"
	// InvitedID is a member invited and not yet bound: ford@example.com.
	InvitedID = "65f0c0ffee00000000000031"
	// OldSiteMemberID is the admin's membership of the other site, bound
	// under an email they had before; RedundantID an operator's
	// invitation of their current email there.
	OldSiteMemberID = "65f0c0ffee00000000000032"
	RedundantID     = "65f0c0ffee00000000000033"
	// Issuer is the user-token issuer of the fixture's environment.
	Issuer = "http://127.0.0.1:1/issuer"
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

// Time is the fixture's clock: the fixture is made then and the handlers
// run then, so that the golden answers hold exact times. It is the
// requestTime of the sample events.
var Time = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

// Now is the handlers' clock: always Time.
func Now() time.Time { return Time }

// Rand returns the handlers' randomness (of secrets and ids): the same
// stream on every call, so that the golden answers hold exact secrets and
// ids.
func Rand() io.Reader {
	return mrand.NewChaCha8([32]byte([]byte("tokensmith sample events fixture")))
}

// Fixture is a table holding what the sample events name, behind a proxy
// that records the DynamoDB actions the handler calls.
type Fixture struct {
	// LogicalID is the function's logical id in template.yaml.
	LogicalID string
	// Getenv is the environment the function's wiring reads: the table, with
	// DYNAMODB_ENDPOINT at the recording proxy.
	Getenv func(string) string
	// Store reads and writes the table directly, unrecorded.
	Store *store.Store
	// Secrets is the Secrets Manager the wiring reads the idempotency
	// secret from (Getenv names it by IDEMPOTENCY_SECRET_ARN): it answers
	// SecretValue and records the call beside the DynamoDB ones.
	Secrets serversecret.API
	// Bus is the EventBridge the wiring publishes to (Getenv names it by
	// EVENTBRIDGE_ENDPOINT and EVENT_BUS_NAME).
	Bus   *eventbridgetest.Server
	calls *recorder
}

// BusName is the name the fixture gives the stack's event bus.
const BusName = "tokensmith-events"

// SecretValue is the idempotency secret Fixture.Secrets answers.
const SecretValue = "tokensmith sample events fixture idempotency secret"

// secretARN is the ARN the fixture gives the idempotency secret; its last
// part is the secret's logical id in template.yaml.
const secretARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:IdempotencySecret"

// newFixture creates a table holding the fixture for the function
// logicalID.
func newFixture(t *testing.T, logicalID string) *Fixture {
	t.Helper()
	db, table := dynamotest.NewTable(t)
	st := store.New(db, table)
	ctx := context.Background()
	now := Time
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ws := tokensmith.Workspace{ID: WorkspaceID, Slug: "hitchhikers", Name: "Hitchhikers", Plan: tokensmith.PlanEnterprise, CreatedOn: now}
	must(st.CreateWorkspace(ctx, ws))
	for _, s := range []tokensmith.Site{
		{ID: SiteID, WorkspaceID: WorkspaceID, DisplayName: "Heart of Gold Spaceship", ShortName: "heart-of-gold", TimeZone: "UTC", CreatedOn: now, LastUpdated: now},
		{ID: OtherSiteID, WorkspaceID: WorkspaceID, DisplayName: "Bistromath", ShortName: "bistromath", TimeZone: "UTC", CreatedOn: now, LastUpdated: now},
	} {
		must(st.CreateSite(ctx, s))
	}
	// Each event has an id of its own, as the service gives them.
	events := 0
	ev := func(sub string) tokensmith.Event {
		events++
		return tokensmith.Event{ID: fmt.Sprintf("65f0c0ffee0000000000e0%02x", events), Type: audit.TypeWorkspaceMembership, SubType: sub, Timestamp: now,
			Actor: tokensmith.Actor{Type: tokensmith.ActorSystem}, Workspace: tokensmith.WorkspaceRef{ID: ws.ID, Slug: ws.Slug}}
	}
	// The admin is invited and has signed in: the membership is bound to
	// the issuer and subject the sample events' authorizer context names.
	u := tokensmith.User{ID: UserID, Issuer: Issuer, Subject: UserID, Email: "admin@example.com"}
	m := tokensmith.Member{ID: MemberID, Place: tokensmith.Place{WorkspaceID: WorkspaceID}, Email: u.Email, Role: tokensmith.RoleAdmin,
		AddedOn: now, AddedBy: tokensmith.Actor{Type: tokensmith.ActorSystem}}
	must(st.AddMember(ctx, m, ev(audit.SubUserAdded)))
	must(st.CreateUser(ctx, u))
	must(st.BindMember(ctx, m, u, ev(audit.SubInvitationAccepted)))
	invited := tokensmith.Member{ID: InvitedID, Place: m.Place, Email: "ford@example.com", Role: tokensmith.RoleMember, AddedOn: now, AddedBy: m.AddedBy}
	must(st.AddMember(ctx, invited, ev(audit.SubUserAdded)))
	// The admin also administers the other site, bound under the email
	// they had before, and an operator has invited their current email
	// there too: the invitation is redundant, and the first sign-in of any
	// function drops it (a transaction with a condition check).
	old := tokensmith.Member{ID: OldSiteMemberID, Place: tokensmith.Place{WorkspaceID: WorkspaceID, SiteID: OtherSiteID}, Email: "arthur.old@example.com",
		Role: tokensmith.RoleAdmin, AddedOn: now, AddedBy: m.AddedBy}
	must(st.AddMember(ctx, old, ev(audit.SubUserAdded)))
	must(st.BindMember(ctx, old, u, ev(audit.SubInvitationAccepted)))
	redundant := tokensmith.Member{ID: RedundantID, Place: old.Place, Email: u.Email, Role: tokensmith.RoleAdmin, AddedOn: now, AddedBy: m.AddedBy}
	must(st.AddMember(ctx, redundant, ev(audit.SubUserAdded)))
	secret, err := token.Generate(token.KindSite, fixedReader{})
	must(err)
	if secret != Secret {
		t.Fatalf("fixture secret = %s; events name %s", secret, Secret)
	}
	perms := scope.Permissions{"sites": scope.Read}
	tok := tokensmith.Token{ID: TokenID, Kind: token.KindSite, Name: "CMS sync", SiteID: SiteID, WorkspaceID: WorkspaceID,
		Permissions: perms, Scope: scope.Join(scope.Expand(perms)), DisplayHint: token.DisplayHint(secret),
		SecretHash: token.Hash(secret), CreatedOn: now, CreatedBy: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: u.ID, Email: u.Email},
		ExpiresOn: now.Add(token.Inactivity)}
	created := ev(audit.SubTokenCreated)
	created.Type = audit.TypeAPIToken
	must(st.CreateToken(ctx, 0, "", 0, tok, created, nil, now))

	bus := eventbridgetest.Start(t)
	calls, err := newRecorder(dynamotest.Endpoint(), table)
	must(err)
	srv := httptest.NewServer(calls)
	t.Cleanup(srv.Close)
	env := map[string]string{
		"TABLE_NAME": table, "DYNAMODB_ENDPOINT": srv.URL,
		"OIDC_ISSUER": Issuer, "OIDC_AUDIENCE": "tokensmith-console",
		// The console's page configuration.
		"OIDC_CLIENT_ID": "tokensmith-console", "OIDC_TOKEN_ORIGIN": "https://tokensmith.auth.us-east-1.amazoncognito.com",
		"API_BASE_URL":                     "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod",
		"CONSOLE_REDIRECT_URI":             "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/console/",
		"CONSOLE_POST_LOGOUT_REDIRECT_URI": "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/console/",
		serversecret.EnvARN:                secretARN,
		// GitHub's secret scanning keys: the key the sample reports are
		// signed with, served locally.
		secretscanning.EnvKeysURL: githubtest.Serve(t, githubtest.Fixed(t)).URL,
		// The upstream function's: its key secret, and the cms upstream of
		// upstreams.yaml, served locally.
		assertion.EnvSecretARN: assertionKeyARN,
		"CMS_UPSTREAM_URL":     serveUpstream(t),
		// The event bus, served locally.
		eventbus.EnvBusName: BusName, eventbus.EnvEndpoint: bus.URL,
	}
	sm := secrets{calls: calls, keys: &keySecret{value: `{"keys":[]}`, versions: map[string]string{}}}
	return &Fixture{LogicalID: logicalID, Getenv: func(k string) string { return env[k] }, Store: st, Secrets: sm, Bus: bus, calls: calls}
}

// serveUpstream serves the cms upstream of upstreams.yaml for the sample
// events: a request with an assertion is answered with the collections of
// the site it names, none; one without, 401.
func serveUpstream(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get(assertion.Header) == "" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code":"not_authorized","message":"Request not authorized","externalReference":null,"details":[]}`)
			return
		}
		io.WriteString(w, `{"collections":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// functionDir is the package under functions/ of the function logicalID
// (tokens for TokensFunction), which is also its sample events' prefix.
func functionDir(logicalID string) string {
	return strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}

// root is the repository's root, where events/ is.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// check feeds every events/<function>-*.json to answer, which returns what
// the function answered as render shows it, and compares that with its
// golden file: exactly, or with same when it is not nil (and then -update
// leaves the goldens alone).
func check(t *testing.T, function string, answer func(t *testing.T, event []byte) []byte, same func(got, want []byte) error) {
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
			got := answer(t, raw)
			golden := filepath.Join(root(), "events", "golden", name+".json")
			if *update && same == nil {
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
			if same == nil && !bytes.Equal(got, want) {
				t.Errorf("%s answers\n%s\nwant (events/golden/%s.json)\n%s", name, got, name, want)
			}
			if same != nil {
				if err := same(got, want); err != nil {
					t.Errorf("%s answers\n%s\nwant (events/golden/%s.json)\n%s\n%v", name, got, name, want, err)
				}
			}
		})
	}
}

// errorAnswer is how the goldens show a function's error.
func errorAnswer(message string) map[string]string { return map[string]string{"error": message} }

// render turns a handler's answer into indented JSON, with a JSON body
// shown as JSON.
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
	return append(out, '\n')
}

// Wiring is a function's newHandler: what its main builds from the
// environment.
type Wiring[E, R any] func(ctx context.Context, getenv func(string) string, log *slog.Logger) (func(context.Context, E) (R, error), error)

// Run wires the function logicalID on the fixture's environment and checks
// every events/<function>-*.json against its golden answer; it also checks
// that the wiring fails fast, naming TABLE_NAME, with no environment. It
// returns the fixture, for checks of what the events wrote and of the
// actions they called (CheckPolicy).
func Run[E, R any](t *testing.T, logicalID string, newHandler Wiring[E, R]) *Fixture {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	t.Run("fails fast", func(t *testing.T) {
		// A function with a table names TABLE_NAME; one without names one of
		// the variables template.yaml sets for it.
		_, fn := function(t, logicalID)
		names := []string{"TABLE_NAME"}
		if _, ok := fn.Environment.Variables["TABLE_NAME"]; !ok {
			names = slices.Collect(maps.Keys(fn.Environment.Variables))
		}
		_, err := newHandler(context.Background(), func(string) string { return "" }, log)
		if err == nil || !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(err.Error(), n) }) {
			t.Errorf("newHandler with no environment = %v; want an error naming one of %v", err, names)
		}
	})
	fx := newFixture(t, logicalID)
	h, err := newHandler(context.WithValue(context.Background(), secretsKey{}, fx.Secrets), fx.Getenv, log)
	if err != nil {
		t.Fatal(err)
	}
	check(t, functionDir(logicalID), func(t *testing.T, raw []byte) []byte {
		var ev E
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		out, err := h(context.Background(), ev)
		if err != nil {
			return render(t, errorAnswer(err.Error()))
		}
		return render(t, out)
	}, nil)
	return fx
}
