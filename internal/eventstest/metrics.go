package eventstest

import (
	"bufio"
	"bytes"
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

// Data returns what the records written so far hold, leaving out lines
// that are not records (CheckMetrics reports those).
func (o *Output) Data() []metrics.Datum {
	o.mu.Lock()
	raw := o.buf.String()
	o.mu.Unlock()
	var all []metrics.Datum
	for _, line := range strings.Split(raw, "\n") {
		if data, err := metrics.Parse([]byte(line)); err == nil {
			all = append(all, data...)
		}
	}
	return all
}

// CheckMetrics parses every line out holds as a metrics record of function
// and holds it to the catalogue (metrics.Parse): names, units, dimensions
// and their values. A dimension value shaped like an id or an email, or
// equal to one of the fixture's, fails the test, whatever the catalogue
// says. Each metric of want must be among what the lines record.
func CheckMetrics(t *testing.T, out *Output, function string, want ...metrics.Metric) {
	t.Helper()
	out.mu.Lock()
	raw := out.buf.String()
	out.mu.Unlock()
	forbidden := []string{WorkspaceID, SiteID, OtherSiteID, TokenID, UserID, MemberID, InvitedID, "example.com"}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		data, err := metrics.Parse(sc.Bytes())
		if err != nil {
			t.Errorf("record %s: %v", sc.Text(), err)
			continue
		}
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
	if lines == 0 {
		t.Fatalf("%s wrote no metrics records", function)
	}
	for _, m := range want {
		if !seen[m.Name] {
			t.Errorf("%s's records hold no %s; they hold %v", function, m.Name, seen)
		}
	}
}
