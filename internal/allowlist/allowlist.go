// Package allowlist is a token's IP allowlist: up to MaxRanges CIDR ranges,
// IPv4 or IPv6, that the addresses it may be used from must fall in. It
// validates the ranges a token is created with and decides, for the
// authorizer, whether a source address is allowed.
package allowlist

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
)

// MaxRanges is the most ranges a token may carry (API.md section 12).
const MaxRanges = 20

// Errors of Parse, each for one range.
var (
	ErrNotCIDR  = errors.New("allowlist: not a CIDR range")
	ErrHostBits = errors.New("allowlist: address bits set beyond the prefix length")
	ErrMapped   = errors.New("allowlist: IPv4-mapped IPv6 range")
)

// Parse validates one range and returns it in canonical form (as
// netip.Prefix writes it: "2001:db8::/32"). A range is an address and a
// prefix length; the address has no bits set beyond the length, so that
// "203.0.113.7/24" is refused rather than taken for a network its writer
// may not have meant. IPv4-mapped IPv6 ranges are refused: IPv4 ranges are
// written as IPv4.
func Parse(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q: %w", s, ErrNotCIDR)
	case p.Addr().Is4In6():
		return "", fmt.Errorf("%q: %w", s, ErrMapped)
	case p.Masked() != p:
		return "", fmt.Errorf("%q: %w", s, ErrHostBits)
	}
	return p.String(), nil
}

// maxCached bounds the allowlists a Cache keeps parsed; past it, the cache
// starts again empty.
const maxCached = 4096

// Cache decides whether source addresses are allowed, keeping the
// allowlists it has seen parsed, by the id of the token that carries each:
// an authorizer sees the same tokens decision after decision, and parsing
// 20 ranges costs about a microsecond. An entry is used only while the
// token's list is the one it was parsed from. The zero value is ready to
// use, and safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	lists map[string]parsed
}

type parsed struct {
	src  []string
	nets []netip.Prefix
}

// Allows reports whether the source address ip falls in one of ranges,
// which Parse wrote. No ranges allows every address. An address that does
// not parse, or a range that does not (never written by Parse), allows
// nothing: the check fails closed. An IPv4-mapped IPv6 source address is
// taken as the IPv4 address it maps.
// tokenID names the token whose list ranges is.
func (c *Cache) Allows(tokenID string, ranges []string, ip string) bool {
	if len(ranges) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range c.parsed(tokenID, ranges) {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parsed returns ranges parsed, leaving out any that does not parse.
func (c *Cache) parsed(tokenID string, ranges []string) []netip.Prefix {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil {
		c.lists = map[string]parsed{}
	}
	if p, ok := c.lists[tokenID]; ok && slices.Equal(p.src, ranges) {
		return p.nets
	}
	nets := make([]netip.Prefix, 0, len(ranges))
	for _, r := range ranges {
		if p, err := netip.ParsePrefix(r); err == nil {
			nets = append(nets, p)
		}
	}
	if len(c.lists) >= maxCached {
		clear(c.lists)
	}
	c.lists[tokenID] = parsed{src: slices.Clone(ranges), nets: nets}
	return nets
}
