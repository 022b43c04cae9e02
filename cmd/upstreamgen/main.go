// Command upstreamgen writes the repository's upstream declaration
// (upstreams.yaml), validated, as the JSON the functions embed
// (internal/upstream/declaration.json), so that no Lambda links a YAML
// parser. The Makefile runs it before every build when upstreams.yaml
// changes, and its test fails when the committed JSON differs from what it
// writes.
//
//	go run ./cmd/upstreamgen [-o internal/upstream/declaration.json]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tokensmith/tokensmith/internal/upstream/upstreamyaml"
)

// output is where the JSON is written, relative to the module's root.
const output = "internal/upstream/declaration.json"

func main() {
	out := flag.String("o", output, "the JSON file to write")
	flag.Parse()
	src, err := render()
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstreamgen:", err)
		os.Exit(1)
	}
}

// render returns the declaration as JSON, its URLs as written: each
// function expands them from its own environment.
func render() ([]byte, error) {
	d, err := upstreamyaml.Repository(nil)
	if err != nil {
		return nil, err
	}
	return d.JSON()
}
