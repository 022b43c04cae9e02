package httpapi

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/tokensmith/tokensmith"
)

// TestParseAuditQueryNumbers holds limit and offset to their ranges: any
// offset an int holds is accepted, and anything else, however many digits,
// is a validation error on its field.
func TestParseAuditQueryNumbers(t *testing.T) {
	const offsetRange = "must be a whole number from 0 to 9223372036854775807"
	const limitRange = "must be a whole number from 1 to 100"
	tests := []struct {
		query         string
		limit, offset int
		field, msg    string // the one detail when invalid
	}{
		{"", 100, 0, "", ""},
		{"offset=9223372036854775807", 100, 9223372036854775807, "", ""},
		{"offset=9223372036854775806&sortOrder=asc", 100, 9223372036854775806, "", ""},
		{"offset=9223372036854775807&sortOrder=desc", 100, 9223372036854775807, "", ""},
		{"offset=9223372036854775808", 0, 0, "offset", offsetRange},
		{"offset=99999999999999999999999999999999999999", 0, 0, "offset", offsetRange},
		{"offset=-1", 0, 0, "offset", offsetRange},
		{"offset=-9223372036854775808", 0, 0, "offset", offsetRange},
		{"offset=x", 0, 0, "offset", offsetRange},
		{"offset=1e3", 0, 0, "offset", offsetRange},
		{"offset=", 0, 0, "offset", offsetRange},
		{"limit=9223372036854775807", 0, 0, "limit", limitRange},
		{"limit=18446744073709551616", 0, 0, "limit", limitRange},
		{"limit=-9223372036854775808", 0, 0, "limit", limitRange},
		{"limit=100&offset=5", 100, 5, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			values, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := parseAuditQuery(values)
			var details []tokensmith.ErrorDetail
			if err != nil {
				details = tokensmith.ErrorOf(err).Details
			}
			got := fmt.Sprintf("limit %d offset %d details %v", q.Limit, q.Offset, details)
			want := fmt.Sprintf("limit %d offset %d details %v", tc.limit, tc.offset, []tokensmith.ErrorDetail(nil))
			if tc.field != "" {
				want = fmt.Sprintf("limit 0 offset 0 details %v", []tokensmith.ErrorDetail{{Field: tc.field, Message: tc.msg}})
			}
			if got != want {
				t.Errorf("parseAuditQuery(%q) = %s; want %s", tc.query, got, want)
			}
		})
	}
}
