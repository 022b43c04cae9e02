package tokensmith

import "testing"

func TestMatchSubject(t *testing.T) {
	for _, tc := range []struct {
		pattern, sub string
		want         bool
	}{
		{"repo:octo/site:ref:refs/heads/main", "repo:octo/site:ref:refs/heads/main", true},
		{"repo:octo/site:ref:refs/heads/main", "repo:octo/site:ref:refs/heads/mainx", false},
		{"repo:octo/site:ref:refs/heads/*", "repo:octo/site:ref:refs/heads/feature/x", true},
		{"repo:octo/site:ref:refs/heads/*", "repo:octo/site:ref:refs/heads/", true},
		{"repo:octo/site:ref:refs/heads/*", "repo:octo/other:ref:refs/heads/main", false},
		// A '*' never crosses ':': not another repository, not more parts.
		{"repo:octo/*", "repo:octo/site:ref:refs/heads/main", false},
		{"repo:octo/*:ref:refs/heads/main", "repo:octo/evil:x:ref:refs/heads/main", false},
		{"repo:octo/*:ref:refs/heads/main", "repo:octo/site:ref:refs/heads/main", true},
		{"repo:*/site:environment:prod", "repo:octo/site:environment:prod", true},
		{"*", "a:b", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*.*", "x.y.z", true},
		{"", "", true},
		{"", "x", false},
		{"REPO:octo/site:*", "repo:octo/site:x", false},
	} {
		if got := MatchSubject(tc.pattern, tc.sub); got != tc.want {
			t.Errorf("MatchSubject(%q, %q) = %v; want %v", tc.pattern, tc.sub, got, tc.want)
		}
	}
}
