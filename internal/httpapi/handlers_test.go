package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/ratelimit"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// The handlers' tests: each route of each function, served through Proxy
// as Lambda serves it, against fakes of the root package's services. They
// hold what a handler reads of the request, what it passes the service,
// how it renders the answer, and how each error reaches the client.

var (
	quiet  = slog.New(slog.NewJSONHandler(io.Discard, nil))
	person = tokensmith.Caller{Kind: tokensmith.CallerPerson, Issuer: "https://issuer.example", Subject: "sub-1", Email: "admin@example.com"}
	siteTk = tokensmith.Caller{Kind: tokensmith.CallerSite, TokenID: "65f0c0ffee00000000000010", SiteID: "s1", WorkspaceID: "w1",
		Scope: "sites:read,workspace_activity:read", RateLimit: 60,
		CreatedOn: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ExpiresOn: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	wsTk = tokensmith.Caller{Kind: tokensmith.CallerWorkspace, TokenID: "65f0c0ffee00000000000011", WorkspaceID: "w1",
		Scope: "sites:read,workspace_activity:read", RateLimit: 120, Plan: string(tokensmith.PlanEnterprise),
		CreatedOn: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ExpiresOn: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	errBoom = errors.New("table unreachable")
)

// openGuard lets every API token through: the guard has tests of its own.
func openGuard() *Guard {
	return &Guard{
		Limiter: &fakeLimiter{TakeFn: func(_ context.Context, _ string, limit int64, now time.Time) (ratelimit.Decision, error) {
			return ratelimit.Decision{Allowed: true, Limit: limit, Remaining: limit - 1, Reset: now.Add(time.Minute)}, nil
		}},
		Uses: &fakeUses{}, Now: func() time.Time { return guardNow }, Log: quiet,
	}
}

type request struct {
	op     string
	params map[string]string
	query  map[string]string
	caller *tokensmith.Caller // nil: no authorizer context
	body   string
	header map[string]string
}

type answer struct {
	status int
	header map[string]string
	body   map[string]any // a JSON object's
	list   []any          // a JSON array's
}

// serve sends req to h as API Gateway would, by its route of the table.
func serve(t *testing.T, h *Router, req request) answer {
	t.Helper()
	var rt route.Route
	for _, r := range route.Table {
		if r.Op == req.op {
			rt = r
		}
	}
	if rt.Op == "" {
		t.Fatalf("no route %s", req.op)
	}
	path := rt.Path
	for k, v := range req.params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	hdr := map[string]string{"Content-Type": "application/json"}
	for k, v := range req.header {
		hdr[k] = v
	}
	ev := events.APIGatewayProxyRequest{Resource: rt.Path, Path: path, HTTPMethod: rt.Method, PathParameters: req.params,
		QueryStringParameters: req.query, Headers: hdr, Body: req.body}
	if req.caller != nil {
		ev.RequestContext.Authorizer = principal.Context(*req.caller)
	}
	resp, err := h.Proxy()(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: map[string]string{}}
	for k, v := range resp.MultiValueHeaders {
		a.header[k] = strings.Join(v, ",")
	}
	for k, v := range resp.Headers {
		a.header[k] = v
	}
	if resp.Body != "" {
		var v any
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
			t.Fatalf("%s answered %q: %v", req.op, resp.Body, err)
		}
		a.body, _ = v.(map[string]any)
		a.list, _ = v.([]any)
	}
	return a
}

// check compares an answer's status and error code ("" for a success).
func (a answer) check(t *testing.T, status int, code string) {
	t.Helper()
	got, _ := a.body["code"].(string)
	if a.status != status || got != code {
		t.Errorf("answer = %d %q %v; want %d %q", a.status, got, a.body, status, code)
	}
	if a.status == http.StatusInternalServerError && a.body["message"] != tokensmith.MsgInternal {
		t.Errorf("internal error message = %v; want %q", a.body["message"], tokensmith.MsgInternal)
	}
}

var (
	created = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	siteTok = tokensmith.Token{ID: "t1", Kind: token.KindSite, Name: "CI", SiteID: "s1", WorkspaceID: "w1",
		Permissions: scope.Permissions{"sites": scope.Read}, Scope: "sites:read", DisplayHint: "tss_…abcd",
		CreatedOn: created, CreatedBy: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1", Email: "admin@example.com"},
		ExpiresOn: created.Add(token.Inactivity)}
)

// serviceErrors are the errors every service call is tested with, and how
// each reaches the client.
var serviceErrors = []struct {
	name   string
	err    error
	status int
	code   string
}{
	{"not found", tokensmith.NotFound(), 404, tokensmith.ENOTFOUND},
	{"forbidden", tokensmith.Errorf(tokensmith.EFORBIDDEN, "no"), 403, tokensmith.EFORBIDDEN},
	{"conflict", tokensmith.Errorf(tokensmith.ECONFLICT, "taken"), 409, tokensmith.ECONFLICT},
	{"invalid", tokensmith.Invalid(tokensmith.ErrorDetail{Field: "name", Message: "is required"}), 400, tokensmith.EINVALID},
	{"internal", errBoom, 500, tokensmith.EINTERNAL},
}

func TestTokenHandlers(t *testing.T) {
	site := map[string]string{"site_id": "s1"}
	siteOwner := tokensmith.Owner{Kind: token.KindSite, ID: "s1"}
	wsOwner := tokensmith.Owner{Kind: token.KindWorkspace, ID: "w1"}
	minted := tokensmith.Minted{Secret: "tss_secret", Token: siteTok}
	tests := []struct {
		name    string
		req     request
		fake    func(t *testing.T, err error) *mock.TokenService
		status  int
		inspect func(t *testing.T, a answer)
	}{
		{"create a site token", request{op: "createSiteToken", params: site, caller: &person,
			body:   `{"name":"CI","permissions":{"sites":"read"},"allowedIps":["203.0.113.0/24"]}`,
			header: map[string]string{"Idempotency-Key": "key-0123456789abcdef"}},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{CreateFn: func(_ context.Context, c tokensmith.Caller, o tokensmith.Owner, in tokensmith.TokenInput, key string) (tokensmith.Minted, bool, error) {
					want := tokensmith.TokenInput{Name: "CI", Permissions: scope.Permissions{"sites": scope.Read}, AllowedIPs: []string{"203.0.113.0/24"}}
					if !reflect.DeepEqual(c, person) || o != siteOwner || !reflect.DeepEqual(in, want) || key != "key-0123456789abcdef" {
						t.Errorf("Create(%+v, %+v, %+v, %q); want %+v, %+v, %+v and the key", c, o, in, key, person, siteOwner, want)
					}
					return minted, true, err
				}}
			}, 201, func(t *testing.T, a answer) {
				api, _ := a.body["apiToken"].(map[string]any)
				if a.body["token"] != "tss_secret" || api["id"] != "t1" || a.header["Cache-Control"] != "no-store" || a.header["Idempotent-Replayed"] != "true" {
					t.Errorf("create answered %v %v; want the secret, the token, no-store and the replay", a.header, a.body)
				}
			}},
		{"create a workspace token", request{op: "createWorkspaceToken", params: map[string]string{"workspace_id": "w1"}, caller: &person,
			body: `{"name":"CI","permissions":{"sites":"read"}}`},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{CreateFn: func(_ context.Context, _ tokensmith.Caller, o tokensmith.Owner, _ tokensmith.TokenInput, key string) (tokensmith.Minted, bool, error) {
					if o != wsOwner || key != "" {
						t.Errorf("Create for %+v with key %q; want %+v and none", o, key, wsOwner)
					}
					return minted, false, err
				}}
			}, 201, func(t *testing.T, a answer) {
				if _, ok := a.header["Idempotent-Replayed"]; ok {
					t.Errorf("a first create answered Idempotent-Replayed")
				}
			}},
		{"list", request{op: "listSiteTokens", params: site, caller: &person},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{ListFn: func(_ context.Context, _ tokensmith.Caller, o tokensmith.Owner) ([]tokensmith.Token, error) {
					if o != siteOwner {
						t.Errorf("List(%+v); want %+v", o, siteOwner)
					}
					return []tokensmith.Token{siteTok}, err
				}}
			}, 200, func(t *testing.T, a answer) {
				list, _ := a.body["apiTokens"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["displayHint"] != siteTok.DisplayHint || list[0].(map[string]any)["secretHash"] != nil {
					t.Errorf("list answered %v; want the one token without its hash", a.body)
				}
			}},
		{"get", request{op: "getWorkspaceToken", params: map[string]string{"workspace_id": "w1", "token_id": "t1"}, caller: &person},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{GetFn: func(_ context.Context, _ tokensmith.Caller, o tokensmith.Owner, id string) (tokensmith.Token, error) {
					if o != wsOwner || id != "t1" {
						t.Errorf("Get(%+v, %q); want %+v, t1", o, id, wsOwner)
					}
					return siteTok, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if a.body["id"] != "t1" || a.body["createdOn"] != "2026-11-20T09:00:00.000Z" {
					t.Errorf("get answered %v", a.body)
				}
			}},
		{"revoke", request{op: "revokeSiteToken", params: map[string]string{"site_id": "s1", "token_id": "t1"}, caller: &person},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{RevokeFn: func(_ context.Context, _ tokensmith.Caller, o tokensmith.Owner, id string) error {
					if o != siteOwner || id != "t1" {
						t.Errorf("Revoke(%+v, %q); want %+v, t1", o, id, siteOwner)
					}
					return err
				}}
			}, 204, nil},
		{"regenerate with a grace period", request{op: "regenerateSiteToken", params: map[string]string{"site_id": "s1", "token_id": "t1"}, caller: &person,
			body: `{"gracePeriodSeconds":3600,"expiresInDays":30}`},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{RegenerateFn: func(_ context.Context, _ tokensmith.Caller, o tokensmith.Owner, id string, in tokensmith.RegenerateInput) (tokensmith.Minted, error) {
					if o != siteOwner || id != "t1" || in.GracePeriodSeconds != 3600 || in.ExpiresInDays == nil || *in.ExpiresInDays != 30 {
						t.Errorf("Regenerate(%+v, %q, %+v); want %+v, t1, 3600 seconds, 30 days", o, id, in, siteOwner)
					}
					return minted, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if a.body["token"] != "tss_secret" || a.header["Cache-Control"] != "no-store" {
					t.Errorf("regenerate answered %v %v", a.header, a.body)
				}
			}},
		{"regenerate without a body", request{op: "regenerateSiteToken", params: map[string]string{"site_id": "s1", "token_id": "t1"}, caller: &person},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{RegenerateFn: func(_ context.Context, _ tokensmith.Caller, _ tokensmith.Owner, _ string, in tokensmith.RegenerateInput) (tokensmith.Minted, error) {
					if in != (tokensmith.RegenerateInput{}) {
						t.Errorf("Regenerate with %+v; want nothing", in)
					}
					return minted, err
				}}
			}, 200, nil},
		{"introspect a token stored before secrets carried createdOn", request{op: "introspectToken", caller: func() *tokensmith.Caller {
			c := siteTk
			c.CreatedOn = time.Time{}
			return &c
		}()},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{IntrospectFn: func(_ context.Context, o tokensmith.Owner, id string) (tokensmith.Token, error) {
					if o != siteOwner || id != siteTk.TokenID {
						t.Errorf("Introspect(%+v, %q); want %+v, %s", o, id, siteOwner, siteTk.TokenID)
					}
					return siteTok, err
				}}
			}, 200, func(t *testing.T, a answer) {
				auth, _ := a.body["authorization"].(map[string]any)
				if auth["createdOn"] != "2026-11-20T09:00:00.000Z" || auth["rateLimit"] != float64(60) {
					t.Errorf("introspect answered %v; want the record's createdOn and the caller's limit", a.body)
				}
			}},
		{"revoke by secret", request{op: "revokeTokenBySecret", body: `{"token":"tss_leaked"}`},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{RevokeBySecretFn: func(_ context.Context, secret string) (bool, error) {
					if secret != "tss_leaked" {
						t.Errorf("RevokeBySecret(%q); want tss_leaked", secret)
					}
					return true, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if a.body["didRevoke"] != true {
					t.Errorf("revoke by secret answered %v", a.body)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := serve(t, Tokens(tc.fake(t, nil), openGuard(), quiet), tc.req)
			a.check(t, tc.status, "")
			if tc.inspect != nil {
				tc.inspect(t, a)
			}
		})
		for _, e := range serviceErrors {
			t.Run(tc.name+", "+e.name, func(t *testing.T) {
				a := serve(t, Tokens(tc.fake(t, e.err), openGuard(), quiet), tc.req)
				a.check(t, e.status, e.code)
				if a.body["token"] != nil || a.header["Idempotent-Replayed"] != "" {
					t.Errorf("a failed %s answered %v %v", tc.req.op, a.header, a.body)
				}
			})
		}
	}
}

