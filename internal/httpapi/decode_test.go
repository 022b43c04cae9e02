package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokensmith/tokensmith"
)

// TestDecodeRefusesKeysEqualAfterFolding holds decode to API.md: an object
// with two keys that are equal, or equal after case folding, at any depth, is
// 400 bad_request naming them, while one key in another case still matches
// its field and an unknown field is still a validation error.
func TestDecodeRefusesKeysEqualAfterFolding(t *testing.T) {
	perms := `"permissions":{"sites":"read"}`
	tests := []struct {
		name    string
		body    string
		code    string // "" when the body decodes
		message string // a part of the message
	}{
		{"distinct keys", `{"name":"a",` + perms + `}`, "", ""},
		{"one key in another case", `{"NAME":"a",` + perms + `}`, "", ""},
		{"exact duplicate", `{"name":"a","name":"b",` + perms + `}`, tokensmith.EBADREQUEST, `the key "name" twice`},
		{"case duplicate", `{"name":"a","NAME":"b",` + perms + `}`, tokensmith.EBADREQUEST, `the keys "name" and "NAME"`},
		{"case duplicate of an object", `{"name":"a",` + perms + `,"Permissions":{"cms":"read"}}`, tokensmith.EBADREQUEST, `"permissions" and "Permissions"`},
		{"case duplicate inside permissions", `{"name":"a","permissions":{"cms":"read","CMS":"read_write"}}`, tokensmith.EBADREQUEST, `"cms" and "CMS"`},
		{"exact duplicate inside permissions", `{"name":"a","permissions":{"sites":"read","sites":"none"}}`, tokensmith.EBADREQUEST, `the key "sites" twice`},
		{"long s folds to s", `{"name":"a",` + perms + `,"permi\u017f\u017fions":{"cms":"read"}}`, tokensmith.EBADREQUEST, "differ only in letter case"},
		{"escaped case duplicate", `{"name":"a","N\u0041ME":"b",` + perms + `}`, tokensmith.EBADREQUEST, `"name" and "NAME"`},
		{"unknown field", `{"name":"a",` + perms + `,"color":"red"}`, tokensmith.EINVALID, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			var in tokensmith.TokenInput
			err := decode(r, &in, false)
			var got string
			var msg string
			if err != nil {
				e := tokensmith.ErrorOf(err)
				got, msg = e.Code, e.Message
			}
			if got != tc.code || !strings.Contains(msg, tc.message) {
				t.Errorf("decode(%s) = %q %q; want %q with %q", tc.body, got, msg, tc.code, tc.message)
			}
		})
	}
}
