package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/ddbclient"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/localdev/scanner"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
	"github.com/tokensmith/tokensmith/internal/usertoken"
)

// fakeSTS answers GetCallerIdentity with its function field.
type fakeSTS struct {
	GetCallerIdentityFn func() (*sts.GetCallerIdentityOutput, error)
}

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return f.GetCallerIdentityFn()
}

// TestAWSOperator: against AWS, the operator is the caller identity's ARN,
// and credentials that cannot name themselves stop tokenctl.
func TestAWSOperator(t *testing.T) {
	const arn = "arn:aws:sts::123456789012:assumed-role/Operators/zaphod"
	errDenied := errors.New("ExpiredToken")
	tests := []struct {
		name    string
		out     *sts.GetCallerIdentityOutput
		err     error
		want    string
		wantErr error
	}{
		{"known", &sts.GetCallerIdentityOutput{Arn: aws.String(arn)}, nil, arn, nil},
		{"refused", nil, errDenied, "", errDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := awsOperator(context.Background(), fakeSTS{GetCallerIdentityFn: func() (*sts.GetCallerIdentityOutput, error) { return tc.out, tc.err }})
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("awsOperator = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	dir := t.TempDir()
	env := map[string]string{"DYNAMODB_ENDPOINT": dynamotest.Endpoint(), "TABLE_NAME": table, "LOCAL_DIR": dir}
	getenv := func(k string) string { return env[k] }
	tokenctl := func(args string) (map[string]any, int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), strings.Fields(args), getenv, &out, &errb)
		var m map[string]any
		if code == 0 {
			if err := json.Unmarshal(out.Bytes(), &m); err != nil || strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("tokenctl %s printed %q; want one JSON object", args, out.String())
			}
		}
		return m, code, errb.String()
	}

	ws, code, _ := tokenctl("workspace create --slug magrathea --name Magrathea --plan free")
	if code != 0 || ws["slug"] != "magrathea" || len(ws["id"].(string)) != 24 {
		t.Fatalf("workspace create = %v, %d", ws, code)
	}
	if p, code, _ := tokenctl("workspace set-plan --workspace magrathea --plan enterprise"); code != 0 || p["plan"] != "enterprise" {
		t.Errorf("set-plan = %v, %d", p, code)
	}
	site, code, _ := tokenctl(fmt.Sprint("site create --workspace ", ws["id"], " --name Planet --short-name planet"))
	siteID, _ := site["id"].(string)
	if code != 0 || len(siteID) != 24 {
		t.Fatalf("site create = %v, %d", site, code)
	}
	m, code, _ := tokenctl("member add --workspace magrathea --email Slartibartfast@example.com --role admin")
	if id, _ := m["memberId"].(string); code != 0 || len(id) != 24 || m["userId"] != nil {
		t.Fatalf("member add = %v, %d; want a member id and a null userId", m, code)
	}
	if again, _, _ := tokenctl("member add --workspace magrathea --email slartibartfast@example.com --role admin"); again["memberId"] != m["memberId"] {
		t.Errorf("the same email and role again made another member: %v, %v", m, again)
	}
	if onSite, _, _ := tokenctl("member add --workspace magrathea --site " + siteID + " --email slartibartfast@example.com --role admin"); onSite["memberId"] == m["memberId"] {
		t.Errorf("the site membership has the workspace membership's id: %v", onSite)
	}
	// No one has accepted the admin invitation: the workspace counts no admin.
	if r, code, _ := tokenctl("workspace recount-admins --workspace magrathea"); code != 0 || r["admins"] != 0.0 || r["was"] != 0.0 || r["slug"] != "magrathea" {
		t.Errorf("workspace recount-admins = %v, %d; want 0 admins, 0 before", r, code)
	}

	// dev-token needs the local issuer's key, which `make run` creates.
	if _, code, stderr := tokenctl("dev-token --email slartibartfast@example.com"); code != 1 || !strings.Contains(stderr, "make run") {
		t.Errorf("dev-token without a key = %d %q", code, stderr)
	}
	verify := serveIssuer(t, env)
	devTokens := []struct {
		args         string
		sub          string
		verifyErr    error
		wantVerified bool
	}{
		{"dev-token --email slartibartfast@example.com", issuer.SubjectFor("slartibartfast@example.com"), nil, true},
		{"dev-token --email Slartibartfast@example.com", issuer.SubjectFor("slartibartfast@example.com"), nil, true},
		{"dev-token --email slartibartfast@example.com --sub another-account", "another-account", nil, true},
		{"dev-token --email nobody@example.com --unverified", "", usertoken.ErrInvalid, false},
	}
	for _, tc := range devTokens {
		dev, code, stderr := tokenctl(tc.args)
		if code != 0 {
			t.Fatalf("%s = %d %s", tc.args, code, stderr)
		}
		tok, _ := dev["token"].(string)
		claims, err := verify(tok)
		if !errors.Is(err, tc.verifyErr) {
			t.Errorf("%s: Verify = %+v, %v; want %v", tc.args, claims, err, tc.verifyErr)
		}
		if err == nil && claims.Subject != tc.sub {
			t.Errorf("%s: sub = %q; want %q", tc.args, claims.Subject, tc.sub)
		}
		if got := strings.Contains(payload(t, tok), `"email_verified":true`); got != tc.wantVerified {
			t.Errorf("%s: email_verified true = %v; want %v", tc.args, got, tc.wantVerified)
		}
	}
	// An admin invitation no one has accepted is not the last admin the
	// guard keeps (internal/people and internal/store test the guard, which
	// only an accepted admin triggers), so the operator may remove it.
	if _, code, _ := tokenctl("member add --workspace magrathea --email zaphod@example.com --role admin"); code != 0 {
		t.Fatalf("member add = %d", code)
	}
	if gone, code, _ := tokenctl("member remove --workspace magrathea --email slartibartfast@example.com"); code != 0 || gone["memberId"] != m["memberId"] {
		t.Errorf("member remove = %v, %d; want %v", gone, code, m["memberId"])
	}

	// The kill switches print what they revoked: nothing here, as the
	// workspace has no tokens (internal/operator tests them with tokens).
	if r, code, _ := tokenctl("site revoke-all --site " + siteID); code != 0 || r["id"] != siteID || r["revoked"] != 0.0 {
		t.Errorf("site revoke-all = %v, %d; want the site and revoked 0", r, code)
	}
	if r, code, _ := tokenctl("workspace revoke-all --workspace magrathea"); code != 0 || r["slug"] != "magrathea" || r["revoked"] != 0.0 {
		t.Errorf("workspace revoke-all = %v, %d; want the workspace and revoked 0", r, code)
	}

	// Every change above is in the workspace's audit log, oldest first.
	db := ddbclient.Local(dynamotest.Endpoint())
	page, err := store.New(db, table).AuditEvents(context.Background(), ws["id"].(string), tokensmith.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.Type+"/"+e.SubType+"/"+string(e.Actor.Type))
		if e.Actor.Email != localOperator() || e.Actor.Email == "" {
			t.Errorf("%s/%s actor.email = %q; want the OS user %q", e.Type, e.SubType, e.Actor.Email, localOperator())
		}
	}
	want := "[workspace_setting/setting_updated/system workspace_membership/user_added/system site_membership/user_added/system workspace_membership/user_added/system workspace_membership/user_removed/system]"
	if fmt.Sprint(got) != want {
		t.Errorf("audit log = %v; want %s", got, want)
	}

	failures := []struct {
		args string
		code int
		says string
	}{
		{"", 2, "no command"},
		{"workspace", 2, "subcommand"},
		{"workspace create --slug x --name X", 2, "--plan"},
		{"workspace create --slug x --name X --plan gold", 1, "plan"},
		{"workspace create --slug Bad_Slug --name X --plan free", 1, "slug"},
		{"workspace create --slug magrathea --name Again --plan free", 1, "exists"},
		{"workspace set-plan --workspace nowhere --plan free", 1, "no workspace"},
		{"site create --workspace magrathea --name X --short-name Not_OK", 1, "short name"},
		{"member add --workspace magrathea --email not-an-email --role admin", 1, "email"},
		{"member add --workspace magrathea --role admin --email " + strings.Repeat("a", 250) + "@example.com", 1, "email must be an email address of at most 254"},
		{"member add --workspace magrathea --email a@example.com --role owner", 1, "role"},
		{"member add --workspace magrathea --site " + siteID + " --email a@example.com --role member", 1, "site role"},
		{"member add --workspace magrathea --site 0000000000000000000000ff --email a@example.com --role admin", 1, "no site"},
		{"member remove --workspace magrathea --email slartibartfast@example.com", 1, "not a member"},
		{"site revoke-all", 2, "--site"},
		{"site revoke-all --site 0000000000000000000000ff", 1, "no site"},
		{"workspace revoke-all --workspace nowhere", 1, "no workspace"},
		{"dev-token", 2, "--email"},
		{"dev-token --email not-an-email", 1, "not an email"},
		{"site frobnicate", 2, "unknown command"},
		{"member add --workspace magrathea --bogus", 2, "bogus"},
	}
	for _, tc := range failures {
		t.Run(tc.args, func(t *testing.T) {
			_, code, stderr := tokenctl(tc.args)
			if code != tc.code || !strings.Contains(stderr, tc.says) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.says)
			}
		})
	}

	// Against AWS (no endpoint), dev-token is refused before anything is read.
	delete(env, "DYNAMODB_ENDPOINT")
	if _, code, stderr := tokenctl("dev-token --email slartibartfast@example.com"); code != 1 || !strings.Contains(stderr, "refused against AWS") {
		t.Errorf("dev-token against AWS = %d %q", code, stderr)
	}
}

