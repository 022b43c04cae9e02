// Package keyage says how long keys fetched from their publisher (an
// OpenID issuer's JWKS, GitHub's secret scanning keys) serve: fresh for
// MaxAge, then fetched again; while fetching them again fails, they still
// verify for up to MaxStale, so a key the publisher withdraws stops being
// accepted within a day even when the publisher keeps failing.
package keyage

import "time"

const (
	// MaxAge is how long fetched keys are used before they are fetched
	// again, so that a key the publisher withdraws stops being accepted.
	MaxAge = time.Hour
	// MaxStale is how long fetched keys still verify by the keys they hold
	// while fetching them again fails (the publisher down, or its rate limit
	// spent by forged requests): every signature is still checked, and only
	// the withdrawal of a key waits.
	MaxStale = 24 * time.Hour
	// MinRefresh is the least time between two fetches: an unknown key id
	// fetches the keys again only this long after the last try, so that
	// forged requests cannot make the service hammer the publisher.
	MinRefresh = time.Minute
)

// Fresh reports whether keys fetched at fetched (zero for never) serve at
// now without being fetched again.
func Fresh(fetched, now time.Time) bool {
	return !fetched.IsZero() && now.Sub(fetched) < MaxAge
}

// Usable reports whether keys fetched at fetched (zero for never) still
// verify at now while fetching them again fails.
func Usable(fetched, now time.Time) bool {
	return !fetched.IsZero() && now.Sub(fetched) < MaxStale
}
