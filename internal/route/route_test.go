package route

import (
	"reflect"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		method, path string
		op           string
		params       map[string]string
	}{
		{"POST", "/v2/sites/s1/tokens", "createSiteToken", map[string]string{"site_id": "s1"}},
		{"GET", "/v2/sites/s1/tokens/t1", "getSiteToken", map[string]string{"site_id": "s1", "token_id": "t1"}},
		{"POST", "/v2/sites/s1/tokens/t1/regenerate", "regenerateSiteToken", map[string]string{"site_id": "s1", "token_id": "t1"}},
		{"DELETE", "/v2/workspaces/w1/tokens/t1", "revokeWorkspaceToken", map[string]string{"workspace_id": "w1", "token_id": "t1"}},
		{"POST", "/v2/workspaces/w1/tokens/t1/regenerate", "", nil},
		{"PUT", "/v2/sites/s1/tokens", "", nil},
		{"GET", "/v2/sites//tokens", "", nil},
		{"GET", "/v2/sites/s1/tokens/t1/extra", "", nil},
		{"GET", "/nope", "", nil},
		{"GET", "/v2/sites/", "listSites", nil},
		{"GET", "/console", "consolePage", nil},
		{"GET", "/console/", "consolePage", nil},
		{"GET", "/console/config.json", "consoleFile", map[string]string{"file": "config.json"}},
		{"GET", "/console/assets/app-X.js", "consoleFile", map[string]string{"file": "assets/app-X.js"}},
		{"POST", "/console/config.json", "", nil},
		{"GET", "/consoles/x", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r, params, ok := Match(tc.method, tc.path)
			if ok != (tc.op != "") || r.Op != tc.op || !reflect.DeepEqual(params, tc.params) {
				t.Errorf("Match(%s, %s) = %q, %v, %v; want %q, %v", tc.method, tc.path, r.Op, params, ok, tc.op, tc.params)
			}
		})
	}
}

func TestTableIsConsistent(t *testing.T) {
	ops := map[string]bool{}
	for _, r := range Table {
		if ops[r.Op] {
			t.Errorf("operation %s appears twice", r.Op)
		}
		ops[r.Op] = true
		if got, ok := Lookup(r.Method, r.Path); !ok || got.Op != r.Op {
			t.Errorf("Lookup(%s, %s) = %v, %v; want %s", r.Method, r.Path, got.Op, ok, r.Op)
		}
		if !r.Auth.TakesAPIToken() && r.Scope != "" {
			t.Errorf("%s: scope %q on a %s route", r.Op, r.Scope, r.Auth)
		}
	}
}

// TestOneParameterNamePerLevel holds the table to API Gateway's rule that
// the variable path parts under one parent share one name.
func TestOneParameterNamePerLevel(t *testing.T) {
	names := map[string]string{} // parent path -> parameter name
	for _, r := range Table {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if !strings.HasPrefix(s, "{") {
				continue
			}
			parent := strings.Join(segs[:i], "/")
			if prev, ok := names[parent]; ok && prev != s {
				t.Errorf("%s: %s under %s, where another route has %s", r.Op, s, parent, prev)
			}
			names[parent] = s
		}
	}
}
