package store_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
)

// TestAuditEventsKeepTheirOwnTime: an event written by a writer whose clock
// runs fast does not move the timestamps of the events after it; the log
// keeps its order by place, and from and to select by the log's time (the
// latest timestamp so far), so that a time bound stays a run of places.
func TestAuditEventsKeepTheirOwnTime(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ws, _ := seedSite(t, s)
	fast := t0.Add(time.Hour)
	for i, at := range []time.Time{fast, t0, t0.Add(2 * time.Hour)} {
		ev := event(ws, "user_added")
		ev.Type, ev.Timestamp = "workspace_membership", at
		m := member(fmt.Sprintf("0000000c00000000000000%02d", i+1), tokensmith.Place{WorkspaceID: ws.ID}, fmt.Sprintf("p%d@example.com", i), tokensmith.RoleMember)
		if err := s.AddMember(ctx, m, ev); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.AuditEvents(ctx, ws.ID, tokensmith.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range page.Events {
		got = append(got, fmt.Sprintf("%d@%s", ev.Seq, ev.Timestamp.Sub(t0)))
	}
	if want := "1@1h0m0s 2@0s 3@2h0m0s"; strings.Join(got, " ") != want {
		t.Errorf("log = %s; want %s", strings.Join(got, " "), want)
	}
	tests := []struct {
		name     string
		from, to *time.Time
		want     int64
	}{
		{"from the fast event", &fast, nil, 3},
		{"to the fast event", nil, &fast, 0},
		{"from after the fast event", ptr(fast.Add(time.Minute)), nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.AuditEvents(ctx, ws.ID, tokensmith.AuditQuery{From: tc.from, To: tc.to, Limit: 10})
			if err != nil || page.Total != tc.want {
				t.Errorf("total = %d, %v; want %d", page.Total, err, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestEventWithoutIDReadsWithAStableOne: an event stored without an id (a
// bulk load of history may write one) reads with an id drawn from its
// place, the same at every read and different for every place.
func TestEventWithoutIDReadsWithAStableOne(t *testing.T) {
	ids := map[string]bool{}
	for _, seq := range []int64{1, 1, 2} {
		ev := tokensmith.Event{Seq: seq, TypeSeq: seq, Type: "api_token", SubType: "token_created", Timestamp: t0,
			Workspace: tokensmith.WorkspaceRef{ID: "0000000a0000000000000001", Slug: "s"}}
		item, err := store.EncodeAuditEvent(ev, t0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.DecodeAuditEvent(item)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got.ID) {
			t.Errorf("id = %q; want 24 lowercase hex characters", got.ID)
		}
		ids[got.ID] = true
	}
	if len(ids) != 2 {
		t.Errorf("ids %v; want one for each of the two places", ids)
	}
}