// TestTokenHandlersRefuse: what a handler refuses before it calls the
// service, which the fake then fails the test for.
func TestTokenHandlersRefuse(t *testing.T) {
	site := map[string]string{"site_id": "s1"}
	tests := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"create by an API token", request{op: "createSiteToken", params: site, caller: &siteTk, body: `{"name":"x"}`}, 401, tokensmith.EUNAUTHORIZED},
		{"create with no caller", request{op: "createSiteToken", params: site, body: `{"name":"x"}`}, 401, tokensmith.EUNAUTHORIZED},
		{"list by an API token", request{op: "listSiteTokens", params: site, caller: &wsTk}, 401, tokensmith.EUNAUTHORIZED},
		{"get by an API token", request{op: "getSiteToken", params: map[string]string{"site_id": "s1", "token_id": "t1"}, caller: &siteTk}, 401, tokensmith.EUNAUTHORIZED},
		{"revoke by an API token", request{op: "revokeSiteToken", params: map[string]string{"site_id": "s1", "token_id": "t1"}, caller: &siteTk}, 401, tokensmith.EUNAUTHORIZED},
		{"regenerate by an API token", request{op: "regenerateSiteToken", params: map[string]string{"site_id": "s1", "token_id": "t1"}, caller: &siteTk}, 401, tokensmith.EUNAUTHORIZED},
		{"create with a short idempotency key", request{op: "createSiteToken", params: site, caller: &person, body: `{"name":"x"}`,
			header: map[string]string{"Idempotency-Key": "short"}}, 400, tokensmith.EINVALID},
		{"create with an unknown field", request{op: "createSiteToken", params: site, caller: &person, body: `{"name":"x","owner":"me"}`}, 400, tokensmith.EINVALID},
		{"create with a field of the wrong type", request{op: "createSiteToken", params: site, caller: &person, body: `{"name":7}`}, 400, tokensmith.EINVALID},
		{"create without a body", request{op: "createSiteToken", params: site, caller: &person}, 400, tokensmith.EBADREQUEST},
		{"create with a body that is not JSON", request{op: "createSiteToken", params: site, caller: &person, body: `name=x`}, 400, tokensmith.EBADREQUEST},
		{"regenerate with a grace period that is not a number", request{op: "regenerateSiteToken", params: map[string]string{"site_id": "s1", "token_id": "t1"},
			caller: &person, body: `{"gracePeriodSeconds":"1h"}`}, 400, tokensmith.EINVALID},
		{"introspect by a person", request{op: "introspectToken", caller: &person}, 401, tokensmith.EUNAUTHORIZED},
		{"introspect with no caller", request{op: "introspectToken"}, 401, tokensmith.EUNAUTHORIZED},
		{"revoke by secret without a body", request{op: "revokeTokenBySecret"}, 400, tokensmith.EBADREQUEST},
		{"revoke by secret with an unknown field", request{op: "revokeTokenBySecret", body: `{"secret":"tss_x"}`}, 400, tokensmith.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serve(t, Tokens(&mock.TokenService{}, openGuard(), quiet), tc.req).check(t, tc.status, tc.code)
		})
	}
}

