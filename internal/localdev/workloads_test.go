package localdev_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
	"github.com/tokensmith/tokensmith/internal/token"
)

// workloadBody is a valid create of a trusted workload, named name.
func workloadBody(name string) string {
	return fmt.Sprintf(`{"name":%q,"issuer":"https://token.actions.githubusercontent.com","audience":"tokensmith",`+
		`"subject":"repo:octo/site:ref:refs/heads/*","claims":{"repository_owner_id":"1234"},"permissions":{"cms":"read_write","sites":"read"}}`, name)
}

func TestTrustedWorkloadLifecycle(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/trusted_workloads"
	created := e.do("POST", base, e.demo.AdminToken, workloadBody("Deploy from main"))
	if created.status != http.StatusCreated {
		t.Fatalf("create = %d %s", created.status, created.raw)
	}
	id := created.str("id")
	if !token.ValidID(id) || created.str("siteId") != e.demo.SiteID || created.str("scope") != "cms:read,cms:write,sites:read" ||
		created.body["tokenLifetimeSeconds"] != 900.0 || created.str("createdBy", "email") != "admin@example.com" ||
		created.str("claims", "repository_owner_id") != "1234" || created.body["liveTokens"] != nil {
		t.Errorf("created %s", created.raw)
	}
	short := e.do("POST", base, e.demo.AdminToken, strings.Replace(workloadBody("Nightly"), `"permissions"`, `"tokenLifetimeSeconds":300,"permissions"`, 1))
	if short.status != http.StatusCreated || short.body["tokenLifetimeSeconds"] != 300.0 {
		t.Fatalf("create with a lifetime = %d %s", short.status, short.raw)
	}
	list := e.do("GET", base, e.demo.AdminToken, "")
	items, _ := list.body["trustedWorkloads"].([]any)
	if list.status != 200 || len(items) != 2 || items[0].(map[string]any)["id"] != short.str("id") || items[1].(map[string]any)["id"] != id {
		t.Errorf("list = %d %s; want both, newest first", list.status, list.raw)
	}
	got := e.do("GET", base+"/"+id, e.demo.AdminToken, "")
	if got.status != 200 || got.body["liveTokens"] != 0.0 || got.str("subject") != "repo:octo/site:ref:refs/heads/*" {
		t.Errorf("get = %d %s; want it with 0 live tokens", got.status, got.raw)
	}
	// A trusted workload is not a token: the site's tokens are untouched.
	if toks := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", e.demo.AdminToken, ""); !strings.Contains(toks.raw, `"apiTokens":[]`) {
		t.Errorf("tokens = %s; want none", toks.raw)
	}
	if r := e.do("DELETE", base+"/"+id, e.demo.AdminToken, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.status, r.raw)
	}
	wantError(t, e.do("GET", base+"/"+id, e.demo.AdminToken, ""), 404, "resource_not_found")
	wantError(t, e.do("DELETE", base+"/"+id, e.demo.AdminToken, ""), 404, "resource_not_found")

	audit := e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceID+"/audit_logs?eventType=trusted_workload", e.demo.AdminToken, "")
	events, _ := audit.body["items"].([]any)
	var subs []string
	for _, ev := range events {
		m := ev.(map[string]any)
		p, _ := m["payload"].(map[string]any)
		w, _ := p["workload"].(map[string]any)
		subs = append(subs, fmt.Sprintf("%s %s %v", m["eventSubType"], w["name"], m["actor"].(map[string]any)["email"]))
	}
	want := []string{"workload_deleted Deploy from main admin@example.com", "workload_created Nightly admin@example.com", "workload_created Deploy from main admin@example.com"}
	if strings.Join(subs, "|") != strings.Join(want, "|") {
		t.Errorf("events = %q; want %q", subs, want)
	}
}

// TestTrustedWorkloadLimit: at most 20 a site.
func TestTrustedWorkloadLimit(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/trusted_workloads"
	statuses := make([]int, 24)
	for i := range statuses {
		statuses[i] = e.do("POST", base, e.demo.AdminToken, workloadBody(fmt.Sprintf("w%d", i))).status
	}
	n := map[int]int{}
	for _, s := range statuses {
		n[s]++
	}
	if n[201] != 20 || n[409] != 4 {
		t.Fatalf("24 creates answered %v; want 20 201 and 4 409", n)
	}
	wantError(t, e.do("POST", base, e.demo.AdminToken, workloadBody("one more")), 409, "conflict")
	list := e.do("GET", base, e.demo.AdminToken, "")
	items, _ := list.body["trustedWorkloads"].([]any)
	if len(items) != 20 {
		t.Fatalf("%d workloads; want 20", len(items))
	}
	// Deleting one makes room for one.
	if r := e.do("DELETE", base+"/"+items[0].(map[string]any)["id"].(string), e.demo.AdminToken, ""); r.status != 204 {
		t.Fatalf("delete = %d", r.status)
	}
	if r := e.do("POST", base, e.demo.AdminToken, workloadBody("again")); r.status != 201 {
		t.Errorf("create after a delete = %d %s", r.status, r.raw)
	}
	wantError(t, e.do("POST", base, e.demo.AdminToken, workloadBody("too many")), 409, "conflict")
}

