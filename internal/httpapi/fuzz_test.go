package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/token"
)

// FuzzCreateBody holds the create-token body's decoding and validation to
// "never panics, and accepts only what API.md allows".
func FuzzCreateBody(f *testing.F) {
	f.Add([]byte(`{"name":"CMS sync","permissions":{"sites":"read","cms":"read_write"}}`), true)
	f.Add([]byte(`{"name":"x","permissions":{"workspace_activity":"read"}}`), false)
	f.Add([]byte(`{"name":"a\u0007","permissions":{}}`), true)
	f.Add([]byte(`{"name":"\ud800","permissions":{"sites":"none"}}`), true)
	f.Add([]byte(`[{"name":1}]`), true)
	f.Add([]byte("{\"name\":\"\xff\"}"), true)
	f.Fuzz(func(t *testing.T, body []byte, site bool) {
		kind := token.KindWorkspace
		if site {
			kind = token.KindSite
		}
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var in tokensmith.TokenInput
		if err := decode(r, &in, false); err != nil {
			return
		}
		var generic any
		if err := json.Unmarshal(body, &generic); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		if a, b, ok := foldedPair(generic); ok {
			t.Fatalf("accepted keys %q and %q in one object", a, b)
		}
		if len(apitokens.Validate(kind, in)) > 0 {
			return
		}
		name := strings.TrimSpace(in.Name)
		if n := utf8.RuneCountInString(name); n < 1 || n > apitokens.MaxNameLen || !utf8.ValidString(name) ||
			strings.IndexFunc(name, unicode.IsControl) >= 0 || strings.ContainsRune(name, utf8.RuneError) {
			t.Fatalf("accepted name %q", in.Name)
		}
		scopes := scope.Expand(in.Permissions)
		if len(scopes) == 0 {
			t.Fatalf("accepted permissions %v that grant nothing", in.Permissions)
		}
		for _, s := range scopes {
			api, _, _ := strings.Cut(s, ":")
			if !slices.Contains(scope.APIs(kind), api) {
				t.Fatalf("accepted scope %s on a %s token", s, kind)
			}
		}
	})
}

// foldedPair returns two keys of one object of v, at any depth, that are
// equal without regard to case, as strings.EqualFold has it.
func foldedPair(v any) (string, string, bool) {
	switch v := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(v))
		for i, a := range keys {
			for _, b := range keys[i+1:] {
				if strings.EqualFold(a, b) {
					return a, b, true
				}
			}
			if x, y, ok := foldedPair(v[a]); ok {
				return x, y, true
			}
		}
	case []any:
		for _, e := range v {
			if x, y, ok := foldedPair(e); ok {
				return x, y, true
			}
		}
	}
	return "", "", false
}

// FuzzAdapt holds Adapt to "never an invocation error, never a 5xx, and a
// handler never sees a control character in its path or query".
func FuzzAdapt(f *testing.F) {
	f.Add("DELETE", "/v2/sites/65f0a1b2c3d4e5f6a7b8c9d0/tokens/\x00abc", "token_id", "\x00abc", "limit", "1")
	f.Add("GET", "/v2/sites/s/tokens/%00abc", "site_id", "s", "eventType", "api_token")
	f.Add("GET", "/v2/sites/%zz", "site_id", "%zz", "x\x7f", "1")
	f.Add("GET", "v2/a%2Fb?c#d", "", "", "", "")
	f.Add("GE T", "/v2/sites", "", "", "", "")
	f.Fuzz(func(t *testing.T, method, path, param, value, qk, qv string) {
		ran := false
		proxy := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			for k, vs := range r.URL.Query() {
				if hasControl(k) || hasControl(strings.Join(vs, "")) {
					t.Errorf("handler saw query %q=%q", k, vs)
				}
			}
			if hasControl(r.URL.Path) || hasControl(r.PathValue(param)) {
				t.Errorf("handler saw path %q", r.URL.Path)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		ev := events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, PathParameters: map[string]string{param: value}}
		if qk != "" {
			ev.QueryStringParameters = map[string]string{qk: qv}
			ev.MultiValueQueryStringParameters = map[string][]string{qk: {qv}}
		}
		resp, err := proxy(context.Background(), ev)
		if err != nil || resp.StatusCode >= 500 {
			t.Fatalf("Adapt(%q %q) = %d, %v", method, path, resp.StatusCode, err)
		}
		if !ran && (resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"bad_request"`)) {
			t.Fatalf("Adapt(%q %q) = %d %s without the handler", method, path, resp.StatusCode, resp.Body)
		}
	})
}

// FuzzAuditQuery holds the audit log's query parameters to "never panics,
// and a query that passes is within its bounds".
func FuzzAuditQuery(f *testing.F) {
	f.Add("limit=10&offset=5&sortOrder=asc&eventType=api_token")
	f.Add("from=2026-11-22T12:00:00Z&to=2026-11-22T13:00:00.5%2B01:00")
	f.Add("limit=-1&limit=1000&offset=99999999999999999999")
	f.Add("eventType=token_created&sortOrder=sideways")
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseAuditQuery(values)
		if err != nil {
			return
		}
		if q.Limit < 1 || q.Limit > maxAuditLimit || q.Offset < 0 ||
			(q.EventType != "" && !slices.Contains(audit.Types, q.EventType)) ||
			(q.From != nil && q.To != nil && !q.From.Before(*q.To)) {
			t.Fatalf("parseAuditQuery(%q) = %+v", raw, q)
		}
	})
}

func TestDuplicateKey(t *testing.T) {
	tests := []struct {
		body          string
		first, second string
	}{
		{`{"name":"a","permissions":{"sites":"read"}}`, "", ""},
		{`{"name":"a","name":"b"}`, "name", "name"},
		{`{"name":"a","permissions":{"sites":"read","sites":"none"}}`, "sites", "sites"},
		{`{"a":{"x":1},"b":{"x":1}}`, "", ""},
		{`{"a":[{"x":1},{"x":1}],"b":"x"}`, "", ""},
		{`{"a":[1,{"k":1,"k":2}]}`, "k", "k"},
		{`{"a":{"b":{}},"a":1}`, "a", "a"},
		{`{"x":"name","name":"y"}`, "", ""},
		{`not json`, "", ""},
		{`{"name":"a","NAME":"b"}`, "name", "NAME"},
		{`{"Permissions":{},"permissions":{}}`, "Permissions", "permissions"},
		{`{"name":"a","permissions":{"cms":"read","CMS":"read_write"}}`, "cms", "CMS"},
		{`{"a":[{"b":[{"Key":1,"kEY":2}]}]}`, "Key", "kEY"},
		{`{"n\u0061me":"a","N\u0041ME":"b"}`, "name", "NAME"},
		// U+017F (long s) and U+212A (Kelvin sign) fold to s and k, as
		// encoding/json folds them when it matches a name to a field.
		{`{"permissions":{},"permi\u017f\u017fions":{}}`, "permissions", "permi\u017f\u017fions"},
		{`{"k":1,"\u212a":2}`, "k", "\u212a"},
		{`{"name":"a","names":"b","nam":"c"}`, "", ""},
	}
	for _, tc := range tests {
		first, second, ok := duplicateKey([]byte(tc.body))
		want := struct{ first, second string }{unquote(t, tc.first), unquote(t, tc.second)}
		if first != want.first || second != want.second || ok != (want.first != "") {
			t.Errorf("duplicateKey(%s) = %q, %q, %v; want %q, %q", tc.body, first, second, ok, want.first, want.second)
		}
	}
}

// unquote reads s as the inside of a JSON string.
func unquote(t *testing.T, s string) string {
	t.Helper()
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
