package openapitest_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tokensmith/tokensmith/internal/upstream"
)

// TestMain puts the repository's upstream declaration in force, as every
// function is built with it, so that the document is held to its routes too.
func TestMain(m *testing.M) {
	d, err := upstream.Built(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d.Install()
	os.Exit(m.Run())
}
