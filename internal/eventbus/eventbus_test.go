package eventbus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/eventbridgetest"
	"github.com/tokensmith/tokensmith/internal/eventbus"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/streamrecord"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// bus is a Bus built as the function builds it, against a local PutEvents
// endpoint.
func bus(t *testing.T) (*eventbus.Bus, *eventbridgetest.Server) {
	srv := eventbridgetest.Start(t)
	env := map[string]string{eventbus.EnvBusName: "tokensmith-events", eventbus.EnvEndpoint: srv.URL}
	b, err := eventbus.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return b, srv
}

func entry(i, detailBytes int) eventbus.Entry {
	pad := strings.Repeat("x", max(detailBytes-30, 0))
	return eventbus.Entry{DetailType: "API Token Created", Detail: json.RawMessage(fmt.Sprintf(`{"id":"%04d","pad":"%s"}`, i, pad)), Time: t0}
}

// TestBusCallsWithinPutEventsLimits: the requests the SDK's client builds
// are PutEvents calls as EventBridge documents them, of at most 10 entries
// and 256 KB, in order, with every entry's fields.
func TestBusCallsWithinPutEventsLimits(t *testing.T) {
	tests := []struct {
		name      string
		n, size   int
		wantCalls int
	}{
		{"one", 1, 100, 1},
		{"ten in one call", 10, 100, 1},
		{"23 in three calls", 23, 100, 3},
		{"large entries split by size", 5, 100 * 1024, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, srv := bus(t)
			var entries []eventbus.Entry
			for i := range tc.n {
				entries = append(entries, entry(i, tc.size))
			}
			for i, err := range b.Publish(context.Background(), entries) {
				if err != nil {
					t.Errorf("entry %d: %v", i, err)
				}
			}
			if p := srv.Problems(); len(p) > 0 {
				t.Fatalf("requests against the contract: %v", p)
			}
			if srv.Calls() != tc.wantCalls {
				t.Errorf("%d calls; want %d", srv.Calls(), tc.wantCalls)
			}
			got := srv.Entries()
			if len(got) != tc.n {
				t.Fatalf("%d entries arrived; want %d", len(got), tc.n)
			}
			for i, e := range got {
				if e.Source != "tokensmith" || e.DetailType != "API Token Created" || e.EventBusName != "tokensmith-events" ||
					e.Time != float64(t0.Unix()) || !strings.HasPrefix(e.Detail, fmt.Sprintf(`{"id":"%04d"`, i)) {
					t.Errorf("entry %d = %.80v", i, e)
				}
			}
		})
	}
}

// TestBusReportsEachEntry: an entry EventBridge refuses, one too large for
// any call, and a call that fails are each reported for their own entries.
func TestBusReportsEachEntry(t *testing.T) {
	b, srv := bus(t)
	srv.Refuse = func(e eventbridgetest.Entry) bool { return strings.HasPrefix(e.Detail, `{"id":"0002"`) }
	entries := []eventbus.Entry{entry(0, 100), entry(1, 100), entry(2, 100), entry(3, eventbus.MaxCallBytes), entry(4, 100)}
	errs := b.Publish(context.Background(), entries)
	var failed []int
	for i, err := range errs {
		if err != nil {
			failed = append(failed, i)
		}
	}
	if fmt.Sprint(failed) != "[2 3]" || len(srv.Entries()) != 3 || len(srv.Problems()) != 0 {
		t.Errorf("failed %v, %d accepted, problems %v; want [2 3] failed, 3 accepted", failed, len(srv.Entries()), srv.Problems())
	}
	srv.Close()
	for i, err := range b.Publish(context.Background(), entries[:2]) {
		if err == nil {
			t.Errorf("entry %d published with the bus unreachable", i)
		}
	}
}

