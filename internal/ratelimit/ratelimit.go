// Package ratelimit decides whether a request of an API token is within the
// token's limit: fixed one-minute windows, counted in one shared counter per
// token and window, so that every function instance, cached authorizer
// decision or not, sees the same count.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith/internal/store"
)

// Window is the length of a rate-limit window. Windows start on whole
// minutes of Unix time, so every instance agrees on them.
const Window = time.Minute

// ErrNoLimit means a request came with no usable limit; it is refused as a
// fault rather than let through unlimited.
var ErrNoLimit = errors.New("ratelimit: no limit")

// Counter counts requests: CountRequest adds one to the token's count for
// the window from start to end unless it has reached limit, atomically, and
// returns the new count, or store.ErrLimitReached; UncountRequest takes one
// back from the window starting at start, never below zero.
type Counter interface {
	CountRequest(ctx context.Context, tokenID string, start, end time.Time, limit int64) (int64, error)
	UncountRequest(ctx context.Context, tokenID string, start time.Time) error
}

// Decision is what the limiter decided for one request.
type Decision struct {
	Allowed bool
	// Limit is the token's limit in requests per window.
	Limit int64
	// Remaining is what is left of the window after this request.
	Remaining int64
	// Reset is when the window ends.
	Reset time.Time
	// RetryAfter is how long a refused client waits: the whole seconds to
	// Reset, at least one.
	RetryAfter time.Duration
}

// maxRefused bounds how many tokens a Limiter remembers as over their limit.
const maxRefused = 10000

// Limiter counts each request against its token's limit. It remembers the
// tokens it saw refused until their window ends: a count only grows within
// a window, so a token over its limit in this instance's eyes is over it in
// every instance's, and a client hammering on after its 429 costs no more
// writes. A request with another limit than the refused one (a plan changed
// meanwhile) is counted again.
type Limiter struct {
	Counter Counter

	mu      sync.Mutex
	refused map[string]refusal // by token id
}

type refusal struct {
	limit int64
	reset time.Time
}

// Take counts one request of tokenID, whose limit is limit, made at now. A
// request over the limit is refused and counts nothing. A counter that
// cannot be read or written is an error: the request fails, never passes
// unlimited.
func (l *Limiter) Take(ctx context.Context, tokenID string, limit int64, now time.Time) (Decision, error) {
	if limit < 1 || tokenID == "" {
		return Decision{}, fmt.Errorf("%w: token %q, limit %d", ErrNoLimit, tokenID, limit)
	}
	start := now.Truncate(Window)
	d := Decision{Limit: limit, Reset: start.Add(Window)}
	if l.isRefused(tokenID, limit, d.Reset) {
		d.RetryAfter = retryAfter(d.Reset, now)
		return d, nil
	}
	n, err := l.Counter.CountRequest(ctx, tokenID, start, d.Reset, limit)
	switch {
	case errors.Is(err, store.ErrLimitReached):
		l.refuse(tokenID, refusal{limit: limit, reset: d.Reset}, now)
		d.RetryAfter = retryAfter(d.Reset, now)
		return d, nil
	case err != nil:
		return Decision{}, fmt.Errorf("rate limit of token %s: %w", tokenID, err)
	}
	d.Allowed, d.Remaining = true, max(limit-n, 0)
	return d, nil
}

// Retake corrects d, a decision Take made for tokenID at a limit guessed
// before the token's secret was read, to the token's limit, read meanwhile.
// An allowed request within the limit stays allowed, with what remains of
// the limit; one past it is refused and taken back (a refusal counts
// nothing); one refused at a lower limit than limit is counted again.
func (l *Limiter) Retake(ctx context.Context, tokenID string, d Decision, limit int64, now time.Time) (Decision, error) {
	switch {
	case d.Limit == limit:
		return d, nil
	case d.Allowed:
		// Take allowed the request at count d.Limit-d.Remaining.
		if n := d.Limit - d.Remaining; n <= limit {
			d.Limit, d.Remaining = limit, limit-n
			return d, nil
		}
		if err := l.Undo(ctx, tokenID, d); err != nil {
			return Decision{}, err
		}
		l.refuse(tokenID, refusal{limit: limit, reset: d.Reset}, now)
		return Decision{Limit: limit, Reset: d.Reset, RetryAfter: retryAfter(d.Reset, now)}, nil
	case limit < d.Limit:
		l.refuse(tokenID, refusal{limit: limit, reset: d.Reset}, now)
		d.Limit = limit
		return d, nil
	}
	return l.Take(ctx, tokenID, limit, now)
}

// Undo takes back the count of a request that Take allowed for tokenID and
// that turned out not to be one to count (its secret no longer valid).
func (l *Limiter) Undo(ctx context.Context, tokenID string, d Decision) error {
	if !d.Allowed {
		return nil
	}
	if err := l.Counter.UncountRequest(ctx, tokenID, d.Reset.Add(-Window)); err != nil {
		return fmt.Errorf("rate limit of token %s: %w", tokenID, err)
	}
	return nil
}

// retryAfter is how long a client refused at now waits for the window that
// ends at reset to pass: whole seconds, rounded up, so that a client that
// waits them is in the next window, and at least one.
func retryAfter(reset, now time.Time) time.Duration {
	return max((reset.Sub(now) + time.Second - 1).Truncate(time.Second), time.Second)
}

// isRefused reports whether tokenID was refused at limit in the window
// ending at reset.
func (l *Limiter) isRefused(tokenID string, limit int64, reset time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.refused[tokenID]
	return ok && r.limit == limit && r.reset.Equal(reset)
}

// refuse remembers that tokenID is over its limit until r.reset. When the
// memory is full, refusals of past windows go; if none has, the token is
// not remembered and its next request is counted as before.
func (l *Limiter) refuse(tokenID string, r refusal, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refused == nil {
		l.refused = make(map[string]refusal)
	}
	if len(l.refused) >= maxRefused {
		for id, old := range l.refused {
			if !now.Before(old.reset) {
				delete(l.refused, id)
			}
		}
		if len(l.refused) >= maxRefused {
			return
		}
	}
	l.refused[tokenID] = r
}
