package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
)

// AuditCounters is how far a workspace's audit log goes: the place of its
// last event, the place of the last event of each type in that type's log,
// and the log's time, the latest timestamp of any event so far. The
// workspace item keeps them, and every event written moves them in the same
// transaction.
type AuditCounters struct {
	Seq      int64
	TypeSeqs map[string]int64
	Last     time.Time
}

func (c auditCounters) counters() AuditCounters {
	seqs := c.AuditSeqs
	if seqs == nil {
		seqs = map[string]int64{}
	}
	return AuditCounters{Seq: c.AuditSeq, TypeSeqs: seqs, Last: c.AuditTime}
}

// audit returns the transaction items that record ev: the update of its
// workspace's counters, extended by wsUpd and wsCond for a change to the
// workspace item itself (a transaction may touch an item only once), and the
// event. The counters are read first; a concurrent event makes the
// transaction fail with ErrConflict, and the caller reads again and retries.
func (s *Store) audit(ctx context.Context, ev tokensmith.Event, wsUpd func(expression.UpdateBuilder) expression.UpdateBuilder, wsCond *expression.ConditionBuilder) ([]types.TransactWriteItem, error) {
	wsPK := workspacePK(ev.Workspace.ID)
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(wsPK, metaSK), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("auditSeq, auditSeqs, auditTime"),
	})
	if err != nil {
		return nil, fmt.Errorf("read audit counters of %s: %w", ev.Workspace.ID, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("workspace %s: %w", ev.Workspace.ID, tokensmith.NotFound())
	}
	var c auditCounters
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		return nil, fmt.Errorf("decode audit counters: %w", err)
	}
	ev.Seq, ev.TypeSeq = c.AuditSeq+1, c.AuditSeqs[ev.Type]+1
	ev.Timestamp = ev.Timestamp.UTC()
	// The event keeps its writer's time; the log's time (which from and to
	// search) never goes backwards, so that a time bound is a range of
	// places. A writer with a fast clock moves the log's time, never
	// another event's timestamp.
	logTime := LogTime(c.AuditTime, ev.Timestamp)

	typeSeq := expression.Name("auditSeqs." + ev.Type)
	upd := expression.Set(expression.Name("auditSeq"), expression.Value(ev.Seq)).
		Set(typeSeq, expression.Value(ev.TypeSeq)).
		Set(expression.Name("auditTime"), expression.Value(logTime))
	if wsUpd != nil {
		upd = wsUpd(upd)
	}
	cond := expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.Name("auditSeq").Equal(expression.Value(c.AuditSeq)))
	if ev.TypeSeq == 1 {
		cond = cond.And(expression.AttributeNotExists(typeSeq))
	} else {
		cond = cond.And(typeSeq.Equal(expression.Value(ev.TypeSeq - 1)))
	}
	if wsCond != nil {
		cond = cond.And(*wsCond)
	}
	var b build
	b.add(s.update(wsPK, metaSK, upd, &cond))
	b.add(s.put(toAuditItem(ev, logTime), absent()))
	return b.items, b.err
}

// LogTime is the log's time after an event at t is appended to a log whose
// time was last: the later of the two, in UTC.
func LogTime(last, t time.Time) time.Time {
	if t.Before(last) {
		t = last
	}
	return t.UTC()
}

// auditLog is one sequence of events: the whole log, or one type's.
type auditLog struct {
	pk, pkAttr, skAttr, index string
	count                     int64
}

// AuditEvents returns a page of ws's audit log. The events matching the
// query are a range of sequence numbers: its ends are found from the
// counters, or, for a time bound, by a binary search of about log2(count)
// single-item reads; the page is then one query of at most Limit items.
func (s *Store) AuditEvents(ctx context.Context, wsID string, q tokensmith.AuditQuery) (tokensmith.AuditPage, error) {
	c, err := s.AuditCounters(ctx, wsID)
	if err != nil {
		return tokensmith.AuditPage{}, err
	}
	log := auditLog{pk: auditPK(wsID), pkAttr: AttrPK, skAttr: AttrSK, count: c.Seq}
	if q.EventType != "" {
		log = auditLog{pk: auditTypePK(wsID, q.EventType), pkAttr: AttrGSI1PK, skAttr: AttrGSI1SK, index: IndexGSI1, count: c.TypeSeqs[q.EventType]}
	}
	var page tokensmith.AuditPage
	lo, hi := int64(1), log.count
	if q.From != nil {
		// The first event at or after From.
		if lo, err = s.searchAudit(ctx, log, &page, func(t time.Time) bool { return !t.Before(*q.From) }); err != nil {
			return tokensmith.AuditPage{}, err
		}
	}
	if q.To != nil {
		// The last event before To.
		first, err := s.searchAudit(ctx, log, &page, func(t time.Time) bool { return !t.Before(*q.To) })
		if err != nil {
			return tokensmith.AuditPage{}, err
		}
		hi = first - 1
	}
	if hi < lo {
		return page, nil
	}
	page.Total = hi - lo + 1
	// An offset at or past the total is an empty page. Below it, each end
	// stays within [lo, hi] and no sum can overflow, whatever the offset.
	offset := max(int64(q.Offset), 0)
	if offset >= page.Total || q.Limit <= 0 {
		return page, nil
	}
	var start, end int64 // inclusive, in sequence order
	if q.Desc {
		end = hi - offset
		start = end - min(end-lo, int64(q.Limit)-1)
	} else {
		start = lo + offset
		end = start + min(hi-start, int64(q.Limit)-1)
	}
	kc := expression.Key(log.pkAttr).Equal(expression.Value(log.pk)).
		And(expression.Key(log.skAttr).Between(expression.Value(seqKey(start)), expression.Value(seqKey(end))))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return tokensmith.AuditPage{}, fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ScanIndexForward: aws.Bool(!q.Desc), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	s.logOf(in, log)
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return tokensmith.AuditPage{}, fmt.Errorf("audit log of %s: %w", wsID, err)
		}
		page.ReadCapacity += consumed(out.ConsumedCapacity)
		for _, item := range out.Items {
			var it auditItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return tokensmith.AuditPage{}, fmt.Errorf("decode audit event: %w", err)
			}
			page.Events = append(page.Events, it.event())
		}
	}
	return page, nil
}

