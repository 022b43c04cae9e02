package main

import (
	"os"
	"testing"
)

// TestGenerated holds the committed declaration.json to upstreams.yaml.
func TestGenerated(t *testing.T) {
	want, err := render()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../" + output)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is stale: run go run ./cmd/upstreamgen\ngot:\n%s\nwant:\n%s", output, got, want)
	}
}