// TestIntrospectReadsNothing: a decision that carries createdOn is the
// whole answer; the service is not called.
func TestIntrospectReadsNothing(t *testing.T) {
	a := serve(t, Tokens(&mock.TokenService{}, openGuard(), quiet), request{op: "introspectToken", caller: &wsTk})
	a.check(t, 200, "")
	auth, _ := a.body["authorization"].(map[string]any)
	to, _ := auth["authorizedTo"].(map[string]any)
	if auth["id"] != wsTk.TokenID || auth["kind"] != "workspace" || auth["createdOn"] != "2026-11-01T00:00:00.000Z" ||
		!reflect.DeepEqual(to["workspaceIds"], []any{"w1"}) || !reflect.DeepEqual(to["siteIds"], []any{}) {
		t.Errorf("introspect answered %v", a.body)
	}
}

func TestPeopleHandlers(t *testing.T) {
	ws := tokensmith.Place{WorkspaceID: "w1"}
	site := tokensmith.Place{SiteID: "s1"}
	m := tokensmith.Member{ID: "m1", Place: ws, Email: "ford@example.com", Role: tokensmith.RoleMember, AddedOn: created,
		AddedBy: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1", Email: "admin@example.com"}}
	tests := []struct {
		name    string
		req     request
		fake    func(t *testing.T, err error) *mock.PeopleService
		status  int
		inspect func(t *testing.T, a answer)
	}{
		{"me", request{op: "getMe", caller: &person},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{MeFn: func(_ context.Context, c tokensmith.Caller) (tokensmith.Me, error) {
					if !reflect.DeepEqual(c, person) {
						t.Errorf("Me(%+v); want %+v", c, person)
					}
					return tokensmith.Me{User: tokensmith.User{ID: "u1", Email: "admin@example.com"},
						Workspaces: []tokensmith.MyWorkspace{{Workspace: tokensmith.Workspace{ID: "w1", Slug: "hitchhikers", Plan: tokensmith.PlanFree}, Role: tokensmith.RoleAdmin}},
						Sites:      []tokensmith.MySite{{Site: tokensmith.Site{ID: "s1", WorkspaceID: "w1"}, CanManageTokens: true}}}, err
				}}
			}, 200, func(t *testing.T, a answer) {
				wss, _ := a.body["workspaces"].([]any)
				sites, _ := a.body["sites"].([]any)
				if len(wss) != 1 || wss[0].(map[string]any)["role"] != "admin" || len(sites) != 1 || sites[0].(map[string]any)["canManageTokens"] != true {
					t.Errorf("me answered %v", a.body)
				}
			}},
		{"list a workspace's members", request{op: "listWorkspaceMembers", params: map[string]string{"workspace_id": "w1"}, caller: &person},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{MembersFn: func(_ context.Context, _ tokensmith.Caller, w tokensmith.Place) ([]tokensmith.Member, error) {
					if w != ws {
						t.Errorf("Members(%+v); want %+v", w, ws)
					}
					return []tokensmith.Member{m}, err
				}}
			}, 200, func(t *testing.T, a answer) {
				list, _ := a.body["members"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["userId"] != nil || list[0].(map[string]any)["addedBy"].(map[string]any)["id"] != "u1" {
					t.Errorf("members answered %v; want the unbound member added by u1", a.body)
				}
			}},
		{"list a site's members", request{op: "listSiteMembers", params: map[string]string{"site_id": "s1"}, caller: &person},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{MembersFn: func(_ context.Context, _ tokensmith.Caller, w tokensmith.Place) ([]tokensmith.Member, error) {
					if w != site {
						t.Errorf("Members(%+v); want %+v", w, site)
					}
					return nil, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if list, ok := a.body["members"].([]any); !ok || len(list) != 0 {
					t.Errorf("members answered %v; want an empty list", a.body)
				}
			}},
		{"add a workspace member", request{op: "addWorkspaceMember", params: map[string]string{"workspace_id": "w1"}, caller: &person,
			body: `{"email":"ford@example.com","role":"member"}`},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{AddMemberFn: func(_ context.Context, _ tokensmith.Caller, w tokensmith.Place, email string, role tokensmith.Role) (tokensmith.Member, error) {
					if w != ws || email != "ford@example.com" || role != tokensmith.RoleMember {
						t.Errorf("AddMember(%+v, %q, %q)", w, email, role)
					}
					return m, err
				}}
			}, 201, func(t *testing.T, a answer) {
				if a.body["id"] != "m1" || a.body["addedOn"] != "2026-11-20T09:00:00.000Z" {
					t.Errorf("add answered %v", a.body)
				}
			}},
		{"add a site member, who is its admin", request{op: "addSiteMember", params: map[string]string{"site_id": "s1"}, caller: &person,
			body: `{"email":"ford@example.com"}`},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{AddMemberFn: func(_ context.Context, _ tokensmith.Caller, w tokensmith.Place, email string, role tokensmith.Role) (tokensmith.Member, error) {
					if w != site || email != "ford@example.com" || role != tokensmith.RoleAdmin {
						t.Errorf("AddMember(%+v, %q, %q); want the site's admin", w, email, role)
					}
					return m, err
				}}
			}, 201, nil},
		{"update a member", request{op: "updateWorkspaceMember", params: map[string]string{"workspace_id": "w1", "member_id": "m1"}, caller: &person,
			body: `{"role":"admin"}`},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{UpdateMemberFn: func(_ context.Context, _ tokensmith.Caller, w tokensmith.Place, id string, role tokensmith.Role) (tokensmith.Member, error) {
					if w != ws || id != "m1" || role != tokensmith.RoleAdmin {
						t.Errorf("UpdateMember(%+v, %q, %q)", w, id, role)
					}
					return m, err
				}}
			}, 200, nil},
		{"a workspace's settings", request{op: "getWorkspaceSettings", params: map[string]string{"workspace_id": "w1"}, caller: &person},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{SettingsFn: func(_ context.Context, _ tokensmith.Caller, id string) (tokensmith.Workspace, error) {
					if id != "w1" {
						t.Errorf("WorkspaceSettings(%q); want w1", id)
					}
					return tokensmith.Workspace{ID: "w1", MaxTokenLifetimeDays: 90}, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if a.body["maxTokenLifetimeDays"] != float64(90) || len(a.body) != 1 {
					t.Errorf("settings answered %v; want only maxTokenLifetimeDays 90", a.body)
				}
			}},
		{"set a maximum token lifetime", request{op: "updateWorkspaceSettings", params: map[string]string{"workspace_id": "w1"}, caller: &person,
			body: `{"maxTokenLifetimeDays":30}`},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{UpdateSettingsFn: func(_ context.Context, _ tokensmith.Caller, id string, in tokensmith.SettingsInput) (tokensmith.Workspace, error) {
					if id != "w1" || in.MaxTokenLifetimeDays == nil || *in.MaxTokenLifetimeDays != 30 {
						t.Errorf("UpdateWorkspaceSettings(%q, %+v); want w1, 30 days", id, in)
					}
					return tokensmith.Workspace{ID: "w1", MaxTokenLifetimeDays: 30}, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if a.body["maxTokenLifetimeDays"] != float64(30) {
					t.Errorf("settings answered %v", a.body)
				}
			}},
		{"remove the maximum token lifetime", request{op: "updateWorkspaceSettings", params: map[string]string{"workspace_id": "w1"}, caller: &person,
			body: `{"maxTokenLifetimeDays":null}`},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{UpdateSettingsFn: func(_ context.Context, _ tokensmith.Caller, _ string, in tokensmith.SettingsInput) (tokensmith.Workspace, error) {
					if in.MaxTokenLifetimeDays == nil || *in.MaxTokenLifetimeDays != 0 {
						t.Errorf("UpdateWorkspaceSettings(%+v); want 0 (none)", in)
					}
					return tokensmith.Workspace{ID: "w1"}, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if v, ok := a.body["maxTokenLifetimeDays"]; !ok || v != nil {
					t.Errorf("settings answered %v; want maxTokenLifetimeDays null", a.body)
				}
			}},
		{"change no setting", request{op: "updateWorkspaceSettings", params: map[string]string{"workspace_id": "w1"}, caller: &person, body: `{}`},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{UpdateSettingsFn: func(_ context.Context, _ tokensmith.Caller, _ string, in tokensmith.SettingsInput) (tokensmith.Workspace, error) {
					if in.MaxTokenLifetimeDays != nil {
						t.Errorf("UpdateWorkspaceSettings(%+v); want no change", in)
					}
					return tokensmith.Workspace{ID: "w1", MaxTokenLifetimeDays: 7}, err
				}}
			}, 200, nil},
		{"remove a member", request{op: "removeSiteMember", params: map[string]string{"site_id": "s1", "member_id": "m1"}, caller: &person},
			func(t *testing.T, err error) *mock.PeopleService {
				return &mock.PeopleService{RemoveMemberFn: func(_ context.Context, _ tokensmith.Caller, w tokensmith.Place, id string) error {
					if w != site || id != "m1" {
						t.Errorf("RemoveMember(%+v, %q)", w, id)
					}
					return err
				}}
			}, 204, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := serve(t, People(tc.fake(t, nil), quiet), tc.req)
			a.check(t, tc.status, "")
			if tc.inspect != nil {
				tc.inspect(t, a)
			}
		})
		for _, e := range serviceErrors {
			t.Run(tc.name+", "+e.name, func(t *testing.T) {
				serve(t, People(tc.fake(t, e.err), quiet), tc.req).check(t, e.status, e.code)
			})
		}
		t.Run(tc.name+", by an API token", func(t *testing.T) {
			req := tc.req
			req.caller = &wsTk
			serve(t, People(&mock.PeopleService{}, quiet), req).check(t, 401, tokensmith.EUNAUTHORIZED)
		})
	}
}

