package authorizer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// UsageInterval is how often a running instance writes a token's usage at
// most: lastUsed and useCount are current to within it.
const UsageInterval = time.Minute

// usage counts the uses of each token seen by this instance since its last
// write.
type usage struct {
	mu     sync.Mutex
	tokens map[string]*tokenUsage
}

type tokenUsage struct {
	pending int64
	written time.Time // zero until the first write
}

// recordUse counts a successful use and writes the count when this instance
// has not written the token's usage for UsageInterval. A failed write is
// logged and kept for the next one: usage never decides a request. It
// reports whether it wrote the use at now.
func (a *Authorizer) recordUse(ctx context.Context, sec tokensmith.Secret, now time.Time) bool {
	a.usage.mu.Lock()
	if a.usage.tokens == nil {
		a.usage.tokens = map[string]*tokenUsage{}
	}
	u := a.usage.tokens[sec.TokenID]
	if u == nil {
		u = &tokenUsage{}
		a.usage.tokens[sec.TokenID] = u
	}
	u.pending++
	if !u.written.IsZero() && now.Sub(u.written) < UsageInterval {
		a.usage.mu.Unlock()
		return false
	}
	uses := u.pending
	u.pending, u.written = 0, now
	a.usage.mu.Unlock()

	err := a.Secrets.RecordUse(ctx, sec, now, uses, token.Inactivity)
	switch {
	case errors.Is(err, store.ErrConflict):
		// Regenerated, revoked or expired meanwhile: nothing to note.
		return false
	case err != nil:
		a.Log.WarnContext(ctx, "usage not written", "tokenId", sec.TokenID, "error", err)
		a.usage.mu.Lock()
		u.pending += uses
		a.usage.mu.Unlock()
		return false
	}
	return true
}
