package tokensmith_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
)

// TestBootstrapsUnderTheEmulator runs every function of template.yaml as
// Lambda runs it, its bootstrap under the Lambda Runtime Interface
// Emulator, with each of its sample events, and holds the answers to the
// goldens its handler tests hold the handler to (eventstest.RunBootstrap).
// go test -short skips it.
func TestBootstrapsUnderTheEmulator(t *testing.T) {
	tmpl, err := samtemplate.Load()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range slices.Sorted(maps.Keys(fns)) {
		t.Run(id, func(t *testing.T) { eventstest.RunBootstrap(t, id) })
	}
}
