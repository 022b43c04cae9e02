package httpapi

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/scope"
)

var workload = tokensmith.Workload{ID: "w9", SiteID: "s1", WorkspaceID: "w1", Name: "Deploy",
	Issuer: "https://token.actions.githubusercontent.com", Audience: "tokensmith", Subject: "repo:octo/site:ref:refs/heads/*",
	Claims: map[string]string{"repository_owner_id": "1234"}, Permissions: scope.Permissions{"cms": scope.ReadWrite},
	Scope: "cms:read,cms:write", TokenLifetime: 900 * time.Second, CreatedOn: created,
	CreatedBy: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1", Email: "admin@example.com"}}

func TestWorkloadHandlers(t *testing.T) {
	site := map[string]string{"site_id": "s1"}
	one := map[string]string{"site_id": "s1", "workload_id": "w9"}
	tests := []struct {
		name    string
		req     request
		fake    func(t *testing.T, err error) *mock.TokenService
		status  int
		inspect func(t *testing.T, a answer)
	}{
		{"create", request{op: "createTrustedWorkload", params: site, caller: &person,
			body: `{"name":"Deploy","issuer":"https://token.actions.githubusercontent.com","audience":"tokensmith",` +
				`"subject":"repo:octo/site:ref:refs/heads/*","claims":{"repository_owner_id":"1234"},"permissions":{"cms":"read_write"},"tokenLifetimeSeconds":600}`},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{CreateWorkloadFn: func(_ context.Context, c tokensmith.Caller, siteID string, in tokensmith.WorkloadInput) (tokensmith.Workload, error) {
					lifetime := int64(600)
					want := tokensmith.WorkloadInput{Name: "Deploy", Issuer: workload.Issuer, Audience: "tokensmith", Subject: workload.Subject,
						Claims: workload.Claims, Permissions: workload.Permissions, TokenLifetimeSeconds: &lifetime}
					if !reflect.DeepEqual(c, person) || siteID != "s1" || !reflect.DeepEqual(in, want) {
						t.Errorf("CreateWorkload(%+v, %q, %+v); want %+v, s1, %+v", c, siteID, in, person, want)
					}
					return workload, err
				}}
			}, 201, func(t *testing.T, a answer) {
				if a.body["id"] != "w9" || a.body["tokenLifetimeSeconds"] != float64(900) || a.body["scope"] != "cms:read,cms:write" ||
					a.body["createdOn"] != "2026-11-20T09:00:00.000Z" || a.body["liveTokens"] != nil {
					t.Errorf("create answered %v", a.body)
				}
			}},
		{"create without a lifetime", request{op: "createTrustedWorkload", params: site, caller: &person,
			body: `{"name":"Deploy","issuer":"https://i.example","audience":"a","subject":"s","permissions":{"cms":"read"}}`},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{CreateWorkloadFn: func(_ context.Context, _ tokensmith.Caller, _ string, in tokensmith.WorkloadInput) (tokensmith.Workload, error) {
					if in.TokenLifetimeSeconds != nil || in.Claims != nil {
						t.Errorf("CreateWorkload with lifetime %v and claims %v; want neither", in.TokenLifetimeSeconds, in.Claims)
					}
					w := workload
					w.Claims = nil
					return w, err
				}}
			}, 201, func(t *testing.T, a answer) {
				if claims, ok := a.body["claims"].(map[string]any); !ok || len(claims) != 0 {
					t.Errorf("claims answered %v; want {}", a.body["claims"])
				}
			}},
		{"list", request{op: "listTrustedWorkloads", params: site, caller: &person},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{WorkloadsFn: func(_ context.Context, _ tokensmith.Caller, siteID string) ([]tokensmith.Workload, error) {
					if siteID != "s1" {
						t.Errorf("Workloads(%q); want s1", siteID)
					}
					return []tokensmith.Workload{workload}, err
				}}
			}, 200, func(t *testing.T, a answer) {
				list, _ := a.body["trustedWorkloads"].([]any)
				if len(list) != 1 || list[0].(map[string]any)["subject"] != workload.Subject {
					t.Errorf("list answered %v", a.body)
				}
			}},
		{"get", request{op: "getTrustedWorkload", params: one, caller: &person},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{WorkloadFn: func(_ context.Context, _ tokensmith.Caller, siteID, id string) (tokensmith.Workload, int64, error) {
					if siteID != "s1" || id != "w9" {
						t.Errorf("Workload(%q, %q); want s1, w9", siteID, id)
					}
					return workload, 3, err
				}}
			}, 200, func(t *testing.T, a answer) {
				if a.body["liveTokens"] != float64(3) {
					t.Errorf("get answered %v; want liveTokens 3", a.body)
				}
			}},
		{"delete", request{op: "deleteTrustedWorkload", params: one, caller: &person},
			func(t *testing.T, err error) *mock.TokenService {
				return &mock.TokenService{DeleteWorkloadFn: func(_ context.Context, _ tokensmith.Caller, siteID, id string) error {
					if siteID != "s1" || id != "w9" {
						t.Errorf("DeleteWorkload(%q, %q); want s1, w9", siteID, id)
					}
					return err
				}}
			}, 204, nil},
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
			})
		}
	}
}

