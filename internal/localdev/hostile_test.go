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
	before := fmt.Sprint(e.items(""))
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
	if after := fmt.Sprint(e.items("")); after != before {
		t.Errorf("the table changed:\nbefore %s\nafter  %s", before, after)
	}
}
