package allowlist

import (
	"errors"
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"203.0.113.0/24", "203.0.113.0/24", nil},
		{"203.0.113.7/32", "203.0.113.7/32", nil},
		{"0.0.0.0/0", "0.0.0.0/0", nil},
		{"2001:DB8::/32", "2001:db8::/32", nil},
		{"2001:db8:0:0::/64", "2001:db8::/64", nil},
		{"203.0.113.7/24", "", ErrHostBits},
		{"2001:db8::1/32", "", ErrHostBits},
		{"203.0.113.7", "", ErrNotCIDR},
		{"203.0.113.0/33", "", ErrNotCIDR},
		{"fe80::/10%eth0", "", ErrNotCIDR},
		{"example.com/24", "", ErrNotCIDR},
		{"", "", ErrNotCIDR},
		{" 203.0.113.0/24", "", ErrNotCIDR},
		{"::ffff:203.0.113.0/120", "", ErrMapped},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("Parse(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	ranges := []string{"203.0.113.0/24", "2001:db8::/32"}
	tests := []struct {
		ranges []string
		ip     string
		want   bool
	}{
		{nil, "198.51.100.1", true},
		{nil, "", true},
		{ranges, "203.0.113.200", true},
		{ranges, "203.0.114.1", false},
		{ranges, "::ffff:203.0.113.9", true},
		{ranges, "2001:db8:1::5", true},
		{ranges, "2001:db9::5", false},
		{ranges, "", false},
		{ranges, "not an address", false},
		{ranges, "203.0.113.5:443", false},
		{[]string{"garbage"}, "203.0.113.5", false},
	}
	var c Cache
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.ranges, tc.ip), func(t *testing.T) {
			// Twice: parsed, then from the cache.
			for range 2 {
				if got := c.Allows(fmt.Sprint(tc.ranges), tc.ranges, tc.ip); got != tc.want {
					t.Errorf("Allows(%v, %q) = %v; want %v", tc.ranges, tc.ip, got, tc.want)
				}
			}
		})
	}
}

// TestCacheTellsListsApart: a token's entry answers only for the list it
// was parsed from.
func TestCacheTellsListsApart(t *testing.T) {
	var c Cache
	a := []string{"203.0.113.0/24", "198.51.100.0/24"}
	b := []string{"203.0.113.0/24", "198.51.101.0/24"}
	if !c.Allows("t1", a, "198.51.100.1") {
		t.Fatal("a does not allow its own range")
	}
	if c.Allows("t1", b, "198.51.100.1") {
		t.Error("b allows a's range")
	}
	if !c.Allows("t1", b, "198.51.101.1") || c.Allows("t1", a, "198.51.101.1") {
		t.Error("a and b answered from one entry")
	}
}

func TestCacheStaysBounded(t *testing.T) {
	var c Cache
	for i := range maxCached + 10 {
		c.Allows(fmt.Sprint(i), []string{fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)}, "10.0.0.1")
	}
	if n := len(c.lists); n > maxCached {
		t.Errorf("cache holds %d lists; want at most %d", n, maxCached)
	}
}

// BenchmarkAllows is the allowlist's part of an authorizer decision: a
// source address checked against MaxRanges ranges it falls in none of.
func BenchmarkAllows(b *testing.B) {
	ranges := make([]string, MaxRanges)
	for i := range ranges {
		ranges[i] = fmt.Sprintf("198.51.%d.0/24", i)
	}
	var c Cache
	for b.Loop() {
		c.Allows("65f0c0ffee00000000000010", ranges, "203.0.113.5")
	}
}