// searchAudit returns the first sequence number of log whose log time
// satisfies after (false, then true, as log times never go backwards), or
// count+1 when none does.
func (s *Store) searchAudit(ctx context.Context, log auditLog, page *tokensmith.AuditPage, after func(time.Time) bool) (int64, error) {
	lo, hi := int64(1), log.count+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		t, err := s.auditTime(ctx, log, mid, page)
		if err != nil {
			return 0, err
		}
		if after(t) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// auditTime reads the log time of the event at seq in log: logTime, or for
// an event written before events kept their own time, its timestamp (which
// then was the log's time).
func (s *Store) auditTime(ctx context.Context, log auditLog, seq int64, page *tokensmith.AuditPage) (time.Time, error) {
	kc := expression.Key(log.pkAttr).Equal(expression.Value(log.pk)).And(expression.Key(log.skAttr).Equal(expression.Value(seqKey(seq))))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).
		WithProjection(expression.NamesList(expression.Name("logTime"), expression.Name("timestamp"))).Build()
	if err != nil {
		return time.Time{}, fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	s.logOf(in, log)
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return time.Time{}, fmt.Errorf("audit event %d: %w", seq, err)
	}
	page.ReadCapacity += consumed(out.ConsumedCapacity)
	if len(out.Items) != 1 {
		// A GSI is eventually consistent: an event just written may not
		// be there yet. Count it as after any bound, so it is left out
		// rather than a wrong one taken in.
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	var it struct {
		LogTime   time.Time `dynamodbav:"logTime"`
		Timestamp time.Time `dynamodbav:"timestamp"`
	}
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil {
		return time.Time{}, fmt.Errorf("decode audit event: %w", err)
	}
	if it.LogTime.IsZero() {
		return it.Timestamp, nil
	}
	return it.LogTime, nil
}

func consumed(c *types.ConsumedCapacity) float64 {
	if c == nil || c.CapacityUnits == nil {
		return 0
	}
	return *c.CapacityUnits
}

// logOf points a query at log: the index for one type's log, or the table,
// read strongly consistent, for the whole log.
func (s *Store) logOf(in *dynamodb.QueryInput, log auditLog) {
	if log.index != "" {
		in.IndexName = aws.String(log.index)
		return
	}
	in.ConsistentRead = aws.Bool(true)
}

// AuditCounters reads the counters of wsID's audit log.
func (s *Store) AuditCounters(ctx context.Context, wsID string) (AuditCounters, error) {
	var it workspaceItem
	if err := s.get(ctx, workspacePK(wsID), metaSK, &it); err != nil {
		return AuditCounters{}, fmt.Errorf("workspace %s: %w", wsID, err)
	}
	return it.auditCounters.counters(), nil
}

// EncodeAuditEvent returns the item of ev at its places ev.Seq and
// ev.TypeSeq, at the log time logTime (see LogTime). With SetAuditCounters
// it is what a bulk load of history (internal/auditimport) writes through;
// every change of the service records its event in its own transaction
// instead.
func EncodeAuditEvent(ev tokensmith.Event, logTime time.Time) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(toAuditItem(ev, logTime))
	if err != nil {
		return nil, fmt.Errorf("encode audit event: %w", err)
	}
	return item, nil
}

// SetAuditCounters moves the counters of wsID's audit log from was to now,
// after a bulk load wrote the events between; ErrConflict when an event was
// recorded meanwhile.
func (s *Store) SetAuditCounters(ctx context.Context, wsID string, was, now AuditCounters) error {
	in, err := s.updateInput(workspacePK(wsID), metaSK,
		expression.Set(expression.Name("auditSeq"), expression.Value(now.Seq)).
			Set(expression.Name("auditSeqs"), expression.Value(now.TypeSeqs)).
			Set(expression.Name("auditTime"), expression.Value(now.Last)),
		condition(expression.Name("auditSeq").Equal(expression.Value(was.Seq))))
	if err != nil {
		return err
	}
	if _, err := s.updateOne(ctx, in); err != nil {
		return fmt.Errorf("set audit counters of %s: %w", wsID, err)
	}
	return nil
}

// DecodeAuditEvent decodes an audit event's item, as a stream record's new
// image carries it; ENOTFOUND when item is not an audit event's.
func DecodeAuditEvent(item map[string]types.AttributeValue) (tokensmith.Event, error) {
	var it auditItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return tokensmith.Event{}, fmt.Errorf("decode audit event: %w", err)
	}
	if !IsAuditKey(it.PK, it.SK) || it.Workspace.ID == "" || it.Type == "" {
		return tokensmith.Event{}, fmt.Errorf("item %s %s: %w", it.PK, it.SK, tokensmith.Errorf(tokensmith.ENOTFOUND, "not an audit event"))
	}
	return it.event(), nil
}