// serveIssuer serves the local issuer as make run does, with its key in
// LOCAL_DIR, at ADDR, and returns the API's verifier of its tokens.
func serveIssuer(t *testing.T, env map[string]string) func(string) (usertoken.Claims, error) {
	t.Helper()
	var h http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	iss, err := issuer.New(issuer.Config{
		URL:          srv.URL + defaults.IssuerPath,
		KeyFile:      filepath.Join(env["LOCAL_DIR"], defaults.IssuerKeyFile),
		RedirectURIs: []string{srv.URL + defaults.ConsolePath},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(iss.Path()+"/", iss)
	h = mux
	env["ADDR"] = strings.TrimPrefix(srv.URL, "http://")
	v, err := usertoken.NewVerifier(usertoken.Config{Issuer: iss.URL(), Audience: issuer.DefaultClientID, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return func(raw string) (usertoken.Claims, error) { return v.Verify(context.Background(), raw) }
}

// payload is the JSON of a JWT's claims, unverified.
func payload(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSitePlanCommands: site create takes a plan (cms by default), and
// site set-plan changes it, with a rate limit only on enterprise; the
// stored site and the limit its tokens get follow.
func TestSitePlanCommands(t *testing.T) {
	db, table := dynamotest.NewTable(t)
	env := map[string]string{"DYNAMODB_ENDPOINT": dynamotest.Endpoint(), "TABLE_NAME": table, "LOCAL_DIR": t.TempDir()}
	tokenctl := func(args string) (map[string]any, int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), strings.Fields(args), func(k string) string { return env[k] }, &out, &errb)
		var m map[string]any
		if code == 0 {
			if err := json.Unmarshal(out.Bytes(), &m); err != nil || strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("tokenctl %s printed %q; want one JSON object", args, out.String())
			}
		}
		return m, code, errb.String()
	}
	st := store.New(db, table)
	limitOf := func(id string) int64 {
		t.Helper()
		s, err := st.Site(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return s.TokenRateLimit()
	}
	if _, code, stderr := tokenctl("workspace create --slug magrathea --name Magrathea --plan enterprise"); code != 0 {
		t.Fatalf("workspace create = %d %s", code, stderr)
	}
	def, code, _ := tokenctl("site create --workspace magrathea --name Planet --short-name planet")
	starter, code2, _ := tokenctl("site create --workspace magrathea --name Earth --short-name earth --plan starter")
	if code != 0 || code2 != 0 {
		t.Fatalf("site create = %d, %d", code, code2)
	}
	defID, starterID := def["id"].(string), starter["id"].(string)
	if got := limitOf(defID); got != 120 {
		t.Errorf("limit of a site created without a plan = %d; want 120 (cms)", got)
	}
	if got := limitOf(starterID); got != 60 {
		t.Errorf("limit of a starter site = %d; want 60", got)
	}
	tests := []struct {
		args      string
		wantCode  int
		wantLimit int64
	}{
		{"site set-plan --site " + defID + " --plan basic", 0, 60},
		{"site set-plan --site " + defID + " --plan business", 0, 120},
		{"site set-plan --site " + defID + " --plan enterprise", 0, 600},
		{"site set-plan --site " + defID + " --plan enterprise --rate-limit 2500", 0, 2500},
		{"site set-plan --site " + defID + " --plan cms --rate-limit 2500", 1, 2500},
		{"site set-plan --site " + defID + " --plan enterprise --rate-limit -1", 1, 2500},
		{"site set-plan --site " + defID + " --plan enterprise --rate-limit 60001", 1, 2500},
		{"site set-plan --site " + defID + " --plan platinum", 1, 2500},
		{"site set-plan --site " + defID, 2, 2500},
		{"site set-plan --site 0000000000000000000000ff --plan cms", 1, 2500},
	}
	for _, tc := range tests {
		out, code, stderr := tokenctl(tc.args)
		if code != tc.wantCode {
			t.Errorf("%s = %d %s; want %d", tc.args, code, stderr, tc.wantCode)
		}
		if code == 0 && out["rateLimit"] != float64(tc.wantLimit) {
			t.Errorf("%s printed %v; want rateLimit %d", tc.args, out, tc.wantLimit)
		}
		if got := limitOf(defID); got != tc.wantLimit {
			t.Errorf("after %s the site's limit = %d; want %d", tc.args, got, tc.wantLimit)
		}
	}
	if _, code, _ := tokenctl("site create --workspace magrathea --name Mars --short-name mars --plan gold"); code != 1 {
		t.Errorf("site create with an unknown plan = %d; want 1", code)
	}
}

// TestDevLeakReport: dev-leak-report prints one JSON object, the two
// headers GitHub signs a report with and the body they sign, a one-match
// report of the token at the URL; it verifies against the keys make run
// publishes. It needs make run's key, takes only tokens of the format and
// is refused against AWS.
func TestDevLeakReport(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LOCAL_DIR": dir}
	tokenctl := func(args ...string) (string, int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
		return out.String(), code, errb.String()
	}
	site, _ := token.Generate(token.KindSite, rand.Reader)
	workspace, _ := token.Generate(token.KindWorkspace, rand.Reader)

	if _, code, stderr := tokenctl("dev-leak-report", "--token", site); code != 1 || !strings.Contains(stderr, "make run") {
		t.Errorf("without make run's key: exit %d, %q; want 1 saying to start make run", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, defaults.GitHubKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dev-leak-report made a key: %v", err)
	}
	keys, err := scanner.Keys(dir) // as make run does
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(keys)
	t.Cleanup(srv.Close)
	verifier := secretscanning.NewVerifier(srv.URL, time.Now)

	for _, tc := range []struct {
		name  string
		args  []string
		match secretscanning.Match
	}{
		{"site token", []string{"--token", site}, secretscanning.Match{Token: site, Type: "tokensmith_site_token", URL: scanner.DefaultURL, Source: "content"}},
		{"workspace token at a url", []string{"--token", workspace, "--url", "https://github.com/o/r/blob/1/a?b=c&d"},
			secretscanning.Match{Token: workspace, Type: "tokensmith_workspace_token", URL: "https://github.com/o/r/blob/1/a?b=c&d", Source: "content"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code, stderr := tokenctl(append([]string{"dev-leak-report"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, %q", code, stderr)
			}
			var printed struct {
				Headers map[string]string `json:"headers"`
				Body    string            `json:"body"`
			}
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&printed); err != nil || strings.Count(out, "\n") != 1 || len(printed.Headers) != 2 {
				t.Fatalf("printed %q (%v); want one object of headers (two) and body", out, err)
			}
			keyID, sig := printed.Headers["Github-Public-Key-Identifier"], printed.Headers["Github-Public-Key-Signature"]
			if err := verifier.Verify(context.Background(), keyID, sig, []byte(printed.Body)); err != nil {
				t.Errorf("the printed report does not verify against make run's keys: %v", err)
			}
			var matches []secretscanning.Match
			if err := json.Unmarshal([]byte(printed.Body), &matches); err != nil || len(matches) != 1 || matches[0] != tc.match {
				t.Errorf("body = %s; want [%+v]", printed.Body, tc.match)
			}
		})
	}

	garbage := "tss_" + strings.Repeat("A", 45)
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"dev-leak-report"}, 2, "--token"},
		{[]string{"dev-leak-report", "--token", garbage}, 1, "token format"},
		{[]string{"dev-leak-report", "--token", site + "x"}, 1, "token format"},
	} {
		if _, code, stderr := tokenctl(tc.args...); code != tc.code || !strings.Contains(stderr, tc.says) || strings.Contains(stderr, garbage) {
			t.Errorf("%v: exit %d, %q; want %d mentioning %q, not the token", tc.args, code, stderr, tc.code, tc.says)
		}
	}
	// Against AWS (a table and no endpoint), it is refused.
	env["TABLE_NAME"] = "tokensmith"
	if out, code, stderr := tokenctl("dev-leak-report", "--token", site); code != 1 || out != "" || !strings.Contains(stderr, "refused against AWS") {
		t.Errorf("against AWS: exit %d, %q %q; want 1, refused", code, out, stderr)
	}
}

// TestAssertionKeyRotate: the command needs the secret, and refuses to run
// locally, where the key is a file, saying which.
func TestAssertionKeyRotate(t *testing.T) {
	env := map[string]string{"LOCAL_DIR": "/tmp/x"}
	tokenctl := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		return run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb), errb.String()
	}
	if code, stderr := tokenctl("assertion-key", "rotate"); code != 2 || !strings.Contains(stderr, "needs --secret") {
		t.Errorf("without --secret: exit %d, %q; want 2 naming --secret", code, stderr)
	}
	if code, stderr := tokenctl("assertion-key", "rotate", "--secret", "arn:aws:secretsmanager:us-east-1:1:secret:k"); code != 1 || !strings.Contains(stderr, filepath.Join("/tmp/x", defaults.AssertionKeyFile)) {
		t.Errorf("locally: exit %d, %q; want 1 naming the local key file", code, stderr)
	}
}
