// Command chromium prints the path of the headless Chromium the browser tests
// drive, as package chromium finds it: CHROMIUM, else one installed on PATH,
// else the one of the npm package @sparticuz/chromium, fetched once into the
// tool cache.
//
//	CHROMIUM=$(go run ./cmd/chromium) go test -run TestConsoleInBrowser ./internal/localdev
package main

import (
	"fmt"
	"os"

	"github.com/tokensmith/tokensmith/internal/chromium"
)

func main() {
	path, err := chromium.Find(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chromium:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "chromium: the browser tests drive", path)
	fmt.Println(path)
}
