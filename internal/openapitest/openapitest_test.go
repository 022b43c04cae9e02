package openapitest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/httpapi"
	"github.com/tokensmith/tokensmith/internal/route"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("docs/openapi.yaml is OpenAPI %s; want 3.1", doc.OpenAPI)
	}
	return doc
}

// auth is the credential an operation's security requirements name, as
// the route table's Auth, and the scope an API token needs.
func auth(op *openapi3.Operation) (route.Auth, string, bool) {
	if op.Security == nil {
		return "", "", false // the document's default: every operation says
	}
	var api, user bool
	var scope string
	for _, req := range *op.Security {
		if len(req) != 1 {
			return "", "", false
		}
		for name, roles := range req {
			switch {
			case name == SchemeAPIToken && len(roles) <= 1:
				api = true
				if len(roles) == 1 {
					scope = roles[0]
				}
			case name == SchemeUserToken && len(roles) == 0:
				user = true
			default:
				return "", "", false
			}
		}
	}
	switch {
	case len(*op.Security) == 0:
		return route.Public, "", true
	case api && user && len(*op.Security) == 2:
		return route.APITokenOrUser, scope, true
	case api && len(*op.Security) == 1:
		return route.APIToken, scope, true
	case user && len(*op.Security) == 1:
		return route.User, "", true
	}
	return "", "", false
}

// TestDocumentMatchesRouteTable holds docs/openapi.yaml to route.Table both
// ways: every route is an operation of the document with its operation id,
// credential and scope, and every operation of the document is a route.
func TestDocumentMatchesRouteTable(t *testing.T) {
	doc := load(t)
	inTable := map[string]bool{}
	for _, r := range route.Table {
		key := r.Method + " " + DocPath(r.Path)
		inTable[key] = true
		item := doc.Paths.Value(DocPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s (%s) is not in docs/openapi.yaml", key, r.Op)
			continue
		}
		op := item.GetOperation(r.Method)
		if op.OperationID != r.Op {
			t.Errorf("%s: operationId %q; want %q", key, op.OperationID, r.Op)
		}
		a, scope, ok := auth(op)
		if !ok {
			t.Errorf("%s: security %v is none of the route table's credentials", key, op.Security)
			continue
		}
		if a != r.Auth || scope != r.Scope {
			t.Errorf("%s: security is %s with scope %q; the route table says %s with scope %q", key, a, scope, r.Auth, r.Scope)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if key := method + " " + path; !inTable[key] {
				t.Errorf("docs/openapi.yaml has %s, which is no route of route.Table", key)
			}
		}
	}
}

// invitationLimited are the operations that invite through the API: their
// 429 is the workspace's daily invitations (API.md section 10), not an API
// token's rate limit.
var invitationLimited = map[string]bool{"addWorkspaceMember": true, "addSiteMember": true}

// oauthErrors are the operations that answer RFC 6749's errors (API.md
// section 15, the token exchange): their 400, 429 and 5XX are OAuthError
// (or, for a 5XX, either shape), and their 429 is the workload's exchanges,
// with Retry-After alone.
var oauthErrors = map[string]bool{"exchangeToken": true}

// TestDocumentedErrors holds every operation to the errors any route can
// answer: 400 (a control character in the path or query), 413 and 431 (the
// gateway), 5XX; 401 on each route that takes a credential; 429 on each
// that takes an API token, and, beyond those, only on the operations that
// invite. Every error response is the Error shape, with the codes of
// error.go.
func TestDocumentedErrors(t *testing.T) {
	doc := load(t)
	codes := doc.Components.Schemas["ErrorCode"].Value.Enum
	for _, c := range codes {
		code := c.(string)
		if httpapi.Status(code) == http.StatusInternalServerError && code != tokensmith.EINTERNAL {
			t.Errorf("error code %s of the document is not one of error.go", code)
		}
	}
	for _, r := range route.Table {
		op := doc.Paths.Value(DocPath(r.Path)).GetOperation(r.Method)
		if op == nil {
			continue // TestDocumentMatchesRouteTable reports it
		}
		want := []string{"400", "413", "431", "5XX"}
		if r.Auth != route.Public {
			want = append(want, "401")
		}
		if r.Auth.TakesAPIToken() || invitationLimited[r.Op] || oauthErrors[r.Op] {
			want = append(want, "429")
		}
		for _, status := range want {
			if op.Responses.Value(status) == nil {
				t.Errorf("%s %s: no %s response", r.Method, r.Path, status)
			}
		}
		if !r.Auth.TakesAPIToken() && !invitationLimited[r.Op] && !oauthErrors[r.Op] && op.Responses.Value("429") != nil {
			t.Errorf("%s %s: a 429 response on a route that takes no API token", r.Method, r.Path)
		}
		for status, resp := range op.Responses.Map() {
			if status[0] != '4' && status[0] != '5' {
				continue
			}
			mt := resp.Value.Content.Get("application/json")
			if oauthErrors[r.Op] && mt != nil && isOAuthError(mt.Schema) {
				continue
			}
			if mt == nil || !isError(mt.Schema) {
				t.Errorf("%s %s: the %s response is not an Error", r.Method, r.Path, status)
			}
		}
	}
}

