package localdev_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/localdev/issuer"
)

// TestMembersOverHTTP walks the members API through the local gateway: an
// admin invites a colleague, whose first call lists the invitation and
// holds nothing of it; the admin sees no userId until the colleague accepts
// it, which binds it to their subject; another account with the same email
// holds nothing; the colleague, made admin, mints a token and is removed,
// and the token keeps working and keeps who minted it.
func TestMembersOverHTTP(t *testing.T) {
	e := newEnv(t)
	sign := func(sub, email string) string {
		tok, err := e.stack.Issuer.Sign(issuer.Claims{Subject: sub, Email: email}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	members := "/v2/workspaces/" + e.demo.WorkspaceID + "/members"

	added := e.do("POST", members, e.demo.AdminToken, `{"email":"Trillian@Example.com","role":"member"}`)
	if added.status != http.StatusCreated || added.str("email") != "trillian@example.com" || added.body["userId"] != nil ||
		added.str("addedBy", "email") != "admin@example.com" {
		t.Fatalf("add = %d %s", added.status, added.raw)
	}
	id := added.str("id")

	trillian := sign("trillian-sub", "trillian@example.com")
	me := e.do("GET", "/v2/me", trillian, "")
	if me.status != 200 || me.str("user", "email") != "trillian@example.com" {
		t.Fatalf("me = %d %s", me.status, me.raw)
	}
	userID := me.str("user", "id")
	invs, _ := me.body["invitations"].([]any)
	if ws, _ := me.body["workspaces"].([]any); len(ws) != 0 || len(invs) != 1 {
		t.Fatalf("me before accepting = %s; want no workspace and one invitation", me.raw)
	}
	if inv := invs[0].(map[string]any); inv["id"] != id || inv["site"] != nil || inv["role"] != "member" ||
		inv["invitedBy"].(map[string]any)["email"] != "admin@example.com" ||
		inv["workspace"].(map[string]any)["displayName"] != "Hitchhikers" {
		t.Errorf("invitation = %v", inv)
	}
	for _, m := range e.do("GET", members, e.demo.AdminToken, "").body["members"].([]any) {
		if m := m.(map[string]any); m["id"] == id && m["userId"] != nil {
			t.Errorf("the inviter sees %v before the invitee accepts; want userId null", m)
		}
	}
	me = e.do("POST", "/v2/me/invitations/"+id+"/accept", trillian, "")
	if me.status != 200 || len(me.body["invitations"].([]any)) != 0 {
		t.Fatalf("accept = %d %s", me.status, me.raw)
	}
	if ws, _ := me.body["workspaces"].([]any); len(ws) != 1 || ws[0].(map[string]any)["role"] != "member" {
		t.Errorf("me.workspaces = %v; want the demo workspace as member", me.body["workspaces"])
	}
	if sites, _ := me.body["sites"].([]any); len(sites) != 1 || sites[0].(map[string]any)["canManageTokens"] != false {
		t.Errorf("me.sites = %v; want the demo site, not manageable", me.body["sites"])
	}
	// Another account with the same verified email holds nothing.
	impostor := sign("impostor-sub", "trillian@example.com")
	if r := e.do("GET", "/v2/me", impostor, ""); r.status != 200 || len(r.body["workspaces"].([]any)) != 0 {
		t.Errorf("me of another account with the email = %d %s; want no workspaces", r.status, r.raw)
	}
	if r := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", impostor, ""); r.status != 404 {
		t.Errorf("another account with the email lists tokens = %d; want 404", r.status)
	}

	list := e.do("GET", members, e.demo.AdminToken, "")
	var bound bool
	for _, m := range list.body["members"].([]any) {
		if m := m.(map[string]any); m["id"] == id {
			bound = m["userId"] == userID
		}
	}
	if list.status != 200 || !bound {
		t.Errorf("members = %d %s; want %s bound to %s", list.status, list.raw, id, userID)
	}

	if r := e.do("PATCH", members+"/"+id, e.demo.AdminToken, `{"role":"admin"}`); r.status != 200 || r.str("role") != "admin" {
		t.Fatalf("promote = %d %s", r.status, r.raw)
	}
	secret, tokenID := func() (string, string) {
		r := e.do("POST", "/v2/sites/"+e.demo.SiteID+"/tokens", trillian, `{"name":"by trillian","permissions":{"sites":"read"}}`)
		if r.status != 201 {
			t.Fatalf("mint by the new admin = %d %s", r.status, r.raw)
		}
		return r.str("token"), r.str("apiToken", "id")
	}()
	if r := e.do("DELETE", members+"/"+id, e.demo.AdminToken, ""); r.status != 204 {
		t.Fatalf("remove = %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens", trillian, ""); r.status != 404 {
		t.Errorf("removed person lists tokens = %d; want 404", r.status)
	}
	if r := e.do("GET", "/v2/sites", secret, ""); r.status != 200 {
		t.Errorf("token of the removed person = %d; want it still working", r.status)
	}
	got := e.do("GET", "/v2/sites/"+e.demo.SiteID+"/tokens/"+tokenID, e.demo.AdminToken, "")
	if got.str("createdBy", "email") != "trillian@example.com" || got.str("createdBy", "id") != userID {
		t.Errorf("createdBy after the removal = %s; want trillian", got.raw)
	}
}

// TestMembersBadInput: each refusal is the JSON error API.md names and
// writes nothing.
func TestMembersBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	other, err := e.stack.Operator.CreateWorkspace(ctx, "vogons", "Vogons", "enterprise")
	if err != nil {
		t.Fatal(err)
	}
	otherMember, err := e.stack.Operator.AddMember(ctx, other.ID, "", "jeltz@example.com", "admin")
	if err != nil {
		t.Fatal(err)
	}
	siteOnly, err := e.stack.Operator.AddMember(ctx, e.demo.WorkspaceSlug, e.demo.SiteID, "zaphod@example.com", "admin")
	if err != nil {
		t.Fatal(err)
	}
	zaphod, err := e.stack.Issuer.Sign(issuer.Claims{Email: siteOnly.Email}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Everyone signs in first, so that only the calls below could write.
	for _, tok := range []string{e.demo.AdminToken, e.demo.MemberToken, zaphod} {
		if r := e.do("GET", "/v2/me", tok, ""); r.status != 200 {
			t.Fatalf("me = %d %s", r.status, r.raw)
		}
	}
	adminMember := func() string {
		r := e.do("GET", "/v2/workspaces/"+e.demo.WorkspaceID+"/members", e.demo.AdminToken, "")
		for _, m := range r.body["members"].([]any) {
			if m := m.(map[string]any); m["email"] == "admin@example.com" {
				return m["id"].(string)
			}
		}
		t.Fatal("no admin member")
		return ""
	}()
	ws := "/v2/workspaces/" + e.demo.WorkspaceID + "/members"
	site := "/v2/sites/" + e.demo.SiteID + "/members"
	tests := []struct {
		name, method, path, bearer, body string
		status                           int
		code                             string
	}{
		{"email that is not an address", "POST", ws, e.demo.AdminToken, `{"email":"not-an-email","role":"member"}`, 400, "validation_error"},
		{"role outside the list", "POST", ws, e.demo.AdminToken, `{"email":"a@example.com","role":"owner"}`, 400, "validation_error"},
		{"role on a site", "POST", site, e.demo.AdminToken, `{"email":"a@example.com","role":"admin"}`, 400, "validation_error"},
		{"unknown field", "POST", ws, e.demo.AdminToken, `{"email":"a@example.com","role":"member","x":1}`, 400, "validation_error"},
		{"not JSON", "POST", ws, e.demo.AdminToken, `{"email":`, 400, "bad_request"},
		{"same email twice", "POST", ws, e.demo.AdminToken, `{"email":"MEMBER@example.com","role":"admin"}`, 409, "conflict"},
		{"demote oneself, the last admin", "PATCH", ws + "/" + adminMember, e.demo.AdminToken, `{"role":"member"}`, 409, "conflict"},
		{"remove oneself, the last admin", "DELETE", ws + "/" + adminMember, e.demo.AdminToken, "", 409, "conflict"},
		{"member id of another workspace", "DELETE", ws + "/" + otherMember.ID, e.demo.AdminToken, "", 404, "resource_not_found"},
		{"member id of another workspace, patch", "PATCH", ws + "/" + otherMember.ID, e.demo.AdminToken, `{"role":"admin"}`, 404, "resource_not_found"},
		{"member id not 24 lowercase hex", "DELETE", ws + "/" + strings.ToUpper(adminMember), e.demo.AdminToken, "", 404, "resource_not_found"},
		{"workspace member lists members", "GET", ws, e.demo.MemberToken, "", 403, "forbidden"},
		{"site administrator only, workspace members", "GET", ws, zaphod, "", 403, "forbidden"},
		{"site administrator only, adds a site member", "POST", site, zaphod, `{"email":"a@example.com"}`, 403, "forbidden"},
		{"admin of another workspace", "GET", "/v2/workspaces/" + other.ID + "/members", e.demo.AdminToken, "", 404, "resource_not_found"},
		{"an API token", "GET", ws, "tss_7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez70Gn9Oq", "", 401, "not_authorized"},
		{"no credential", "GET", "/v2/me", "", "", 401, "not_authorized"},
	}
	before := fmt.Sprint(e.items(""))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(tc.method, tc.path, tc.bearer, tc.body), tc.status, tc.code)
		})
	}
	if after := fmt.Sprint(e.items("")); after != before {
		t.Error("a refused members call changed the table")
	}
}

