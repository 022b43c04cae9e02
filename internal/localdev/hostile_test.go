package localdev_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestHostileInputChangesNothing sends malformed and hostile requests
// through the gateway: each gets a 4xx JSON error of API.md, and the table
// is the same afterwards, item for item.
func TestHostileInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	tokens := "/v2/sites/" + e.demo.SiteID + "/tokens"
	secret, id := e.mint("site", `{"sites":"read"}`)
	e.do("GET", "/v2/sites", secret, "") // the first use's usage write, before the snapshot
	before := fmt.Sprint(e.state())
	deep := `{"name":"x","permissions":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`
	tests := []struct {
		name, method, path, bearer, body string
		headers                          []string
		status                           int
	}{
		{"deeply nested JSON", "POST", tokens, e.demo.AdminToken, deep, nil, 400},
		{"duplicate keys", "POST", tokens, e.demo.AdminToken, `{"name":"a","name":"b","permissions":{"sites":"read"}}`, nil, 400},
		{"duplicate permission", "POST", tokens, e.demo.AdminToken, `{"name":"a","permissions":{"sites":"read","sites":"none"}}`, nil, 400},
		{"invalid UTF-8 in a key", "POST", tokens, e.demo.AdminToken, "{\"n\xc3\x28me\":\"a\"}", nil, 400},
		{"NUL in the name", "POST", tokens, e.demo.AdminToken, `{"name":"a\u0000b","permissions":{"sites":"read"}}`, nil, 400},
		{"number too big", "POST", "/v2/sites/" + e.demo.SiteID + "/tokens/" + id + "/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":1e400}`, nil, 400},
		{"grace that wraps past 64 bits", "POST", "/v2/sites/" + e.demo.SiteID + "/tokens/" + id + "/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":18446744074}`, nil, 400},
		{"largest grace", "POST", "/v2/sites/" + e.demo.SiteID + "/tokens/" + id + "/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":9223372036854775807}`, nil, 400},
		{"grace as a float", "POST", "/v2/sites/" + e.demo.SiteID + "/tokens/" + id + "/regenerate", e.demo.AdminToken, `{"gracePeriodSeconds":1.5}`, nil, 400},
		{"huge header", "GET", tokens, e.demo.AdminToken, "", []string{"X-Filler", strings.Repeat("a", 20000)}, 431},
		{"huge credential", "GET", "/v2/sites", strings.Repeat("a", 9000), "", nil, 401},
		{"path traversal in a site id", "GET", "/v2/sites/..%2F..%2Fetc/tokens", e.demo.AdminToken, "", nil, 404},
		{"dot segments in a token id", "DELETE", tokens + "/%2e%2e", e.demo.AdminToken, "", nil, 404},
		{"upper-case id", "DELETE", tokens + "/" + strings.ToUpper(id), e.demo.AdminToken, "", nil, 404},
		{"id with a suffix", "DELETE", tokens + "/" + id + "0", e.demo.AdminToken, "", nil, 404},
		{"SQL in an id", "GET", "/v2/sites/' OR 1=1 --", secret, "", nil, 404},
		{"repeated query parameter", "GET", "/v2/workspaces/" + e.demo.WorkspaceID + "/audit_logs?limit=1&limit=1", "", "", nil, 401},
		{"method override header", "GET", tokens + "/" + id, e.demo.AdminToken, "", []string{"X-HTTP-Method-Override", "DELETE"}, 200},
		{"a secret as a user token", "DELETE", tokens + "/" + id, secret, "", nil, 401},
		{"two Authorization headers", "DELETE", tokens + "/" + id, "", "", []string{"Authorization", "Bearer " + e.demo.AdminToken + ", Bearer x"}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.bearer, tc.body, tc.headers...)
			if r.status != tc.status {
				t.Fatalf("got %d %s; want %d", r.status, r.raw, tc.status)
			}
			if r.status >= 400 && (r.str("code") == "" || r.str("message") == "") {
				t.Errorf("not an API error: %s", r.raw)
			}
		})
	}
	if after := fmt.Sprint(e.state()); after != before {
		t.Errorf("the table changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestMalformedRequestsAreBadRequests sends requests that no API call can
// be: two keys of one object equal after case folding, at any depth, and a
// control character in the path, a path parameter or the query string.
// Through the gateway, each is a 400 bad_request the function answers
// itself (never the gateway's 502), and the table is unchanged.
func TestMalformedRequestsAreBadRequests(t *testing.T) {
	e := newEnv(t)
	site := "/v2/sites/" + e.demo.SiteID
	wsToken, _ := e.mint("workspace", `{"workspace_activity":"read"}`)
	_, id := e.mint("site", `{"sites":"read"}`)
	audit := "/v2/workspaces/" + e.demo.WorkspaceID + "/audit_logs"
	settings := "/v2/workspaces/" + e.demo.WorkspaceID + "/settings"
	e.do("GET", audit, wsToken, "") // the first use's usage write, before the snapshot
	before := fmt.Sprint(e.state())
	type request struct{ name, method, path, bearer, body string }
	admin := e.demo.AdminToken
	tests := []request{
		{"exact duplicate", "POST", site + "/tokens", admin, `{"name":"a","name":"b","permissions":{"sites":"read"}}`},
		{"case duplicate", "POST", site + "/tokens", admin, `{"name":"a","NAME":"b","permissions":{"sites":"read"}}`},
		{"case duplicate of permissions", "POST", site + "/tokens", admin, `{"name":"a","permissions":{"sites":"read"},"Permissions":{"cms":"read"}}`},
		{"case duplicate inside permissions", "POST", site + "/tokens", admin, `{"name":"a","permissions":{"cms":"read","CMS":"read_write"}}`},
		{"case duplicate in regenerate", "POST", site + "/tokens/" + id + "/regenerate", admin, `{"gracePeriodSeconds":0,"GracePeriodSeconds":60}`},
		{"case duplicate in revoke by secret", "POST", "/v2/token/revoke", "", `{"token":"x","TOKEN":"y"}`},
		{"case duplicate in a trusted workload", "POST", site + "/trusted_workloads", admin, `{"name":"a","Subject":"x","subject":"y"}`},
		{"case duplicate inside a workload's claims", "POST", site + "/trusted_workloads", admin, `{"name":"a","claims":{"ref":"a","REF":"b"}}`},
		{"case duplicate in settings", "PATCH", settings, admin, `{"maxTokenLifetimeDays":30,"MaxTokenLifetimeDays":null}`},
	}
	for _, c := range append(rangeBytes(0x00, 0x1f), 0x7f) {
		tests = append(tests,
			request{fmt.Sprintf("%#02x in a token id", c), "DELETE", fmt.Sprintf("%s/tokens/%%%02Xabc", site, c), admin, ""},
			request{fmt.Sprintf("%#02x in a site id", c), "GET", fmt.Sprintf("/v2/sites/%%%02X%s/tokens", c, e.demo.SiteID), admin, ""},
			request{fmt.Sprintf("%#02x in a workload id", c), "DELETE", fmt.Sprintf("%s/trusted_workloads/%%%02Xabc", site, c), admin, ""},
			request{fmt.Sprintf("%#02x in a workload's site id", c), "GET", fmt.Sprintf("/v2/sites/%%%02X%s/trusted_workloads", c, e.demo.SiteID), admin, ""},
			request{fmt.Sprintf("%#02x in the path", c), "GET", fmt.Sprintf("%s/tokens/%s%%%02X", site, id, c), admin, ""},
			request{fmt.Sprintf("%#02x in a query value", c), "GET", fmt.Sprintf("%s?eventType=api_token%%%02X", audit, c), wsToken, ""},
			request{fmt.Sprintf("%#02x in a query name", c), "GET", fmt.Sprintf("%s?limit%%%02X=1", audit, c), wsToken, ""},
			request{fmt.Sprintf("%#02x in a workspace id", c), "PATCH", fmt.Sprintf("/v2/workspaces/%%%02X%s/settings", c, e.demo.WorkspaceID), admin, `{"maxTokenLifetimeDays":7}`},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(tc.method, tc.path, tc.bearer, tc.body), 400, "bad_request")
		})
	}
	// An encoded percent is decoded once, as API Gateway hands it on: the
	// id "%zz", which no token has.
	wantError(t, e.do("DELETE", site+"/tokens/%25zz", admin, ""), 404, "resource_not_found")
	if after := fmt.Sprint(e.state()); after != before {
		t.Errorf("the table changed:\nbefore %s\nafter  %s", before, after)
	}
}

// rangeBytes returns the bytes from lo to hi, inclusive.
func rangeBytes(lo, hi byte) []byte {
	var out []byte
	for c := lo; c <= hi; c++ {
		out = append(out, c)
	}
	return out
}
