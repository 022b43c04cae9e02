package eventstest

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Output is a function's standard output in a test: where its wiring
// writes the metrics records of its invocations.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// Records reads every metrics record of log (a line with EMF's "_aws"
// key; other lines are left out) as metrics.Parse reads it: what each holds,
// one slice a record, and the error of each record that breaks the
// catalogue, naming the line.
func Records(log string) (records [][]metrics.Datum, bad []error) {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"_aws"`) {
			continue
		}
		data, err := metrics.Parse(sc.Bytes())
		if err != nil {
			bad = append(bad, fmt.Errorf("record %s: %w", sc.Text(), err))
			continue
		}
		records = append(records, data)
	}
	return records, bad
}

// Data returns what the records written so far hold, leaving out lines
// that are not records (CheckMetrics reports those).
func (o *Output) Data() []metrics.Datum {
	records, _ := Records(o.String())
	var all []metrics.Datum
	for _, data := range records {
		all = append(all, data...)
	}
	return all
}

// String is what was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// CheckMetrics parses every line out holds as a metrics record of function
// and holds it to the catalogue (metrics.Parse): names, units, dimensions
// and their values. A dimension value shaped like an id or an email, or
// equal to one of the fixture's, fails the test, whatever the catalogue
// says. Each metric of want must be among what the lines record.
func CheckMetrics(t *testing.T, out *Output, function string, want ...metrics.Metric) {
	t.Helper()
	raw := out.String()
	forbidden := []string{WorkspaceID, SiteID, OtherSiteID, TokenID, UserID, MemberID, InvitedID, "example.com"}
	seen := map[string]bool{}
	records, bad := Records(raw)
	for _, err := range bad {
		t.Error(err)
	}
	if lines := strings.Count(strings.TrimSpace(raw), "\n") + 1; raw != "" && lines != len(records)+len(bad) {
		t.Errorf("%d of %d lines are not metrics records:\n%s", lines-len(records)-len(bad), lines, raw)
	}
	for _, data := range records {
		for _, d := range data {
			seen[d.Metric.Name] = true
			for name, v := range d.Dimensions {
				if name == metrics.Function.Name && v != function {
					t.Errorf("%s: function = %q; want %q", d.Metric.Name, v, function)
				}
				if token.ValidID(v) || strings.Contains(v, "@") || strings.ContainsFunc(v, func(r rune) bool { return r >= '0' && r <= '9' }) {
					t.Errorf("%s: dimension %s = %q looks like an id or an email", d.Metric.Name, name, v)
				}
				for _, f := range forbidden {
					if strings.Contains(v, f) {
						t.Errorf("%s: dimension %s = %q names %s", d.Metric.Name, name, v, f)
					}
				}
			}
		}
	}
	if len(records)+len(bad) == 0 {
		t.Fatalf("%s wrote no metrics records", function)
	}
	for _, m := range want {
		if !seen[m.Name] {
			t.Errorf("%s's records hold no %s; they hold %v", function, m.Name, seen)
		}
	}
}
