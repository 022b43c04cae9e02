package httpapi

import (
	"math"
	"testing"
	"time"
)

// TestSeconds holds the grace period's conversion to a Duration to never
// wrap around: 18446744074 seconds is about 2^64 nanoseconds, which
// multiplied in 64 bits is 0.29 seconds, within any bound.
func TestSeconds(t *testing.T) {
	tests := []struct {
		n    int64
		want time.Duration
	}{
		{0, 0},
		{604800, 7 * 24 * time.Hour},
		{-1, -time.Second},
		{9223372036, 9223372036 * time.Second},
		{9223372037, math.MaxInt64},
		{18446744074, math.MaxInt64},
		{math.MaxInt64, math.MaxInt64},
		{-9223372036, -9223372036 * time.Second},
		{-9223372037, math.MinInt64},
		{-18446744074, math.MinInt64},
		{math.MinInt64, math.MinInt64},
	}
	for _, tc := range tests {
		if got := seconds(tc.n); got != tc.want {
			t.Errorf("seconds(%d) = %v; want %v", tc.n, got, tc.want)
		}
	}
}
