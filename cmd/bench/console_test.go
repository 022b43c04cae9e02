package main

import "testing"

func TestConsoleSection(t *testing.T) {
	tests := []struct{ report, want string }{
		{"# Benchmarks\n\n| a |\n", ""},
		{"# Benchmarks\n\n## Console\n\nrows\n", "\n## Console\n\nrows\n"},
		{"# Benchmarks\n\n## Console\n\nrows\n\n## Later\n\nmore\n", "\n## Console\n\nrows\n\n"},
	}
	for _, tc := range tests {
		if got := consoleSection(tc.report); got != tc.want {
			t.Errorf("consoleSection(%q) = %q; want %q", tc.report, got, tc.want)
		}
	}
}