// TestWorkloadHandlersRefuse: what a handler refuses before it calls the
// service (the empty fake panics on any call).
func TestWorkloadHandlersRefuse(t *testing.T) {
	site := map[string]string{"site_id": "s1"}
	one := map[string]string{"site_id": "s1", "workload_id": "w9"}
	for _, tc := range []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"create by an API token", request{op: "createTrustedWorkload", params: site, caller: &siteTk, body: `{}`}, 401, tokensmith.EUNAUTHORIZED},
		{"list with no caller", request{op: "listTrustedWorkloads", params: site}, 401, tokensmith.EUNAUTHORIZED},
		{"get by an API token", request{op: "getTrustedWorkload", params: one, caller: &wsTk}, 401, tokensmith.EUNAUTHORIZED},
		{"delete by an API token", request{op: "deleteTrustedWorkload", params: one, caller: &siteTk}, 401, tokensmith.EUNAUTHORIZED},
		{"create with an unknown field", request{op: "createTrustedWorkload", params: site, caller: &person, body: `{"name":"x","jwks":"https://x"}`}, 400, tokensmith.EINVALID},
		{"create with a claim that is not a string", request{op: "createTrustedWorkload", params: site, caller: &person, body: `{"claims":{"run_id":7}}`}, 400, tokensmith.EINVALID},
		{"create with a fractional lifetime", request{op: "createTrustedWorkload", params: site, caller: &person, body: `{"tokenLifetimeSeconds":900.5}`}, 400, tokensmith.EINVALID},
		{"create with two claims equal after case folding", request{op: "createTrustedWorkload", params: site, caller: &person,
			body: `{"claims":{"ref":"a","REF":"b"}}`}, 400, tokensmith.EBADREQUEST},
		{"create without a body", request{op: "createTrustedWorkload", params: site, caller: &person}, 400, tokensmith.EBADREQUEST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve(t, Tokens(&mock.TokenService{}, openGuard(), quiet), tc.req).check(t, tc.status, tc.code)
		})
	}
}

func exchangeForm(edit func(v url.Values)) string {
	v := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {"eyJ.jwt.sig"},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}, "resource": {"s1"},
	}
	edit(v)
	return v.Encode()
}

