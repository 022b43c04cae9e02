package usage

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
)

type write struct {
	uses   int64
	scopes map[string]time.Time
}

type fakeStore struct {
	writes []write
	fail   bool
}

func (f *fakeStore) RecordUse(_ context.Context, _ tokensmith.Secret, _ time.Time, uses int64, scopes map[string]time.Time, _ time.Duration) error {
	if f.fail {
		return errors.New("throttled")
	}
	f.writes = append(f.writes, write{uses, scopes})
	return nil
}

// TestScopesRideOnTheMinuteWrite: the scopes a token exercised reach the
// table on the one write a minute that notes its uses, each with the time
// of its last use; a failed write keeps them for the next one.
func TestScopesRideOnTheMinuteWrite(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	st := &fakeStore{}
	r := &Recorder{Store: st, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	sec := tokensmith.Secret{TokenID: "t1"}
	ctx := context.Background()

	r.Record(ctx, sec, "sites:read", at(0)) // first use: written at once
	r.Record(ctx, sec, "cms:read", at(10))
	r.Record(ctx, sec, "", at(20)) // introspection: no scope
	r.Record(ctx, sec, "sites:read", at(30))
	st.fail = true
	r.Record(ctx, sec, "forms:read", at(61)) // fails: kept
	st.fail = false
	r.Record(ctx, sec, "", at(125))
	want := []write{
		{1, map[string]time.Time{"sites:read": at(0)}},
		{5, map[string]time.Time{"cms:read": at(10), "sites:read": at(30), "forms:read": at(61)}},
	}
	if !reflect.DeepEqual(st.writes, want) {
		t.Errorf("writes = %v; want %v", st.writes, want)
	}
}