func TestPeopleHandlersRefuse(t *testing.T) {
	tests := []struct {
		name string
		req  request
	}{
		{"add with an unknown field", request{op: "addWorkspaceMember", params: map[string]string{"workspace_id": "w1"}, caller: &person,
			body: `{"email":"a@example.com","role":"member","admin":true}`}},
		{"add a site member with a role", request{op: "addSiteMember", params: map[string]string{"site_id": "s1"}, caller: &person,
			body: `{"email":"a@example.com","role":"member"}`}},
		{"update with a role that is not a string", request{op: "updateWorkspaceMember", params: map[string]string{"workspace_id": "w1", "member_id": "m1"},
			caller: &person, body: `{"role":1}`}},
		{"settings with a lifetime of no days", request{op: "updateWorkspaceSettings", params: map[string]string{"workspace_id": "w1"},
			caller: &person, body: `{"maxTokenLifetimeDays":0}`}},
		{"settings with a fractional lifetime", request{op: "updateWorkspaceSettings", params: map[string]string{"workspace_id": "w1"},
			caller: &person, body: `{"maxTokenLifetimeDays":1.5}`}},
		{"settings with a lifetime as text", request{op: "updateWorkspaceSettings", params: map[string]string{"workspace_id": "w1"},
			caller: &person, body: `{"maxTokenLifetimeDays":"30"}`}},
		{"settings with an unknown field", request{op: "updateWorkspaceSettings", params: map[string]string{"workspace_id": "w1"},
			caller: &person, body: `{"maxTokenLifetimeDays":30,"plan":"enterprise"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serve(t, People(&mock.PeopleService{}, quiet), tc.req).check(t, 400, tokensmith.EINVALID)
		})
	}
}

func TestSiteHandlers(t *testing.T) {
	s := tokensmith.Site{ID: "s1", WorkspaceID: "w1", DisplayName: "Heart of Gold", ShortName: "heart", TimeZone: "UTC",
		CreatedOn: created, LastUpdated: created, Plan: tokensmith.SitePlanEnterprise, RateLimit: 900}
	tests := []struct {
		name    string
		req     request
		fake    func(t *testing.T, err error) *mock.SiteService
		inspect func(t *testing.T, a answer)
	}{
		{"list", request{op: "listSites", caller: &wsTk},
			func(t *testing.T, err error) *mock.SiteService {
				return &mock.SiteService{ListFn: func(_ context.Context, c tokensmith.Caller) ([]tokensmith.Site, error) {
					if c.TokenID != wsTk.TokenID {
						t.Errorf("List(%+v); want the caller %s", c, wsTk.TokenID)
					}
					return []tokensmith.Site{s}, err
				}}
			}, func(t *testing.T, a answer) {
				list, _ := a.body["sites"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["shortName"] != "heart" {
					t.Errorf("list answered %v", a.body)
				}
			}},
		{"get", request{op: "getSite", params: map[string]string{"site_id": "s1"}, caller: &siteTk},
			func(t *testing.T, err error) *mock.SiteService {
				return &mock.SiteService{GetFn: func(_ context.Context, c tokensmith.Caller, id string) (tokensmith.Site, error) {
					if c.TokenID != siteTk.TokenID || id != "s1" {
						t.Errorf("Get(%+v, %q); want the caller and s1", c, id)
					}
					return s, err
				}}
			}, func(t *testing.T, a answer) {
				if a.body["id"] != "s1" || a.body["plan"] != nil || a.body["rateLimit"] != nil {
					t.Errorf("get answered %v; want the site without its plan", a.body)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := serve(t, Sites(tc.fake(t, nil), openGuard(), quiet), tc.req)
			a.check(t, 200, "")
			tc.inspect(t, a)
		})
		for _, e := range serviceErrors {
			t.Run(tc.name+", "+e.name, func(t *testing.T) {
				serve(t, Sites(tc.fake(t, e.err), openGuard(), quiet), tc.req).check(t, e.status, e.code)
			})
		}
		t.Run(tc.name+", by a person", func(t *testing.T) {
			req := tc.req
			req.caller = &person
			serve(t, Sites(&mock.SiteService{}, openGuard(), quiet), req).check(t, 401, tokensmith.EUNAUTHORIZED)
		})
	}
}

func TestAuditLogHandler(t *testing.T) {
	ev := tokensmith.Event{ID: "e1", Seq: 1, Type: "api_token", SubType: "created", Timestamp: created,
		Actor:     tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1", Email: "admin@example.com"},
		Workspace: tokensmith.WorkspaceRef{ID: "w1", Slug: "hitchhikers"}, Payload: map[string]any{}}
	fake := func(t *testing.T, want tokensmith.Caller, err error) *mock.AuditService {
		return &mock.AuditService{ListFn: func(_ context.Context, c tokensmith.Caller, ref string, q tokensmith.AuditQuery) (tokensmith.AuditPage, error) {
			if c.Kind != want.Kind || c.TokenID != want.TokenID || ref != "hitchhikers" || q.Limit != 5 || q.Offset != 10 || !q.Desc {
				t.Errorf("List(%+v, %q, %+v); want the caller, hitchhikers, limit 5, offset 10, newest first", c, ref, q)
			}
			return tokensmith.AuditPage{Events: []tokensmith.Event{ev}, Total: 11}, err
		}}
	}
	req := request{op: "listAuditLogs", params: map[string]string{"workspace_id": "hitchhikers"},
		query: map[string]string{"limit": "5", "offset": "10", "sortOrder": "desc"}}
	for _, c := range []tokensmith.Caller{wsTk, person} {
		t.Run(c.Kind, func(t *testing.T) {
			req := req
			req.caller = &c
			a := serve(t, AuditLogs(fake(t, c, nil), openGuard(), quiet), req)
			a.check(t, 200, "")
			items, _ := a.body["items"].([]any)
			page, _ := a.body["pagination"].(map[string]any)
			if len(items) != 1 || page["total"] != float64(11) || page["limit"] != float64(5) || page["offset"] != float64(10) {
				t.Errorf("audit log answered %v", a.body)
			}
			for _, e := range serviceErrors {
				t.Run(e.name, func(t *testing.T) {
					serve(t, AuditLogs(fake(t, c, e.err), openGuard(), quiet), req).check(t, e.status, e.code)
				})
			}
		})
	}
	t.Run("a query it cannot read", func(t *testing.T) {
		req := req
		req.caller = &wsTk
		req.query = map[string]string{"limit": "many"}
		serve(t, AuditLogs(&mock.AuditService{}, openGuard(), quiet), req).check(t, 400, tokensmith.EINVALID)
	})
	t.Run("no caller", func(t *testing.T) {
		serve(t, AuditLogs(&mock.AuditService{}, openGuard(), quiet), req).check(t, 401, tokensmith.EUNAUTHORIZED)
	})
}
