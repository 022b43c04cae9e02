package usertoken

import (
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"slices"
	"strings"
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
// tokens that passed every check are kept, so forged tokens cannot fill it,
// and each under one key however it is spelt (cacheKey). An entry holds
// only while the key that verified it is among the issuer's current keys
// (by its thumbprint) and those are younger than maxKeyAge, so a withdrawn
// key vouches for nothing.
type verifiedTokens struct {
	mu        sync.Mutex
	entries   map[[sha256.Size]byte]verifiedToken
	lastSweep time.Time
}

type verifiedToken struct {
	claims Claims
	// from and until bound the instants at which the claims hold: iat and
	// nbf, exp (each with the leeway), and the time verified plus
	// verifiedTTL.
	from, until time.Time
	// key is the thumbprint of the key that verified the signature.
	key string
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{entries: make(map[[sha256.Size]byte]verifiedToken)}
}

// get returns the claims of a token verified earlier, by a key still among
// keys, that hold at now.
func (v *verifiedTokens) get(sum [sha256.Size]byte, now time.Time, keys *fetchedKeys) (Claims, bool) {
	v.mu.Lock()
	e, ok := v.entries[sum]
	v.mu.Unlock()
	if !ok || keys == nil || !slices.Contains(keys.thumbprint, e.key) || now.Sub(keys.at) >= maxKeyAge || now.Before(e.from) || now.After(e.until) {
		return Claims{}, false
	}
	return e.claims, true
}

// put remembers a verified token. When the memory is full, entries whose
// window has closed go first (looked for at most once a minute), then an
// eighth of the rest, so that a full memory costs each put little.
func (v *verifiedTokens) put(sum [sha256.Size]byte, e verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= maxVerified && now.Sub(v.lastSweep) >= time.Minute {
		v.lastSweep = now
		for k, old := range v.entries {
			if now.After(old.until) {
				delete(v.entries, k)
			}
		}
	}
	if len(v.entries) >= maxVerified {
		drop := maxVerified / 8
		for k := range v.entries {
			if drop == 0 {
				break
			}
			delete(v.entries, k)
			drop--
		}
	}
	v.entries[sum] = e
}

// strict is the base64url of JWS compact serialisation with nothing left
// to choice: no padding, no stray bits in the last character.
var strict = base64.RawURLEncoding.Strict()

// p256HalfOrder is half the order of P-256: an ES256 signature (r, s) and
// (r, n-s) both verify, and the one with s at most this is its low form.
var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// cacheKey returns the key a token is remembered by: the SHA-256 of its
// header and payload as sent and of its signature's bytes, with an ES256
// signature in its low form. Every spelling of one token that verifies
// maps to the same key, so a person cannot fill the memory with variants
// of their own token. A token whose segments are not strict base64url is
// not remembered (false): it is verified every time, if at all.
func cacheKey(raw string) ([sha256.Size]byte, bool) {
	header, rest, ok := strings.Cut(raw, ".")
	payload, signature, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return [sha256.Size]byte{}, false
	}
	sig, err := strict.DecodeString(signature)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	for _, seg := range []string{header, payload} {
		if _, err := strict.DecodeString(seg); err != nil {
			return [sha256.Size]byte{}, false
		}
	}
	if len(sig) == 64 {
		// Only ES256 signatures of the accepted algorithms are 64 bytes.
		if s := new(big.Int).SetBytes(sig[32:]); s.Cmp(p256HalfOrder) > 0 {
			s.Sub(elliptic.P256().Params().N, s).FillBytes(sig[32:])
		}
	}
	h := sha256.New()
	h.Write([]byte(header))
	h.Write([]byte{'.'})
	h.Write([]byte(payload))
	h.Write([]byte{'.'})
	h.Write(sig)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, true
}

func (v *verifiedTokens) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.entries)
}
