package eventstest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/rie"
	"github.com/tokensmith/tokensmith/internal/serversecret"
	"github.com/tokensmith/tokensmith/internal/token"
)

// RunBootstrap runs the function logicalID as Lambda runs it: the
// bootstrap its build-<LogicalId> target builds (for this machine), under
// the Lambda Runtime Interface Emulator, with the environment events/env.json
// gives it (package rie), against the fixture's table, and checks every
// events/<function>-*.json against its golden answer, as Run does for the
// handler. So a main that wires otherwise than newHandler, reads a variable
// the environment lacks, or fails at init fails here. The bootstrap runs on
// the real clock and randomness, so the answers are held to the goldens but
// for what those choose (same).
func RunBootstrap(t *testing.T, logicalID string) {
	if testing.Short() {
		t.Skip("builds the bootstrap and runs it under the emulator")
	}
	bootstrap, err := rie.Build(root(), logicalID, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t, logicalID)
	env, err := rie.Env(root(), logicalID)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's table, endpoints, issuer and console settings replace
	// the local ones: the goldens name them. The idempotency secret and the
	// assertion key stay the local values, as the fixture serves its own
	// only to a wiring in this process.
	for k := range env {
		if v := fx.Getenv(k); v != "" && k != serversecret.EnvARN && k != serversecret.EnvValue && k != assertion.EnvSecretARN && k != assertion.EnvKey {
			env[k] = v
		}
	}
	// The rate-limit headers of a function's answers count one minute's
	// calls, as the goldens' do on the fixture's clock: start early in a
	// minute, so that the events' calls fall in one.
	if left := time.Minute - time.Duration(time.Now().Second())*time.Second; left < 15*time.Second {
		time.Sleep(left)
	}
	em, err := rie.Start(rie.Config{Bootstrap: bootstrap, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("emulator and %s log:\n%s", logicalID, em.Log())
		}
		em.Close()
	})
	from := time.Now()
	check(t, functionDir(logicalID), func(t *testing.T, event []byte) []byte {
		out, err := em.Invoke(context.Background(), event)
		if err != nil {
			t.Fatal(err)
		}
		var lambdaErr struct {
			Message *string `json:"errorMessage"`
			Type    string  `json:"errorType"`
		}
		if json.Unmarshal(out, &lambdaErr) == nil && lambdaErr.Message != nil && lambdaErr.Type != "" {
			return render(t, errorAnswer(*lambdaErr.Message))
		}
		return render(t, json.RawMessage(out))
	}, func(got, want []byte) error { return same(got, want, from, time.Now()) })
	// A function that writes metrics writes its records to its standard
	// output, which Lambda sends to CloudWatch: a main that sends them
	// elsewhere silences its alarms.
	records, bad := Records(em.Log())
	for _, err := range bad {
		t.Error(err)
	}
	if slices.Contains(metrics.Function.Values, functionDir(logicalID)) && len(records) == 0 {
		t.Errorf("%s wrote no metrics record to its standard output", logicalID)
	}
}

var (
	secretPattern = regexp.MustCompile(`^ts[sw]_[0-9A-Za-z]{46}$`)
	hintPattern   = regexp.MustCompile(`^ts[sw]_…[0-9A-Za-z]{4}$`)
	hashPattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	unixPattern   = regexp.MustCompile(`^[0-9]{10}$`)
)

// same compares an answer of the bootstrap, run between from and to, with
// its golden, which the handler gave on the fixture's clock (Time) and
// randomness: equal but for what the clock and the randomness chose. A
// time of the golden (RFC 3339, Unix seconds, the creation second that
// begins an id) may differ only by as much as the clocks do: the answer's,
// less the golden's distance from Time, falls between from (less a minute,
// for values rounded to one) and to. Ids, secrets, display hints and
// hashes that differ must pair one to one within the answer.
func same(got, want []byte, from, to time.Time) error {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return err
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	m := &matcher{from: from.Add(-time.Minute), to: to.Add(time.Second), pairs: map[string]string{}, back: map[string]string{}}
	m.walk("", g, w)
	return errors.Join(m.errs...)
}

type matcher struct {
	from, to    time.Time
	pairs, back map[string]string
	errs        []error
}

func (m *matcher) walk(path string, got, want any) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			m.errorf(path, got, want)
			return
		}
		for k := range w {
			if _, ok := g[k]; !ok {
				m.errs = append(m.errs, fmt.Errorf("%s.%s: missing", path, k))
			}
		}
		for k, v := range g {
			if _, ok := w[k]; !ok {
				m.errs = append(m.errs, fmt.Errorf("%s.%s: unexpected %v", path, k, v))
				continue
			}
			m.walk(path+"."+k, v, w[k])
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			m.errorf(path, got, want)
			return
		}
		for i := range w {
			m.walk(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	case string:
		g, ok := got.(string)
		if !ok || (g != w && !m.chosen(g, w)) {
			m.errorf(path, got, want)
		}
	default:
		if got != want {
			m.errorf(path, got, want)
		}
	}
}

func (m *matcher) errorf(path string, got, want any) {
	m.errs = append(m.errs, fmt.Errorf("%s: got %v, want %v", path, got, want))
}

// chosen reports whether got and want differ only as the clock and the
// randomness that made them do.
func (m *matcher) chosen(got, want string) bool {
	if tg, err := time.Parse(time.RFC3339Nano, got); err == nil {
		tw, err := time.Parse(time.RFC3339Nano, want)
		return err == nil && m.clock(tg, tw)
	}
	if unixPattern.MatchString(got) && unixPattern.MatchString(want) {
		return m.clock(unix(got), unix(want))
	}
	if token.ValidID(got) && token.ValidID(want) {
		return m.clock(idTime(got), idTime(want)) && m.pair(got, want)
	}
	for _, kind := range []*regexp.Regexp{secretPattern, hintPattern, hashPattern} {
		if kind.MatchString(got) && kind.MatchString(want) {
			// A secret's kind (tss_ or tsw_) is no choice of the randomness.
			return got[:4] == want[:4] && m.pair(got, want)
		}
	}
	return false
}

// clock reports whether the time got, made between from and to, is the
// time want made at Time.
func (m *matcher) clock(got, want time.Time) bool {
	at := got.Add(-want.Sub(Time))
	return !at.Before(m.from) && !at.After(m.to)
}

// pair reports whether got and want pair one to one so far.
func (m *matcher) pair(got, want string) bool {
	g, seen := m.pairs[want]
	w, seenBack := m.back[got]
	if !seen && !seenBack {
		m.pairs[want], m.back[got] = got, want
		return true
	}
	return g == got && w == want
}

func unix(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(n, 0)
}

// idTime is the creation second an id begins with (token.NewID).
func idTime(id string) time.Time {
	b, _ := hex.DecodeString(id[:8])
	return time.Unix(int64(b[0])<<24|int64(b[1])<<16|int64(b[2])<<8|int64(b[3]), 0)
}