// isError reports whether s is the Error schema or all of it and more.
func isError(s *openapi3.SchemaRef) bool {
	if s.Ref == "#/components/schemas/Error" {
		return true
	}
	return slices.ContainsFunc(s.Value.AllOf, isError)
}

// isOAuthError reports whether s is the OAuthError schema, or one of it
// and Error.
func isOAuthError(s *openapi3.SchemaRef) bool {
	if s.Ref == "#/components/schemas/OAuthError" {
		return true
	}
	return len(s.Value.OneOf) > 0 && !slices.ContainsFunc(s.Value.OneOf, func(o *openapi3.SchemaRef) bool {
		return o.Ref != "#/components/schemas/OAuthError" && !isError(o)
	})
}

// TestRateLimitHeaders holds the 429 answers to API.md section 9:
// Retry-After and the three X-RateLimit headers, all required; and those of
// the daily invitations (section 10) to Retry-After alone.
func TestRateLimitHeaders(t *testing.T) {
	doc := load(t)
	for _, r := range route.Table {
		op := doc.Paths.Value(DocPath(r.Path)).GetOperation(r.Method)
		if op == nil || op.Responses.Value("429") == nil {
			continue
		}
		var got []string
		for name, h := range op.Responses.Value("429").Value.Headers {
			if h.Value.Required {
				got = append(got, name)
			}
		}
		sort.Strings(got)
		want := []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
		if invitationLimited[r.Op] || oauthErrors[r.Op] {
			want = []string{"Retry-After"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: 429 requires headers %v; want %v", r.Method, r.Path, got, want)
		}
	}
}

const (
	siteID  = "65f0c0ffee00000000000002"
	tokenID = "65f0c0ffee00000000000010"
	secret  = "tss_jrhu8TLvyJdWgpymmS4jXHKIACO888prdQcfFYb14VwLxe"
	jwt     = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
)

const apiToken = `{"id":"` + tokenID + `","kind":"site","name":"CMS sync","displayHint":"tss_…wLxe","siteId":"` + siteID + `",` +
	`"workspaceId":"65f0c0ffee00000000000001","permissions":{"sites":"read"},"scope":"sites:read","createdOn":"2026-11-22T12:00:00.000Z",` +
	`"createdBy":{"id":"65f0c0ffee00000000000003","email":"admin@example.com"},"lastUsed":null,"useCount":0,"expiresOn":"2027-11-22T12:00:00.000Z","expiresAt":null,"allowedIps":[],"scopeLastUsed":{"sites:read":null}}`

const tooMany = `{"code":"too_many_requests","message":"Too Many Requests","externalReference":null,"details":[]}`

// TestCheck feeds the checker exchanges that agree with the document and
// exchanges that do not, one disagreement each.
func TestCheck(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rate := []string{"X-RateLimit-Limit", "120", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1795867260"}
	tests := []struct {
		name                 string
		method, path, bearer string
		reqBody              string
		status               int
		header               []string
		body                 string
		wantErr              string // "" when the exchange agrees
	}{
		{"a token", "GET", "/v2/sites/" + siteID + "/tokens/" + tokenID, jwt, "", 200, nil, apiToken, ""},
		{"a token with a field the document lacks", "GET", "/v2/sites/" + siteID + "/tokens/" + tokenID, jwt, "", 200, nil,
			strings.Replace(apiToken, `"useCount":0`, `"useCount":0,"plan":"cms"`, 1), "plan"},
		{"a token without lastUsed", "GET", "/v2/sites/" + siteID + "/tokens/" + tokenID, jwt, "", 200, nil,
			strings.Replace(apiToken, `"lastUsed":null,`, ``, 1), "lastUsed"},
		{"a minted token", "POST", "/v2/sites/" + siteID + "/tokens", jwt, `{"name":"x","permissions":{"sites":"read"}}`, 201,
			[]string{"Cache-Control", "no-store"}, `{"token":"` + secret + `","apiToken":` + apiToken + `}`, ""},
		{"a minted token without no-store", "POST", "/v2/sites/" + siteID + "/tokens", jwt, `{"name":"x","permissions":{"sites":"read"}}`, 201,
			nil, `{"token":"` + secret + `","apiToken":` + apiToken + `}`, "Cache-Control"},
		{"an undocumented status", "GET", "/v2/sites/" + siteID + "/tokens/" + tokenID, jwt, "", 409, nil,
			`{"code":"conflict","message":"x","externalReference":null,"details":[]}`, "status is not supported"},
		{"a code the status does not have", "GET", "/v2/sites/" + siteID + "/tokens/" + tokenID, jwt, "", 403, nil,
			`{"code":"missing_scopes","message":"x","externalReference":null,"details":[]}`, "forbidden"},
		{"an error without details", "GET", "/v2/sites/" + siteID + "/tokens/" + tokenID, jwt, "", 403, nil,
			`{"code":"forbidden","message":"x","externalReference":null}`, "details"},
		{"429 with its headers", "GET", "/v2/sites", secret, "", 429, append([]string{"Retry-After", "60"}, rate...), tooMany, ""},
		{"429 without Retry-After", "GET", "/v2/sites", secret, "", 429, rate, tooMany, "Retry-After"},
		{"429 without X-RateLimit-Remaining", "GET", "/v2/sites", secret, "", 429,
			[]string{"Retry-After", "60", "X-RateLimit-Limit", "120", "X-RateLimit-Reset", "1795867260"}, tooMany, "X-RateLimit-Remaining"},
		{"a site without the rate-limit headers", "GET", "/v2/sites", secret, "", 200, nil, `{"sites":[]}`, "X-RateLimit-Limit"},
		{"a request the document refuses, taken", "POST", "/v2/sites/" + siteID + "/tokens", jwt, `{"name":"x","permissions":{"workspace":"read"}}`, 201,
			[]string{"Cache-Control", "no-store"}, `{"token":"` + secret + `","apiToken":` + apiToken + `}`, "the document calls the request invalid"},
		{"a request the document refuses, refused", "POST", "/v2/sites/" + siteID + "/tokens", jwt, `{"name":"x","permissions":{"workspace":"read"}}`, 400, nil,
			`{"code":"validation_error","message":"Validation Error","externalReference":null,"details":[{"field":"permissions.workspace","message":"no"}]}`, ""},
		{"a user token on an API token route, taken", "GET", "/v2/sites", jwt, "", 200, rate, `{"sites":[]}`, "authorization failed"},
		{"no route", "GET", "/v2/nope", "", "", 404, nil, `{"code":"resource_not_found","message":"Requested resource not found","externalReference":null,"details":[]}`, ""},
		{"no route, answered", "GET", "/v2/nope", "", "", 200, nil, `{}`, "no route answered 200"},
		{"a redirect without Location", "GET", "/console", "", "", 301, []string{"Cache-Control", "no-store"}, "", "Location"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.reqBody))
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			if tc.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			h := http.Header{}
			if tc.body != "" {
				h.Set("Content-Type", "application/json")
			}
			for i := 0; i+1 < len(tc.header); i += 2 {
				h.Set(tc.header[i], tc.header[i+1])
			}
			err := c.Check(context.Background(), Exchange{Request: req, RequestBody: []byte(tc.reqBody), Status: tc.status, Header: h, Body: []byte(tc.body)})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v; want no mismatch", err)
			case tc.wantErr != "" && (!errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v; want a mismatch naming %q", err, tc.wantErr)
			}
		})
	}
}

