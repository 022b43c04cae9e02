// Package usage notes the successful uses of API tokens (lastUsed,
// useCount, the inactivity clock, and when each scope was last exercised),
// written at most once a minute per token and running instance, so that a
// use costs no write of its own.
package usage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Interval is how often a running instance writes a token's usage at most:
// lastUsed and useCount are current to within it.
const Interval = time.Minute

// Store is the part of the store the recorder calls.
type Store interface {
	RecordUse(ctx context.Context, sec tokensmith.Secret, now time.Time, uses int64, scopes map[string]time.Time, inactivity time.Duration) error
}

// Recorder counts the uses of each token seen by this instance since its
// last write.
type Recorder struct {
	Store Store
	Log   *slog.Logger

	mu     sync.Mutex
	tokens map[string]*tokenUsage
}

type tokenUsage struct {
	pending int64
	scopes  map[string]time.Time // exercised since the last write: the last time of each
	written time.Time            // zero until the first write
}

// Record counts a successful use made with the secret sec at now, which
// exercised the scope sc ("" for none, as introspection), and writes the
// count and the scopes' times when this instance has not written the
// token's usage for Interval: the scopes ride on the same write, which
// costs nothing more. A failed write is logged and kept for the next one:
// usage never decides a request. It reports whether it wrote the use at now.
func (r *Recorder) Record(ctx context.Context, sec tokensmith.Secret, sc string, now time.Time) bool {
	r.mu.Lock()
	if r.tokens == nil {
		r.tokens = map[string]*tokenUsage{}
	}
	u := r.tokens[sec.TokenID]
	if u == nil {
		u = &tokenUsage{}
		r.tokens[sec.TokenID] = u
	}
	u.pending++
	if sc != "" {
		if u.scopes == nil {
			u.scopes = map[string]time.Time{}
		}
		if now.After(u.scopes[sc]) {
			u.scopes[sc] = now
		}
	}
	if !u.written.IsZero() && now.Sub(u.written) < Interval {
		r.mu.Unlock()
		return false
	}
	uses, scopes := u.pending, u.scopes
	u.pending, u.scopes, u.written = 0, nil, now
	r.mu.Unlock()

	err := r.Store.RecordUse(ctx, sec, now, uses, scopes, token.Inactivity)
	switch {
	case errors.Is(err, store.ErrConflict):
		// Regenerated, revoked or expired meanwhile: nothing to note.
		return false
	case err != nil:
		r.Log.WarnContext(ctx, "usage not written", "tokenId", sec.TokenID, "error", err)
		r.mu.Lock()
		u.pending += uses
		for k, at := range scopes {
			if u.scopes == nil {
				u.scopes = map[string]time.Time{}
			}
			if at.After(u.scopes[k]) {
				u.scopes[k] = at
			}
		}
		r.mu.Unlock()
		return false
	}
	return true
}