// record is the stream record of ev's item as written, at sequence seq.
func record(t *testing.T, ev tokensmith.Event, seq string) events.DynamoDBEventRecord {
	item, err := store.EncodeAuditEvent(ev, ev.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	img := toStream(t, item)
	return events.DynamoDBEventRecord{EventID: "ev-" + seq, EventName: "INSERT",
		Change: events.DynamoDBStreamRecord{Keys: map[string]events.DynamoDBAttributeValue{"PK": img["PK"], "SK": img["SK"]}, NewImage: img, SequenceNumber: seq}}
}

// toStream renders an item as a stream record carries it.
func toStream(t *testing.T, item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	img, err := streamrecord.FromItem(item)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func event(seq int64, typ, sub string) tokensmith.Event {
	return tokensmith.Event{ID: fmt.Sprintf("65f0c0ffee0000000000%04d", seq), Seq: seq, TypeSeq: seq, Type: typ, SubType: sub, Timestamp: t0,
		Actor:     tokensmith.Actor{Type: tokensmith.ActorPerson, ID: "u1", Email: "admin@example.com"},
		Workspace: tokensmith.WorkspaceRef{ID: "65f0c0ffee00000000000001", Slug: "hitchhikers"},
		Payload:   map[string]any{"member": map[string]any{"id": "m1", "email": "ford@example.com", "userId": nil}, "role": "member"}}
}

// TestHandlerPublishesAuditEvents: each audit event's record becomes one
// entry with its detail-type and the API's AuditEvent as detail; other
// records are passed over; a record whose entry the bus refused, or whose
// kind has no detail-type, is reported for retry, and only it.
func TestHandlerPublishesAuditEvents(t *testing.T) {
	b, srv := bus(t)
	h := &eventbus.Handler{Publisher: b, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	added := event(1, audit.TypeWorkspaceMembership, audit.SubUserAdded)
	refused := event(2, audit.TypeSiteMembership, audit.SubUserRemoved)
	unknown := event(3, audit.TypeAPIToken, "token_teleported")
	removed := event(4, audit.TypeWorkspaceMembership, audit.SubUserRemoved)
	other := record(t, added, "5")
	other.Change.Keys["PK"] = events.NewStringAttribute("SITE#65f0c0ffee00000000000002")
	modify := record(t, added, "6")
	modify.EventName = "MODIFY"
	srv.Refuse = func(e eventbridgetest.Entry) bool { return e.DetailType == "Site Membership User Removed" }
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record(t, added, "1"), record(t, refused, "2"), record(t, unknown, "3"), record(t, removed, "4"), other, modify,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(resp.BatchItemFailures) != "[{3} {2}]" {
		t.Errorf("failures = %v; want records 3 (no detail-type) and 2 (refused)", resp.BatchItemFailures)
	}
	got := srv.Entries()
	if len(got) != 2 || got[0].DetailType != "Workspace Membership User Added" || got[1].DetailType != "Workspace Membership User Removed" {
		t.Fatalf("entries = %+v", got)
	}
	want, _ := json.Marshal(audit.NewView(added))
	if got[0].Detail != string(want) {
		t.Errorf("detail = %s; want the API's AuditEvent %s", got[0].Detail, want)
	}
}

// TestFileAppendsLines: the local publisher appends one JSON line an
// entry, in the envelope a rule's target receives.
func TestFileAppendsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "events.jsonl")
	f := &eventbus.File{Path: path}
	ev, err := eventbus.NewEntry(event(1, audit.TypeWorkspaceMembership, audit.SubUserAdded))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if errs := f.Publish(context.Background(), []eventbus.Entry{ev}); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var line struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Time       string `json:"time"`
		Detail     struct {
			ID string `json:"id"`
		} `json:"detail"`
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &line) != nil || line.Source != "tokensmith" ||
		line.DetailType != "Workspace Membership User Added" || line.Time != "2026-11-22T12:00:00Z" || line.Detail.ID != "65f0c0ffee0000000000"+"0001" {
		t.Errorf("file = %s", b)
	}
}