// TestLastAcceptedAdminOverHTTP: the only accepted admin who has invited
// an address as admin can neither remove nor demote themself while that
// invitation waits (409, nothing written); once its person accepts it, the
// first admin may leave.
func TestLastAcceptedAdminOverHTTP(t *testing.T) {
	e := newEnv(t)
	members := "/v2/workspaces/" + e.demo.WorkspaceID + "/members"
	if r := e.do("GET", "/v2/me", e.demo.AdminToken, ""); r.status != 200 {
		t.Fatalf("me = %d %s", r.status, r.raw)
	}
	inv := e.do("POST", members, e.demo.AdminToken, `{"email":"ghost@nowhere.test","role":"admin"}`)
	if inv.status != http.StatusCreated {
		t.Fatalf("invite = %d %s", inv.status, inv.raw)
	}
	var self string
	for _, m := range e.do("GET", members, e.demo.AdminToken, "").body["members"].([]any) {
		if m := m.(map[string]any); m["email"] == "admin@example.com" {
			self = m["id"].(string)
		}
	}
	before := fmt.Sprint(e.items(""))
	wantError(t, e.do("DELETE", members+"/"+self, e.demo.AdminToken, ""), 409, "conflict")
	wantError(t, e.do("PATCH", members+"/"+self, e.demo.AdminToken, `{"role":"member"}`), 409, "conflict")
	if after := fmt.Sprint(e.items("")); after != before {
		t.Error("a refused change of the last accepted admin changed the table")
	}

	ghost, err := e.stack.Issuer.Sign(issuer.Claims{Subject: "ghost-sub", Email: "ghost@nowhere.test"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/v2/me/invitations/"+inv.str("id")+"/accept", ghost, ""); r.status != 200 {
		t.Fatalf("the invited admin accepts = %d %s", r.status, r.raw)
	}
	if r := e.do("DELETE", members+"/"+self, e.demo.AdminToken, ""); r.status != http.StatusNoContent {
		t.Errorf("remove oneself once another admin accepted = %d %s; want 204", r.status, r.raw)
	}
	if r := e.do("GET", members, ghost, ""); r.status != 200 {
		t.Errorf("the accepted admin lists members = %d %s; want 200", r.status, r.raw)
	}
}

// TestInvitationsOverHTTP: a declined invitation is gone (204, then 404),
// and the inviter's list no longer has it; nobody but the invitee can
// accept or decline it (404); the workspace's invitation of the day past
// the limit is 429 with Retry-After, and writes nothing.
func TestInvitationsOverHTTP(t *testing.T) {
	e := newEnv(t)
	members := "/v2/workspaces/" + e.demo.WorkspaceID + "/members"
	guest, err := e.stack.Issuer.Sign(issuer.Claims{Subject: "guest-sub", Email: "guest@example.com"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inv := e.do("POST", members, e.demo.AdminToken, `{"email":"guest@example.com","role":"admin"}`)
	if inv.status != http.StatusCreated {
		t.Fatalf("invite = %d %s", inv.status, inv.raw)
	}
	id := inv.str("id")
	for _, path := range []string{"/accept", "/decline"} {
		wantError(t, e.do("POST", "/v2/me/invitations/"+id+path, e.demo.MemberToken, ""), 404, "resource_not_found")
		wantError(t, e.do("POST", "/v2/me/invitations/"+strings.ToUpper(id)+path, guest, ""), 404, "resource_not_found")
	}
	if r := e.do("POST", "/v2/me/invitations/"+id+"/decline", guest, ""); r.status != http.StatusNoContent {
		t.Fatalf("decline = %d %s", r.status, r.raw)
	}
	wantError(t, e.do("POST", "/v2/me/invitations/"+id+"/accept", guest, ""), 404, "resource_not_found")
	for _, m := range e.do("GET", members, e.demo.AdminToken, "").body["members"].([]any) {
		if m.(map[string]any)["id"] == id {
			t.Errorf("the declined invitation is still listed: %v", m)
		}
	}

	for i := 1; i < tokensmith.InvitationsPerDay; i++ {
		if r := e.do("POST", members, e.demo.AdminToken, fmt.Sprintf(`{"email":"guest%d@example.com","role":"member"}`, i)); r.status != http.StatusCreated {
			t.Fatalf("invitation %d = %d %s", i+1, r.status, r.raw)
		}
	}
	before := fmt.Sprint(e.items(""))
	r := e.do("POST", members, e.demo.AdminToken, `{"email":"one-too-many@example.com","role":"member"}`)
	wantError(t, r, 429, "too_many_requests")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 86400 {
		t.Errorf("Retry-After = %q; want whole seconds to the next UTC day", r.header.Get("Retry-After"))
	}
	if after := fmt.Sprint(e.items("")); after != before {
		t.Error("the refused invitation changed the table")
	}
}
