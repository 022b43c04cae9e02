package store

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"time"
)

// MaxAttempts bounds Retry: how often a change that lost a race is read and
// tried again.
const MaxAttempts = 30

// Retry runs f until it does not fail with ErrConflict, at most MaxAttempts
// times, pausing a random few milliseconds (longer with each attempt) so
// that writers who lost a race do not collide again in step. f must read
// what it writes anew on every call.
func Retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if !errors.Is(err, ErrConflict) || attempt == MaxAttempts {
			return err
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(5*attempt)+5))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(n.Int64()+1) * time.Millisecond):
		}
	}
}
