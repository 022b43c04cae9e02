package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/store"
)

// fakeCounter answers CountRequest and UncountRequest with its functions
// and counts the calls.
type fakeCounter struct {
	CountFn   func(tokenID string, start, end time.Time, limit int64) (int64, error)
	UncountFn func(tokenID string, start time.Time) error
	calls     int
}

func (f *fakeCounter) CountRequest(_ context.Context, tokenID string, start, end time.Time, limit int64) (int64, error) {
	f.calls++
	return f.CountFn(tokenID, start, end, limit)
}

func (f *fakeCounter) UncountRequest(_ context.Context, tokenID string, start time.Time) error {
	f.calls++
	return f.UncountFn(tokenID, start)
}

// windows is a counter that keeps counts per token and window, as the
// table's conditional updates do.
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
	}, UncountFn: func(id string, start time.Time) error {
		if k := id + start.String(); counts[k] > 0 {
			counts[k]--
		}
		return nil
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

// TestRetake: a decision taken at a guessed limit is corrected to the
// token's limit as its secret's read found it: kept within it, refused and
// taken back past it, counted again when refused at a lower limit.
func TestRetake(t *testing.T) {
	ctx := context.Background()
	at := minute.Add(20 * time.Second)
	tests := []struct {
		name         string
		before       int   // requests counted in the window before
		guess, limit int64 // the limit taken at, and the token's
		allowed      bool
		remaining    int64
		count        int64 // the window's count afterwards
		counterCalls int
	}{
		{"same limit", 3, 10, 10, true, 6, 4, 1},
		{"raised, within", 3, 10, 20, true, 16, 4, 1},
		{"lowered, within", 3, 10, 5, true, 1, 4, 1},
		{"lowered, at it", 4, 10, 5, true, 0, 5, 1},
		{"lowered, past it: refused, taken back", 5, 10, 5, false, 0, 5, 2},
		{"refused at the guess, raised: counted again", 10, 10, 12, true, 1, 11, 2},
		{"refused at the guess, lowered: refused", 10, 10, 8, false, 0, 10, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := windows()
			l := &Limiter{Counter: c}
			for range tc.before {
				if _, err := c.CountFn("t", minute, minute.Add(Window), 1<<20); err != nil {
					t.Fatal(err)
				}
			}
			d, err := l.Take(ctx, "t", tc.guess, at)
			if err != nil {
				t.Fatal(err)
			}
			d, err = l.Retake(ctx, "t", d, tc.limit, at)
			if err != nil || d.Allowed != tc.allowed || d.Remaining != tc.remaining || d.Limit != tc.limit || !d.Reset.Equal(minute.Add(Window)) {
				t.Errorf("Retake = %+v, %v; want allowed %v, remaining %d, limit %d", d, err, tc.allowed, tc.remaining, tc.limit)
			}
			if !d.Allowed && d.RetryAfter != 40*time.Second {
				t.Errorf("Retry after %v; want 40s", d.RetryAfter)
			}
			if n, _ := c.CountFn("t", minute, minute.Add(Window), 1<<20); n-1 != tc.count {
				t.Errorf("count = %d; want %d", n-1, tc.count)
			}
			if c.calls != tc.counterCalls {
				t.Errorf("%d counter calls; want %d", c.calls, tc.counterCalls)
			}
			if !tc.allowed {
				// Refused at the token's limit: the next request costs nothing.
				if d, _ := l.Take(ctx, "t", tc.limit, at); d.Allowed || c.calls != tc.counterCalls {
					t.Errorf("next request = %+v after %d calls; want refused without the counter", d, c.calls)
				}
			}
		})
	}
}

// TestUndo: Undo takes back an allowed request's count, in its window, and
// leaves a refused one's alone; a counter that fails is an error.
func TestUndo(t *testing.T) {
	ctx := context.Background()
	c := windows()
	l := &Limiter{Counter: c}
	d, _ := l.Take(ctx, "t", 5, minute.Add(59*time.Second))
	if err := l.Undo(ctx, "t", d); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Take(ctx, "t", 5, minute.Add(59*time.Second)); d.Remaining != 4 {
		t.Errorf("remaining after an undo = %d; want 4", d.Remaining)
	}
	calls := c.calls
	if err := l.Undo(ctx, "t", Decision{Limit: 5, Reset: minute.Add(Window)}); err != nil || c.calls != calls {
		t.Errorf("Undo(refused) = %v after %d calls; want nothing done", err, c.calls-calls)
	}
	down := errors.New("table unavailable")
	c.UncountFn = func(string, time.Time) error { return down }
	if err := l.Undo(ctx, "t", d); !errors.Is(err, down) {
		t.Errorf("Undo with the counter down = %v; want %v", err, down)
	}
}

// TestDecisionInContext: a decision reads back from the authorizer context
// only for the request it was made for.
func TestDecisionInContext(t *testing.T) {
	d := Decision{Allowed: false, Limit: 60, Remaining: 0, Reset: minute.Add(Window), RetryAfter: 41 * time.Second}
	c := map[string]interface{}{"tokenId": "t"}
	d.AddToContext(c, "req-1")
	for k, v := range c {
		if _, ok := v.(string); !ok {
			t.Errorf("context %s = %T; want a string", k, v)
		}
	}
	tests := []struct {
		name, requestID string
		ok              bool
	}{
		{"this request", "req-1", true},
		{"another request (a cached decision)", "req-2", false},
		{"no request id", "", false},
	}
	for _, tc := range tests {
		got, ok := FromContext(c, tc.requestID)
		if ok != tc.ok || (ok && got != d) {
			t.Errorf("%s: FromContext = %+v, %v; want %+v, %v", tc.name, got, ok, d, tc.ok)
		}
	}
	if _, ok := FromContext(map[string]interface{}{"countFor": "req-1"}, "req-1"); ok {
		t.Error("a decision without its fields read back")
	}
}
