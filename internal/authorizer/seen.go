package authorizer

import (
	"sync"
	"time"

	"github.com/tokensmith/tokensmith"
)

// seenFor is how long the authorizer keeps a secret it read valid as one
// whose request it counts beside the read.
const seenFor = 5 * time.Minute

// maxSeen bounds how many secrets an Authorizer remembers.
const maxSeen = 10000

// seen is what an Authorizer remembers of the secrets it recently read
// valid, by hash: enough to count a request of the secret before its read
// answers (the token and its limit) and to know, before any write, that
// the request will not be refused for what the secret said last time (its
// end, its IP allowlist). A secret is never remembered from a guess: an
// unknown hash stays unknown until a read finds it valid, so strings with a
// valid checksum cost a read each and never a write.
type seen struct {
	mu      sync.Mutex
	secrets map[string]seenSecret
}

type seenSecret struct {
	tokenID    string
	limit      int64
	allowedIPs []string
	// validUntil is when the secret stops being valid as last read: its
	// inactivity expiry, or the end of its grace period.
	validUntil time.Time
	// until is when it is forgotten.
	until time.Time
}

// get returns the remembered secret of hash, if it is still remembered and
// still valid at now.
func (s *seen) get(hash string, now time.Time) (seenSecret, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.secrets[hash]
	if !ok || !now.Before(e.until) || !now.Before(e.validUntil) {
		return seenSecret{}, false
	}
	return e, true
}

// remember notes sec, the secret of hash, read valid at now. When the memory is full, secrets
// past their time go; if none has, sec is not remembered and its next
// request is read before it is counted.
func (s *seen) remember(hash string, sec tokensmith.Secret, now time.Time) {
	e := seenSecret{tokenID: sec.TokenID, limit: sec.TokenRateLimit(), allowedIPs: sec.AllowedIPs,
		validUntil: sec.ExpiresOn, until: now.Add(seenFor)}
	if sec.GraceUntil != nil && sec.GraceUntil.Before(e.validUntil) {
		e.validUntil = *sec.GraceUntil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets == nil {
		s.secrets = make(map[string]seenSecret)
	}
	if _, ok := s.secrets[hash]; !ok && len(s.secrets) >= maxSeen {
		for h, old := range s.secrets {
			if !now.Before(old.until) || !now.Before(old.validUntil) {
				delete(s.secrets, h)
			}
		}
		if len(s.secrets) >= maxSeen {
			return
		}
	}
	s.secrets[hash] = e
}

// forget drops hash, read not valid.
func (s *seen) forget(hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, hash)
}
