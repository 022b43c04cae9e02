package token

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// scannerPattern is the regular expression API.md gives secret scanners.
var scannerPattern = regexp.MustCompile(`\bts[sw]_[0-9A-Za-z]{46}\b`)

func ExampleGenerate() {
	// A deterministic reader stands in for crypto/rand.Reader here.
	tok, _ := Generate(KindSite, bytes.NewReader(bytes.Repeat([]byte{7, 200, 61}, 64)))
	kind, err := Parse(tok)
	fmt.Println(tok, len(tok))
	fmt.Println(kind, err)
	fmt.Println(DisplayHint(tok))
	// Output:
	// tss_7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez70Gn9Oq 50
	// site <nil>
	// tss_…n9Oq
}

func TestGenerateParse(t *testing.T) {
	for _, k := range []Kind{KindSite, KindWorkspace} {
		t.Run(string(k), func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 200; i++ {
				tok, err := Generate(k, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(tok, k.Prefix()) || len(tok) != Len {
					t.Fatalf("Generate(%s) = %q; want prefix %q and length %d", k, tok, k.Prefix(), Len)
				}
				if got, err := Parse(tok); err != nil || got != k {
					t.Fatalf("Parse(%q) = %v, %v; want %v, nil", tok, got, err, k)
				}
				if !scannerPattern.MatchString("leaked: " + tok + ".") {
					t.Fatalf("scanner pattern misses %q", tok)
				}
				if seen[tok] {
					t.Fatalf("Generate repeated %q", tok)
				}
				seen[tok] = true
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good, err := Generate(KindSite, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"short", good[:Len-1]},
		{"long", good + "0"},
		{"unknown prefix", "tsx_" + good[4:]},
		{"jwt", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"},
		{"typo in body", flip(good, 10)},
		{"typo in checksum", flip(good, Len-1)},
		{"non-base62 body", good[:10] + "-" + good[11:]},
		{"workspace prefix on site body", "tsw_" + good[4:]},
		{"multibyte", good[:Len-3] + "é" + good[Len-1:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := Parse(tc.in); err != ErrMalformed {
				t.Errorf("Parse(%q) = %v, %v; want ErrMalformed", tc.in, k, err)
			}
		})
	}
}

func TestHashAndHint(t *testing.T) {
	tok := "tss_7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez70Gn9Oq"
	if got, want := Hash(tok), Hash(tok); got != want || len(got) != 64 {
		t.Errorf("Hash(%q) = %q; want 64 stable hex characters", tok, got)
	}
	if Hash(tok) == Hash(tok[:Len-1]+"m") {
		t.Error("different tokens hash alike")
	}
	if strings.Contains(Hash(tok), tok[4:20]) {
		t.Error("hash contains the token body")
	}
	if got, want := DisplayHint(tok), "tss_…n9Oq"; got != want {
		t.Errorf("DisplayHint = %q; want %q", got, want)
	}
}

func TestNewID(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	id, err := NewID(now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(id) {
		t.Errorf("ValidID(%q) = false; want true", id)
	}
	if got, want := id[:8], fmt.Sprintf("%08x", now.Unix()); got != want {
		t.Errorf("NewID time part = %q; want %q", got, want)
	}
	for _, bad := range []string{"", "65F0C0FFEE0123456789ABCD", "65f0c0ffee0123456789abc", "65f0c0ffee0123456789abcg", "../../../../etc/passwd00"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true; want false", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("tss_7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez7Ez70Gn9Oq")
	f.Add("tsw_0000000000000000000000000000000000000000000000")
	f.Add("")
	f.Add("Bearer tss_")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if err != nil {
			return
		}
		// Whatever Parse accepts has exactly the shape Generate makes:
		// the right prefix, base62 only, and a checksum that recomputes.
		if !strings.HasPrefix(s, k.Prefix()) || !scannerPattern.MatchString(s) {
			t.Fatalf("Parse accepted %q as %v", s, k)
		}
		var want [checksumLen]byte
		putChecksum(want[:], []byte(s[:prefixLen+bodyLen]))
		if string(want[:]) != s[prefixLen+bodyLen:] {
			t.Fatalf("Parse accepted %q with a wrong checksum", s)
		}
	})
}