func TestTrustedWorkloadWhoMayAct(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	other, err := e.stack.Operator.CreateWorkspace(ctx, "vogons", "Vogons", "enterprise")
	if err != nil {
		t.Fatal(err)
	}
	otherSite, err := e.stack.Operator.CreateSite(ctx, other.ID, "Constructor Fleet", "constructor-fleet", "")
	if err != nil {
		t.Fatal(err)
	}
	siteAdmin, err := e.stack.Operator.AddMember(ctx, e.demo.WorkspaceSlug, e.demo.SiteID, "zaphod@example.com", "admin")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(sub, email string) string {
		tok, err := e.stack.Issuer.Sign(issuer.Claims{Subject: sub, Email: email}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	siteAdminToken, stranger := sign(siteAdmin.ID, siteAdmin.Email), sign("nobody", "nobody@example.com")
	base := "/v2/sites/" + e.demo.SiteID + "/trusted_workloads"
	mine := e.do("POST", base, e.demo.AdminToken, workloadBody("Deploy"))
	theirs := e.do("POST", "/v2/sites/"+otherSite.ID+"/trusted_workloads", e.demo.AdminToken, workloadBody("x"))
	wantError(t, theirs, 404, "resource_not_found")
	for _, tc := range []struct {
		name, method, path, bearer, body string
		status                           int
	}{
		{"site admin creates", "POST", base, siteAdminToken, workloadBody("Site admin's"), 201},
		{"site admin lists", "GET", base, siteAdminToken, "", 200},
		{"member cannot create", "POST", base, e.demo.MemberToken, workloadBody("m"), 403},
		{"member cannot list", "GET", base, e.demo.MemberToken, "", 403},
		{"member cannot delete", "DELETE", base + "/" + mine.str("id"), e.demo.MemberToken, "", 403},
		{"stranger sees nothing", "GET", base, stranger, "", 404},
		{"stranger cannot delete", "DELETE", base + "/" + mine.str("id"), stranger, "", 404},
		{"a workload of this site under another site", "GET", "/v2/sites/" + otherSite.ID + "/trusted_workloads/" + mine.str("id"), e.demo.AdminToken, "", 404},
		{"an id of the wrong shape", "GET", base + "/nope", e.demo.AdminToken, "", 404},
		{"no credential", "GET", base, "", "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(tc.method, tc.path, tc.bearer, tc.body); r.status != tc.status {
				t.Errorf("got %d %s; want %d", r.status, r.raw, tc.status)
			}
		})
	}
	if r := e.do("GET", base+"/"+mine.str("id"), e.demo.AdminToken, ""); r.status != 200 {
		t.Errorf("the workload after the refusals = %d", r.status)
	}
}

// TestTrustedWorkloadBadInputChangesNothing: every field rule of API.md
// section 15 is a 400 naming the field, and the table is the same after.
func TestTrustedWorkloadBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	base := "/v2/sites/" + e.demo.SiteID + "/trusted_workloads"
	e.do("GET", base, e.demo.AdminToken, "") // the first sign-in binds the admin, before the snapshot
	before := fmt.Sprint(e.state())
	with := func(field string, v any) string {
		var m map[string]any
		json.Unmarshal([]byte(workloadBody("x")), &m)
		if v == nil {
			delete(m, field)
		} else {
			m[field] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct{ name, body, field string }{
		{"http issuer", with("issuer", "http://token.actions.githubusercontent.com"), "issuer"},
		{"metadata issuer", with("issuer", "https://169.254.169.254"), "issuer"},
		{"loopback issuer", with("issuer", "https://127.0.0.1:8443"), "issuer"},
		{"no issuer", with("issuer", nil), "issuer"},
		{"audience too long", with("audience", strings.Repeat("a", 256)), "audience"},
		{"no audience", with("audience", ""), "audience"},
		{"no subject", with("subject", nil), "subject"},
		{"a registered claim", with("claims", map[string]string{"sub": "x"}), "claims.sub"},
		{"a workspace permission", with("permissions", map[string]string{"workspace_activity": "read"}), "permissions.workspace_activity"},
		{"no scope", with("permissions", map[string]string{"cms": "none"}), "permissions"},
		{"lifetime too short", with("tokenLifetimeSeconds", 299), "tokenLifetimeSeconds"},
		{"lifetime too long", with("tokenLifetimeSeconds", 3601), "tokenLifetimeSeconds"},
		{"lifetime not a whole number", with("tokenLifetimeSeconds", 900.5), "tokenLifetimeSeconds"},
		{"an unknown field", with("jwksUri", "https://evil.example/keys"), "jwksUri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", base, e.demo.AdminToken, tc.body)
			wantError(t, r, 400, "validation_error")
			if !strings.Contains(r.raw, `"field":"`+tc.field+`"`) {
				t.Errorf("details %s do not name %s", r.raw, tc.field)
			}
		})
	}
	if after := fmt.Sprint(e.state()); after != before {
		t.Errorf("the table changed:\nbefore %s\nafter  %s", before, after)
	}
}
