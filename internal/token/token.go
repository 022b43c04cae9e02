// Package token generates, parses and hashes tokensmith API tokens.
//
// A token is <prefix><body><checksum>: a 4-character prefix naming its kind,
// 40 base62 characters from crypto/rand, and 6 base62 characters of the CRC32
// (IEEE) of prefix and body. The checksum lets the service and secret scanners
// reject typos offline; it is not a security control.
package token

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Kind says what a token is scoped to.
type Kind string

const (
	KindSite      Kind = "site"
	KindWorkspace Kind = "workspace"
)

// Prefix returns the prefix that tokens of kind k start with.
func (k Kind) Prefix() string {
	switch k {
	case KindSite:
		return "tss_"
	case KindWorkspace:
		return "tsw_"
	}
	return ""
}

const (
	prefixLen   = 4
	bodyLen     = 40
	checksumLen = 6
	// Len is the length of every token.
	Len = prefixLen + bodyLen + checksumLen

	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// ErrMalformed is returned by Parse for anything that is not a well-formed token.
var ErrMalformed = errors.New("token: malformed")

// Generate returns a new token of kind k, reading randomness from r
// (crypto/rand.Reader in production).
func Generate(k Kind, r io.Reader) (string, error) {
	prefix := k.Prefix()
	if prefix == "" {
		return "", fmt.Errorf("token: unknown kind %q", k)
	}
	buf := make([]byte, Len)
	copy(buf, prefix)
	body := buf[prefixLen : prefixLen+bodyLen]
	// Rejection sampling keeps every base62 digit uniform: bytes >= 248 are
	// drawn again, since 248 is the largest multiple of 62 that fits a byte.
	var rnd [64]byte
	for n := 0; n < bodyLen; {
		if _, err := io.ReadFull(r, rnd[:]); err != nil {
			return "", fmt.Errorf("token: read random: %w", err)
		}
		for _, b := range rnd {
			if b >= 248 {
				continue
			}
			body[n] = base62[b%62]
			n++
			if n == bodyLen {
				break
			}
		}
	}
	putChecksum(buf[prefixLen+bodyLen:], buf[:prefixLen+bodyLen])
	return string(buf), nil
}

// Parse checks s's shape and checksum without touching any store and
// returns the token's kind.
func Parse(s string) (Kind, error) {
	if len(s) != Len {
		return "", ErrMalformed
	}
	var k Kind
	switch s[:prefixLen] {
	case "tss_":
		k = KindSite
	case "tsw_":
		k = KindWorkspace
	default:
		return "", ErrMalformed
	}
	for i := prefixLen; i < Len; i++ {
		if !isBase62(s[i]) {
			return "", ErrMalformed
		}
	}
	var want [checksumLen]byte
	putChecksum(want[:], []byte(s[:prefixLen+bodyLen]))
	if string(want[:]) != s[prefixLen+bodyLen:] {
		return "", ErrMalformed
	}
	return k, nil
}

// Hash returns the hex SHA-256 of the whole token: the only form in which a
// token is stored.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// DisplayHint returns the prefix and last 4 characters, the only part of a
// token ever shown after it is minted.
func DisplayHint(s string) string {
	if len(s) < prefixLen+4 {
		return ""
	}
	return s[:prefixLen] + "…" + s[len(s)-4:]
}

// NewID returns a 24-character lowercase hex id whose first 8 characters are
// the creation second, so that ids sort roughly by creation time.
func NewID(now time.Time, r io.Reader) (string, error) {
	var b [12]byte
	t := uint32(now.Unix())
	b[0], b[1], b[2], b[3] = byte(t>>24), byte(t>>16), byte(t>>8), byte(t)
	if _, err := io.ReadFull(r, b[4:]); err != nil {
		return "", fmt.Errorf("token: read random: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidID reports whether s has the shape of an id made by NewID.
func ValidID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func putChecksum(dst []byte, data []byte) {
	v := crc32.ChecksumIEEE(data)
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// Inactivity is how long a token lives after its last use, or after its
// creation while unused.
const Inactivity = 365 * 24 * time.Hour
