package keyage_test

import (
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/keyage"
)

func TestFreshAndUsable(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		fetched       time.Time
		now           time.Time
		fresh, usable bool
	}{
		{"never fetched", time.Time{}, at, false, false},
		{"just fetched", at, at, true, true},
		{"a second before MaxAge", at, at.Add(keyage.MaxAge - time.Second), true, true},
		{"at MaxAge", at, at.Add(keyage.MaxAge), false, true},
		{"a second before MaxStale", at, at.Add(keyage.MaxStale - time.Second), false, true},
		{"at MaxStale", at, at.Add(keyage.MaxStale), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := keyage.Fresh(tc.fetched, tc.now); got != tc.fresh {
				t.Errorf("Fresh = %v; want %v", got, tc.fresh)
			}
			if got := keyage.Usable(tc.fetched, tc.now); got != tc.usable {
				t.Errorf("Usable = %v; want %v", got, tc.usable)
			}
		})
	}
}
