package eventstest

import (
	"testing"
	"time"
)

// TestSame holds the comparison of a bootstrap's answers with the goldens
// to what the clock and the randomness may change, and nothing else.
func TestSame(t *testing.T) {
	from := time.Date(2026, time.December, 7, 19, 0, 0, 0, time.UTC)
	to := from.Add(5 * time.Second)
	const (
		id1    = "6b02d9400f06f6da089edf64" // made at Time
		id2    = "6b02d9409c41d8fd2f8560ad"
		now1   = "6b17023011111111aaaaaaaa" // made at 2026-12-07T19:00:00Z (from)
		now2   = "6b17023022222222bbbbbbbb"
		secret = "tss_1X8TKG7MaVuaFxBkW3Ul9YnGVI8hxz2f9LmFgjwQ3tiZP3"
		other  = "tss_Od5ZN1nBNbxoyVg263aEYwgfNE7OX1j84YM6iqwE1UvD2R"
	)
	for _, tc := range []struct {
		name, got, want string
		ok              bool
	}{
		{"equal", `{"a":[1,"x"]}`, `{"a":[1,"x"]}`, true},
		{"time of the clock", `{"t":"2026-12-07T19:00:02.000Z"}`, `{"t":"2026-11-22T12:00:00.000Z"}`, true},
		{"time a year on", `{"t":"2027-12-07T19:00:02.000Z"}`, `{"t":"2027-11-22T12:00:00.000Z"}`, true},
		{"time off by a day", `{"t":"2026-12-08T19:00:02.000Z"}`, `{"t":"2026-11-22T12:00:00.000Z"}`, false},
		{"fixture time changed", `{"t":"2026-12-07T19:00:02.000Z"}`, `{"t":"2026-11-21T12:00:00.000Z"}`, false},
		{"unix seconds of the clock", `{"r":"1796670060"}`, `{"r":"1795348860"}`, true},
		{"new ids", `{"a":"` + now1 + `","b":"` + now2 + `","c":"` + now1 + `"}`, `{"a":"` + id1 + `","b":"` + id2 + `","c":"` + id1 + `"}`, true},
		{"ids paired two ways", `{"a":"` + now1 + `","b":"` + now1 + `"}`, `{"a":"` + id1 + `","b":"` + id2 + `"}`, false},
		{"fixture id changed", `{"a":"65f0c0ffee00000000000003"}`, `{"a":"65f0c0ffee00000000000002"}`, false},
		{"new secret", `{"s":"` + other + `"}`, `{"s":"` + secret + `"}`, true},
		{"secret of another kind", `{"s":"tsw_` + other[4:] + `"}`, `{"s":"` + secret + `"}`, false},
		{"other text", `{"m":"Validation Error"}`, `{"m":"Not Found"}`, false},
		{"other number", `{"n":119}`, `{"n":118}`, false},
		{"missing key", `{}`, `{"a":1}`, false},
		{"extra key", `{"a":1,"b":2}`, `{"a":1}`, false},
		{"longer list", `{"a":[1,2]}`, `{"a":[1]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := same([]byte(tc.got), []byte(tc.want), from, to)
			if (err == nil) != tc.ok {
				t.Errorf("same(%s, %s) = %v; want ok %v", tc.got, tc.want, err, tc.ok)
			}
		})
	}
}