// TestCheckWithFaults: a request the document calls invalid, answered 500
// internal_error, is a mismatch, unless the checker is told the service's
// table is made to fail; a 2xx for it is a mismatch either way.
func TestCheckWithFaults(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	invalid := `{"name":"","permissions":{}}`
	exchange := func(status int, body string) Exchange {
		req := httptest.NewRequest("POST", "/v2/sites/"+siteID+"/tokens", strings.NewReader(invalid))
		req.Header.Set("Authorization", "Bearer "+jwt)
		req.Header.Set("Content-Type", "application/json")
		h := http.Header{"Content-Type": {"application/json"}}
		if status == 201 {
			h.Set("Cache-Control", "no-store")
		}
		return Exchange{Request: req, RequestBody: []byte(invalid), Status: status, Header: h, Body: []byte(body)}
	}
	failed := `{"code":"internal_error","message":"An Internal Error occurred","externalReference":null,"details":[]}`
	minted := `{"token":"` + secret + `","apiToken":` + apiToken + `}`
	for _, tc := range []struct {
		name     string
		checker  *Checker
		status   int
		body     string
		mismatch bool
	}{
		{"500, no faults", c, 500, failed, true},
		{"500, faults", c.WithFaults(), 500, failed, false},
		{"201, faults", c.WithFaults(), 201, minted, true},
	} {
		err := tc.checker.Check(context.Background(), exchange(tc.status, tc.body))
		if got := errors.Is(err, ErrMismatch); got != tc.mismatch {
			t.Errorf("%s: Check = %v; want a mismatch %v", tc.name, err, tc.mismatch)
		}
	}
	if c.faults {
		t.Error("WithFaults changed the checker it was called on")
	}
}

// TestHandler checks that the wrapper reports what its handler answers
// against the document, and passes the answer through unchanged.
func TestHandler(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var reported []error // by the checking goroutine, read after Close
	h := NewHandler(c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"didRevoke":"yes"}`))
	}), func(err error) { reported = append(reported, err) }, "/dev-issuer")
	srv := httptest.NewServer(h)
	var statuses []int
	for _, path := range []string{"/v2/token/revoke", "/dev-issuer/token"} {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"token":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	srv.Close()
	h.Close()
	if !slices.Equal(statuses, []int{200, 200}) || len(reported) != 1 || !strings.Contains(reported[0].Error(), "didRevoke") {
		t.Errorf("got %v, reported %v; want 200 twice and one mismatch naming didRevoke (the skipped path unchecked)", statuses, reported)
	}
}
