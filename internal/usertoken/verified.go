package usertoken

import (
	"crypto/sha256"
	"sync"
	"time"
)

// How verified tokens are remembered.
const (
	// verifiedTTL bounds how long a verified token is answered from memory:
	// well inside maxKeyAge, so a key the issuer withdraws stops vouching for
	// its tokens within the same bound as before.
	verifiedTTL = 5 * time.Minute
	// maxVerified bounds the memory: a person's console sends one ID token
	// for up to an hour, so a few thousand entries cover every person an
	// instance serves at once. An entry is about 200 bytes.
	maxVerified = 4096
)

// verifiedTokens remembers the tokens a Verifier has verified, by the
// SHA-256 of their bytes, with the window in which their claims hold. A
// person's console sends the same ID token with every call, and a signature
// costs 45 to 80µs of CPU (RS256, ES256) where a hash costs about 1µs; only
// tokens that passed every check are kept, so forged tokens cannot fill it.
// An entry holds only while the key set it was verified with is the one in
// use: once the keys are fetched again (a rotation, or their age), every
// token is verified anew, so a withdrawn key vouches for nothing.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims Claims
	// from and until bound the instants at which the claims hold: iat and
	// nbf, exp (each with the leeway), and the time verified plus
	// verifiedTTL.
	from, until time.Time
	// keys is the key set that verified the signature.
	keys *fetchedKeys
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{entries: make(map[[sha256.Size]byte]verifiedToken)}
}

// get returns the claims of a token verified earlier, with the key set
// keys, that hold at now.
func (v *verifiedTokens) get(sum [sha256.Size]byte, now time.Time, keys *fetchedKeys) (Claims, bool) {
	v.mu.Lock()
	e, ok := v.entries[sum]
	v.mu.Unlock()
	if !ok || keys == nil || e.keys != keys || now.Sub(keys.at) >= maxKeyAge || now.Before(e.from) || now.After(e.until) {
		return Claims{}, false
	}
	return e.claims, true
}

// put remembers a verified token. When the memory is full, entries whose
// window has closed go first, then any.
func (v *verifiedTokens) put(sum [sha256.Size]byte, e verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= maxVerified {
		for k, old := range v.entries {
			if now.After(old.until) {
				delete(v.entries, k)
			}
		}
		for k := range v.entries {
			if len(v.entries) < maxVerified {
				break
			}
			delete(v.entries, k)
		}
	}
	v.entries[sum] = e
}

func (v *verifiedTokens) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.entries)
}
