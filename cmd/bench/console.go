package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// consoleMetrics are the browser tests' measurements (console/e2e.mjs, run
// by TestConsoleInBrowser with CONSOLE_METRICS set).
type consoleMetrics struct {
	FirstLoad []struct {
		Path    string `json:"path"`
		Encoded int    `json:"encoded"`
		Decoded int    `json:"decoded"`
	} `json:"firstLoad"`
	SignInToListMs int   `json:"signInToListMs"`
	ReloadToListMs []int `json:"reloadToListMs"`
}

// writeConsole replaces the console's section of the report out (or adds
// it) with the measurements in the file metrics, leaving the rest as it is.
func writeConsole(out, metrics string) error {
	b, err := os.ReadFile(metrics)
	if err != nil {
		return err
	}
	var m consoleMetrics
	if err := json.Unmarshal(b, &m); err != nil || len(m.FirstLoad) == 0 || len(m.ReloadToListMs) == 0 {
		return fmt.Errorf("%s: no console measurements (%v)", metrics, err)
	}
	old, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	report := strings.Replace(string(old), consoleSection(string(old)), "", 1)
	return os.WriteFile(out, []byte(strings.TrimRight(report, "\n")+"\n"+m.section(time.Now(), loadAverage())), 0o644)
}

func (m consoleMetrics) section(now time.Time, load string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `%s
Written by `+"`make bench-console`"+` (the console's browser tests against the local stack, in headless
Chromium, on this machine: %d cores, %s/%s; %s; load average %s when written); `+"`make bench`"+` keeps
this section as it is.

| measure | figure |
|---|---|
`, consoleHeading, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, now.UTC().Format("2006-01-02"), load)
	var enc, dec int
	for _, f := range m.FirstLoad {
		enc += f.Encoded
		dec += f.Decoded
		fmt.Fprintf(&b, "| `%s`, as served / decoded | %d B / %d B |\n", f.Path, f.Encoded, f.Decoded)
	}
	ms := slices.Clone(m.ReloadToListMs)
	slices.Sort(ms)
	fmt.Fprintf(&b, "| First load, every file from `/console/` (page, script, style, icon, `config.json`), as served / decoded | %d B / %d B |\n", enc, dec)
	fmt.Fprintf(&b, "| First visit to the token list: open the console, sign in on the local issuer's page (clicked at once), list drawn | %d ms |\n", m.SignInToListMs)
	fmt.Fprintf(&b, "| Signed-in reload to the token list drawn (page, config, discovery, `/v2/me`, tokens), median of %d (min, max) | %d ms (%d, %d) |\n",
		len(ms), ms[len(ms)/2], ms[0], ms[len(ms)-1])
	b.WriteString(`
- As served: bodies of 1 KiB or more are gzipped for browsers that accept it, as the API's
  ` + "`MinimumCompressionSize`" + ` has API Gateway do (the local gateway reads it from template.yaml).
  Sizes are the browser's ` + "`encodedBodySize`" + ` (body bytes on the wire, headers left out).
- The hashed assets are ` + "`immutable`" + ` for a year, so a returning browser fetches only the page and
  ` + "`config.json`" + ` (` + "`no-store`" + `); the reloads above still read the assets from its cache.
- Times include the local issuer's discovery document and ` + "`GET /v2/me`" + ` (which signs the person
  in); they are of a loopback stack, so they show the page's own work and the round trips it
  makes, not network latency.
`)
	return b.String()
}
