// Package ratelimit decides whether a request of an API token is within the
// token's limit: fixed one-minute windows, counted in one shared counter per
// token and window, so that every function instance, cached authorizer
// decision or not, sees the same count.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
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
// returns the new count, or store.ErrLimitReached.
type Counter interface {
	CountRequest(ctx context.Context, tokenID string, start, end time.Time, limit int64) (int64, error)
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

// Limiter counts each request against its token's limit.
type Limiter struct {
	Counter Counter
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
	n, err := l.Counter.CountRequest(ctx, tokenID, start, d.Reset, limit)
	switch {
	case errors.Is(err, store.ErrLimitReached):
		// Whole seconds, rounded up, so that a client that waits them is
		// in the next window.
		d.RetryAfter = max((d.Reset.Sub(now) + time.Second - 1).Truncate(time.Second), time.Second)
		return d, nil
	case err != nil:
		return Decision{}, fmt.Errorf("rate limit of token %s: %w", tokenID, err)
	}
	d.Allowed, d.Remaining = true, max(limit-n, 0)
	return d, nil
}
