// Package eventbus publishes every audit event to the stack's EventBridge
// bus (API.md section 14). Its Handler consumes the table's stream: each
// audit event's item, once committed, becomes one entry whose source is
// Source, whose detail-type names the event in words (audit.DetailTypes)
// and whose detail is the AuditEvent as the API shows it. A record whose
// entry was not accepted is reported as failed, so that Lambda retries it
// and at last sends it to the dead-letter queue: every event is published
// at least once, and consumers de-duplicate by detail.id.
//
// Publishers: Bus, the EventBridge client's PutEvents in Lambda, and File,
// which appends each entry as one JSON line to a file in `make run`.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/streamrecord"
)

// Source is the source of every entry tokensmith publishes.
const Source = "tokensmith"

// Entry is one event to publish.
type Entry struct {
	// DetailType names the event in words (audit.DetailTypes).
	DetailType string
	// Detail is the event as the API shows it (audit.View), in JSON.
	Detail json.RawMessage
	// Time is the event's timestamp.
	Time time.Time
}

// Publisher publishes entries: it returns, for each entry, nil when the bus
// accepted it, else why not (len(errs) == len(entries)).
type Publisher interface {
	Publish(ctx context.Context, entries []Entry) (errs []error)
}

// NewEntry is the entry of ev; an error for an event whose kind
// audit.DetailTypes does not name.
func NewEntry(ev tokensmith.Event) (Entry, error) {
	dt, ok := audit.DetailTypeOf(ev.Type, ev.SubType)
	if !ok {
		return Entry{}, fmt.Errorf("audit event %s: no detail-type for %s/%s", ev.ID, ev.Type, ev.SubType)
	}
	detail, err := json.Marshal(audit.NewView(ev))
	if err != nil {
		return Entry{}, fmt.Errorf("audit event %s: %w", ev.ID, err)
	}
	return Entry{DetailType: dt, Detail: detail, Time: ev.Timestamp.UTC()}, nil
}

// Handler consumes the table's stream and publishes each audit event.
type Handler struct {
	Publisher Publisher
	Log       *slog.Logger
}

// isAuditInsert reports whether r is the writing of an audit event: an
// INSERT (an event is never changed) of an item with an audit event's keys.
func isAuditInsert(r events.DynamoDBEventRecord) bool {
	if r.EventName != "INSERT" {
		return false
	}
	pk, okPK := r.Change.Keys[store.AttrPK]
	sk, okSK := r.Change.Keys[store.AttrSK]
	return okPK && okSK && pk.DataType() == events.DataTypeString && sk.DataType() == events.DataTypeString &&
		store.IsAuditKey(pk.String(), sk.String())
}

// Handle publishes the audit events of the batch and reports the records
// whose entries were not accepted, so that only they (and, as Lambda
// resumes a stream from the first failure, the records after them) are
// retried. Records of other items are passed over.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	fail := func(r events.DynamoDBEventRecord, err error) {
		h.Log.ErrorContext(ctx, "audit event not published", "eventId", r.EventID, "error", err)
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
	}
	var entries []Entry
	var records []events.DynamoDBEventRecord
	for _, r := range ev.Records {
		if !isAuditInsert(r) {
			continue
		}
		entry, err := entryOf(r)
		if err != nil {
			fail(r, err)
			continue
		}
		entries = append(entries, entry)
		records = append(records, r)
	}
	published := 0
	if len(entries) > 0 {
		errs := h.Publisher.Publish(ctx, entries)
		if len(errs) != len(entries) {
			errs = make([]error, len(entries))
			for i := range errs {
				errs[i] = errors.New("eventbus: the publisher answered for a different number of entries")
			}
		}
		for i, err := range errs {
			if err != nil {
				fail(records[i], err)
				continue
			}
			published++
		}
	}
	m := metrics.FromContext(ctx)
	m.Add(metrics.EventsPublished, float64(published))
	m.Add(metrics.StreamBatchFailures, float64(len(resp.BatchItemFailures)))
	return resp, nil
}

// entryOf is the entry of the audit event r writes.
func entryOf(r events.DynamoDBEventRecord) (Entry, error) {
	item, err := streamrecord.Image(r.Change.NewImage)
	if err != nil {
		return Entry{}, err
	}
	ev, err := store.DecodeAuditEvent(item)
	if err != nil {
		return Entry{}, err
	}
	return NewEntry(ev)
}
