package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/store"
)

// fakeCounter answers CountRequest with its function and counts the calls.
type fakeCounter struct {
	CountFn func(tokenID string, start, end time.Time, limit int64) (int64, error)
	calls   int
}

func (f *fakeCounter) CountRequest(_ context.Context, tokenID string, start, end time.Time, limit int64) (int64, error) {
	f.calls++
	return f.CountFn(tokenID, start, end, limit)
}

// windows is a counter that keeps counts per token and window, as the
// table's conditional update does.
func windows() *fakeCounter {
	counts := map[string]int64{}
	return &fakeCounter{CountFn: func(id string, start, end time.Time, limit int64) (int64, error) {
		if end.Sub(start) != Window || !start.Equal(start.Truncate(Window)) {
			return 0, fmt.Errorf("window %v to %v", start, end)
		}
		k := id + start.String()
		if counts[k] >= limit {
			return 0, store.ErrLimitReached
		}
		counts[k]++
		return counts[k], nil
	}}
}

var minute = time.Date(2026, time.November, 24, 12, 0, 0, 0, time.UTC)

// TestTakeAtTheWindowEdges: the 60th request of a window passes with 0
// remaining, the 61st is refused with Retry-After the whole seconds to the
// window's end (at least one), and the first of the next window passes.
func TestTakeAtTheWindowEdges(t *testing.T) {
	l := &Limiter{Counter: windows()}
	ctx := context.Background()
	for i := 1; i <= 59; i++ {
		if d, err := l.Take(ctx, "t", 60, minute.Add(time.Duration(i)*time.Millisecond)); err != nil || !d.Allowed || d.Remaining != int64(60-i) {
			t.Fatalf("request %d: %+v, %v", i, d, err)
		}
	}
	steps := []struct {
		name       string
		at         time.Time
		allowed    bool
		remaining  int64
		retryAfter time.Duration
	}{
		{"60th", minute.Add(20 * time.Second), true, 0, 0},
		{"61st, 39.5 s before the end", minute.Add(20*time.Second + 500*time.Millisecond), false, 0, 40 * time.Second},
		{"62nd, 0.2 s before the end", minute.Add(59*time.Second + 800*time.Millisecond), false, 0, time.Second},
		{"63rd, at the last nanosecond", minute.Add(Window - 1), false, 0, time.Second},
		{"first of the next window", minute.Add(Window), true, 59, 0},
	}
	for _, s := range steps {
		d, err := l.Take(ctx, "t", 60, s.at)
		if err != nil || d.Allowed != s.allowed || d.Remaining != s.remaining || d.RetryAfter != s.retryAfter || d.Limit != 60 ||
			!d.Reset.Equal(s.at.Truncate(Window).Add(Window)) {
			t.Errorf("%s: %+v, %v; want allowed %v, remaining %d, retry after %v", s.name, d, err, s.allowed, s.remaining, s.retryAfter)
		}
	}
}

// TestRefusedTokensCostNothing: once a token is refused, its further
// requests in that window are refused without the counter; another token,
// the next window, and a changed limit are counted again.
func TestRefusedTokensCostNothing(t *testing.T) {
	c := windows()
	l := &Limiter{Counter: c}
	ctx := context.Background()
	take := func(id string, limit int64, at time.Time) bool {
		d, err := l.Take(ctx, id, limit, at)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	for range 2 {
		take("a", 2, minute)
	}
	if take("a", 2, minute) || c.calls != 3 {
		t.Fatalf("third request allowed, or %d counter calls; want refused after 3", c.calls)
	}
	for range 100 {
		if take("a", 2, minute.Add(30*time.Second)) {
			t.Fatal("a refused token passed")
		}
	}
	if c.calls != 3 {
		t.Errorf("%d counter calls after 100 refused requests; want 3", c.calls)
	}
	if !take("b", 2, minute.Add(30*time.Second)) || c.calls != 4 {
		t.Errorf("another token: %d calls; want counted (4)", c.calls)
	}
	if !take("a", 5, minute.Add(31*time.Second)) || c.calls != 5 {
		t.Errorf("a raised limit: %d calls; want counted and allowed (5)", c.calls)
	}
	if !take("a", 2, minute.Add(Window)) || c.calls != 6 {
		t.Errorf("next window: %d calls; want counted and allowed (6)", c.calls)
	}
}

// TestRefusedMemoryBounded: the memory holds at most maxRefused tokens;
// refusals of windows past are dropped first, and a token that finds it
// full is counted as before.
func TestRefusedMemoryBounded(t *testing.T) {
	l := &Limiter{Counter: &fakeCounter{CountFn: func(string, time.Time, time.Time, int64) (int64, error) { return 0, store.ErrLimitReached }}}
	ctx := context.Background()
	for i := range maxRefused {
		l.Take(ctx, fmt.Sprint(i), 1, minute)
	}
	l.Take(ctx, "late", 1, minute)
	if got := len(l.refused); got != maxRefused {
		t.Errorf("%d refused remembered; want %d", got, maxRefused)
	}
	next := minute.Add(Window)
	l.Take(ctx, "next", 1, next)
	if got := len(l.refused); got != 1 {
		t.Errorf("%d refused remembered after the window; want 1", got)
	}
}

// TestTakeFailsClosed: no limit, no token id, or a counter that fails is an
// error, never an allowed request.
func TestTakeFailsClosed(t *testing.T) {
	down := errors.New("table unavailable")
	tests := []struct {
		name  string
		id    string
		limit int64
		count func(string, time.Time, time.Time, int64) (int64, error)
		want  error
	}{
		{"no limit", "t", 0, nil, ErrNoLimit},
		{"negative limit", "t", -1, nil, ErrNoLimit},
		{"no token", "", 60, nil, ErrNoLimit},
		{"counter down", "t", 60, func(string, time.Time, time.Time, int64) (int64, error) { return 0, down }, down},
	}
	for _, tc := range tests {
		c := &fakeCounter{CountFn: tc.count}
		d, err := (&Limiter{Counter: c}).Take(context.Background(), tc.id, tc.limit, minute)
		if !errors.Is(err, tc.want) || d.Allowed {
			t.Errorf("%s: %+v, %v; want %v", tc.name, d, err, tc.want)
		}
		if tc.count == nil && c.calls != 0 {
			t.Errorf("%s: counter called", tc.name)
		}
	}
}
