// Package upstreamyaml reads upstream declarations as the operator writes
// them, in YAML: the repository's upstreams.yaml, or the file
// TOKENSMITH_UPSTREAMS names for `make run`. No Lambda links it (they embed
// the declaration as cmd/upstreamgen writes it, package upstream).
package upstreamyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/upstream"
)

// EnvFile names the file `make run` reads instead of the repository's.
const EnvFile = "TOKENSMITH_UPSTREAMS"

// Parse reads and validates the declaration data of the file named name,
// expanding each ${NAME} of a URL with getenv (nil: URLs left as written).
// Every problem is reported, each naming the file, the entry and the field.
func Parse(name string, data []byte, getenv func(string) (string, bool)) (*upstream.Declaration, error) {
	var d upstream.Declaration
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := d.Validate(name, getenv); err != nil {
		return nil, err
	}
	return &d, nil
}

// Repository returns the repository's declaration, upstreams.yaml.
func Repository(getenv func(string) (string, bool)) (*upstream.Declaration, error) {
	return Parse(upstream.RepositoryFile, tokensmith.Upstreams, getenv)
}

// FromEnv returns the declaration a local run uses: the file EnvFile names
// when it is set, else the repository's.
func FromEnv(getenv func(string) (string, bool)) (*upstream.Declaration, error) {
	path, ok := getenv(EnvFile)
	if !ok || path == "" {
		return Repository(getenv)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvFile, err)
	}
	return Parse(path, data, getenv)
}
