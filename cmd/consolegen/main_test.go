package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/apitokens"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/upstream/upstreamyaml"
)

// TestCommittedModuleIsCurrent fails when the console's module differs from
// what the Go packages say: run `make bundle` (or go run ./cmd/consolegen)
// and commit the result.
func TestCommittedModuleIsCurrent(t *testing.T) {
	want, err := render()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", output)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale; run go run ./cmd/consolegen and commit it. It should read:\n%s", output, want)
	}
}

func TestRenderTellsTheDomain(t *testing.T) {
	src, err := render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{ key: "site_config", name: "Site configuration", max: "read_write" },`,
		`{ key: "workspace_activity", name: "Workspace activity", max: "read" },`,
		"export const maxActiveTokens = 5;",
		"export const maxNameLength = 100;",
		"export const inactivityDays = 365;",
		`{ seconds: 604800, label: "7 days" },`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("render() lacks %s", want)
		}
	}
}

func TestGracePeriodsWithinTheService(t *testing.T) {
	defer func(saved []time.Duration) { gracePeriods = saved }(gracePeriods)
	for _, tc := range []struct {
		name    string
		periods []time.Duration
		ok      bool
	}{
		{"none to the longest", []time.Duration{0, time.Hour, apitokens.MaxGrace}, true},
		{"beyond the longest", []time.Duration{0, apitokens.MaxGrace + time.Hour}, false},
		{"out of order", []time.Duration{time.Hour, 0}, false},
		{"negative", []time.Duration{-time.Hour}, false},
		{"not whole hours", []time.Duration{0, 90 * time.Minute}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gracePeriods = tc.periods
			if _, err := render(); (err == nil) != tc.ok {
				t.Errorf("render() with %v: error %v; want ok %v", tc.periods, err, tc.ok)
			}
		})
	}
}

func TestGraceLabel(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "None"},
		{time.Hour, "1 hour"},
		{2 * time.Hour, "2 hours"},
		{24 * time.Hour, "24 hours"},
		{48 * time.Hour, "2 days"},
		{7 * 24 * time.Hour, "7 days"},
		{36 * time.Hour, "36 hours"},
	} {
		if got, err := graceLabel(tc.d); got != tc.want || err != nil {
			t.Errorf("graceLabel(%v) = %q, %v; want %q", tc.d, got, err, tc.want)
		}
	}
}

// TestRenderShowsAddedAPIs: an API the upstream declaration adds is offered
// as the built-in ones are, after them.
func TestRenderShowsAddedAPIs(t *testing.T) {
	defer scope.Add(nil)
	d, err := upstreamyaml.Parse("shop.yaml", []byte("apis:\n  - {name: orders, label: Orders, maxLevel: read_write}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := renderWith(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `  { key: "webhooks", name: "Webhooks", max: "read_write" },
  { key: "orders", name: "Orders", max: "read_write" },
];`
	if !strings.Contains(string(src), want) {
		t.Errorf("render with an added API lacks\n%s\nin\n%s", want, src)
	}
}