func TestExchangeHandler(t *testing.T) {
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	exchanged := tokensmith.Exchanged{Secret: "tss_short", Token: tokensmith.Token{ID: "t9", Scope: "cms:read,sites:read",
		CreatedOn: created, ExpiresOn: created.Add(600 * time.Second), WorkloadID: "w9"}}
	var got tokensmith.ExchangeInput
	svc := func(err error) *mock.TokenService {
		return &mock.TokenService{ExchangeFn: func(_ context.Context, in tokensmith.ExchangeInput) (tokensmith.Exchanged, error) {
			got = in
			return exchanged, err
		}}
	}
	a := serve(t, Tokens(svc(nil), openGuard(), quiet), request{op: "exchangeToken", header: form,
		body: exchangeForm(func(v url.Values) { v.Set("scope", "sites:read  cms:read") })})
	want := tokensmith.ExchangeInput{SubjectToken: "eyJ.jwt.sig", Resource: "s1", Scope: []string{"sites:read", "cms:read"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Exchange(%+v); want %+v", got, want)
	}
	if a.status != 200 || a.body["access_token"] != "tss_short" || a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(600) ||
		a.body["scope"] != "cms:read sites:read" || a.body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" ||
		a.header["Cache-Control"] != "no-store" {
		t.Errorf("exchange answered %d %v %v", a.status, a.header, a.body)
	}
	serve(t, Tokens(svc(nil), openGuard(), quiet), request{op: "exchangeToken", header: form, body: exchangeForm(func(url.Values) {})})
	if got.Scope != nil {
		t.Errorf("Exchange without scope asked for %v; want nil", got.Scope)
	}
	// The service's errors, as RFC 6749 section 5.2 shapes them.
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{tokensmith.Errorf(tokensmith.EINVALIDGRANT, "no"), 400, "invalid_grant"},
		{tokensmith.Errorf(tokensmith.EINVALIDSCOPE, "no"), 400, "invalid_scope"},
		{tokensmith.Errorf(tokensmith.EINVALIDTARGET, "no"), 400, "invalid_target"},
		{&tokensmith.Error{Code: tokensmith.ETOOMANYREQUESTS, Message: "Too Many Requests", RetryAfter: 1500 * time.Millisecond}, 429, "too_many_requests"},
		{tokensmith.Errorf(tokensmith.EUNAVAILABLE, "later"), 503, "service_unavailable"},
		{errBoom, 500, "server_error"},
	} {
		a := serve(t, Tokens(svc(tc.err), openGuard(), quiet), request{op: "exchangeToken", header: form, body: exchangeForm(func(url.Values) {})})
		if a.status != tc.status || a.body["error"] != tc.code || a.body["error_description"] == "" || a.body["access_token"] != nil || a.body["code"] != nil {
			t.Errorf("%v answered %d %v; want %d %s", tc.err, a.status, a.body, tc.status, tc.code)
		}
		if tc.status == 429 && a.header["Retry-After"] != "2" {
			t.Errorf("Retry-After = %q; want 2", a.header["Retry-After"])
		}
		if tc.status == 500 && strings.Contains(fmt.Sprint(a.body), errBoom.Error()) {
			t.Errorf("a server error told the client %v", a.body)
		}
	}
}

// TestExchangeHandlerRefuses: what the handler refuses before it calls
// the service (the empty fake panics on any call).
func TestExchangeHandlerRefuses(t *testing.T) {
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name   string
		header map[string]string
		body   string
		code   string
	}{
		{"JSON", nil, `{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange"}`, "invalid_request"},
		{"no grant type", form, exchangeForm(func(v url.Values) { v.Del("grant_type") }), "invalid_request"},
		{"the client credentials grant", form, exchangeForm(func(v url.Values) { v.Set("grant_type", "client_credentials") }), "unsupported_grant_type"},
		{"no subject token", form, exchangeForm(func(v url.Values) { v.Del("subject_token") }), "invalid_request"},
		{"a SAML subject token", form, exchangeForm(func(v url.Values) { v.Set("subject_token_type", "urn:ietf:params:oauth:token-type:saml2") }), "invalid_request"},
		{"no resource", form, exchangeForm(func(v url.Values) { v.Del("resource") }), "invalid_request"},
		{"two resources", form, exchangeForm(func(v url.Values) { v.Add("resource", "s2") }), "invalid_request"},
		{"two grant types", form, exchangeForm(func(v url.Values) { v.Add("grant_type", "x") }), "invalid_request"},
		{"an empty scope", form, exchangeForm(func(v url.Values) { v.Set("scope", "") }), "invalid_scope"},
		{"a body over 16 KiB", form, exchangeForm(func(v url.Values) { v.Set("x", strings.Repeat("a", 16<<10)) }), "invalid_request"},
		{"a body that is not a form", form, "grant_type=%zz", "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := serve(t, Tokens(&mock.TokenService{}, openGuard(), quiet), request{op: "exchangeToken", header: tc.header, body: tc.body})
			if a.status != 400 || a.body["error"] != tc.code || a.body["error_description"] == "" {
				t.Errorf("answered %d %v; want 400 %s", a.status, a.body, tc.code)
			}
		})
	}
}
