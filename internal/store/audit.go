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
)

// Event types of the audit log.
const (
	EventAPIToken            = "api_token"
	EventWorkspaceMembership = "workspace_membership"
	EventSiteMembership      = "site_membership"
	EventWorkspaceSetting    = "workspace_setting"
)

// EventTypes lists every event type.
var EventTypes = []string{EventAPIToken, EventWorkspaceMembership, EventSiteMembership, EventWorkspaceSetting}

// Actor types of audit events.
const (
	ActorPerson = "person"
	ActorToken  = "token"
	ActorSystem = "system"
)

// Actor is who made a change.
type Actor struct {
	Type  string `dynamodbav:"type" json:"type"`
	ID    string `dynamodbav:"id,omitempty" json:"id,omitempty"`
	Email string `dynamodbav:"email,omitempty" json:"email,omitempty"`
}

// WorkspaceRef names a workspace in an audit event.
type WorkspaceRef struct {
	ID   string `dynamodbav:"id" json:"id"`
	Slug string `dynamodbav:"slug" json:"slug"`
}

// AuditEvent is one entry of a workspace's audit log. It is only ever
// written in the same transaction as the change it records.
//
// Each event has a place in its workspace's log, Seq (1, 2, ...), and in the
// log of its event type, TypeSeq, both assigned from counters on the
// workspace item in the same transaction; timestamps never go backwards in
// either. So a page at any offset, and the total of any time range, are
// found from the counters and a few reads, never by reading the history.
type AuditEvent struct {
	ID           string         `dynamodbav:"eventId" json:"-"`
	Seq          int64          `dynamodbav:"seq" json:"-"`
	TypeSeq      int64          `dynamodbav:"typeSeq" json:"-"`
	EventType    string         `dynamodbav:"eventType" json:"eventType"`
	EventSubType string         `dynamodbav:"eventSubType" json:"eventSubType"`
	Timestamp    time.Time      `dynamodbav:"timestamp" json:"timestamp"`
	Actor        Actor          `dynamodbav:"actor" json:"actor"`
	Workspace    WorkspaceRef   `dynamodbav:"workspace" json:"workspace"`
	Payload      map[string]any `dynamodbav:"payload" json:"payload"`
}

type auditItem struct {
	keys
	AuditEvent
}

// auditCounters is what the workspace item keeps of its audit log.
type auditCounters struct {
	AuditSeq  int64            `dynamodbav:"auditSeq"`
	AuditSeqs map[string]int64 `dynamodbav:"auditSeqs"`
	AuditTime time.Time        `dynamodbav:"auditTime"`
}

func seqKey(n int64) string { return fmt.Sprintf("SEQ#%012d", n) }

func auditPK(wsID string) string { return "AUDIT#" + wsID }

func auditTypePK(wsID, eventType string) string { return "AUDIT#" + wsID + "#" + eventType }

// audit returns the transaction items that record ev: the update of its
// workspace's counters, extended by wsUpd and wsCond for a change to the
// workspace item itself (a transaction may touch an item only once), and the
// event. The counters are read first; a concurrent event makes the
// transaction fail with ErrConflict, and the caller reads again and retries.
func (s *Store) audit(ctx context.Context, ev AuditEvent, wsUpd func(expression.UpdateBuilder) expression.UpdateBuilder, wsCond *expression.ConditionBuilder) ([]types.TransactWriteItem, error) {
	wsPK := "WS#" + ev.Workspace.ID
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(wsPK, metaSK), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("auditSeq, auditSeqs, auditTime"),
	})
	if err != nil {
		return nil, fmt.Errorf("read audit counters of %s: %w", ev.Workspace.ID, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("workspace %s: %w", ev.Workspace.ID, ErrNotFound)
	}
	var c auditCounters
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		return nil, fmt.Errorf("decode audit counters: %w", err)
	}
	ev.Seq, ev.TypeSeq = c.AuditSeq+1, c.AuditSeqs[ev.EventType]+1
	if ev.Timestamp.Before(c.AuditTime) {
		ev.Timestamp = c.AuditTime
	}
	ev.Timestamp = ev.Timestamp.UTC()

	typeSeq := expression.Name("auditSeqs." + ev.EventType)
	upd := expression.Set(expression.Name("auditSeq"), expression.Value(ev.Seq)).
		Set(typeSeq, expression.Value(ev.TypeSeq)).
		Set(expression.Name("auditTime"), expression.Value(ev.Timestamp))
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
	b.add(s.put(auditItem{keys{
		PK: auditPK(ev.Workspace.ID), SK: seqKey(ev.Seq),
		GSI1PK: auditTypePK(ev.Workspace.ID, ev.EventType), GSI1SK: seqKey(ev.TypeSeq),
	}, ev}, absent()))
	return b.items, b.err
}

// AuditQuery selects a page of a workspace's audit log.
type AuditQuery struct {
	EventType string     // "" for every type
	From, To  *time.Time // From inclusive, To exclusive; nil for unbounded
	Desc      bool
	Limit     int
	Offset    int
}

// AuditPage is a page of events and the total the query matches.
type AuditPage struct {
	Events []AuditEvent
	Total  int64
	// ReadCapacity is the read capacity the page consumed, as DynamoDB
	// reports it.
	ReadCapacity float64
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
func (s *Store) AuditEvents(ctx context.Context, wsID string, q AuditQuery) (AuditPage, error) {
	ws, err := s.Workspace(ctx, wsID)
	if err != nil {
		return AuditPage{}, err
	}
	log := auditLog{pk: auditPK(wsID), pkAttr: AttrPK, skAttr: AttrSK, count: ws.AuditSeq}
	if q.EventType != "" {
		log = auditLog{pk: auditTypePK(wsID, q.EventType), pkAttr: AttrGSI1PK, skAttr: AttrGSI1SK, index: IndexGSI1, count: ws.AuditSeqs[q.EventType]}
	}
	var page AuditPage
	lo, hi := int64(1), log.count
	if q.From != nil {
		// The first event at or after From.
		if lo, err = s.searchAudit(ctx, log, &page, func(t time.Time) bool { return !t.Before(*q.From) }); err != nil {
			return AuditPage{}, err
		}
	}
	if q.To != nil {
		// The last event before To.
		first, err := s.searchAudit(ctx, log, &page, func(t time.Time) bool { return !t.Before(*q.To) })
		if err != nil {
			return AuditPage{}, err
		}
		hi = first - 1
	}
	if hi < lo {
		return page, nil
	}
	page.Total = hi - lo + 1
	var start, end int64 // inclusive, in sequence order
	if q.Desc {
		end = hi - int64(q.Offset)
		start = max(lo, end-int64(q.Limit)+1)
	} else {
		start = lo + int64(q.Offset)
		end = min(hi, start+int64(q.Limit)-1)
	}
	if start > end || q.Limit == 0 {
		return page, nil
	}
	kc := expression.Key(log.pkAttr).Equal(expression.Value(log.pk)).
		And(expression.Key(log.skAttr).Between(expression.Value(seqKey(start)), expression.Value(seqKey(end))))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return AuditPage{}, fmt.Errorf("build query: %w", err)
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
			return AuditPage{}, fmt.Errorf("audit log of %s: %w", wsID, err)
		}
		page.ReadCapacity += consumed(out.ConsumedCapacity)
		for _, item := range out.Items {
			var it auditItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return AuditPage{}, fmt.Errorf("decode audit event: %w", err)
			}
			page.Events = append(page.Events, it.AuditEvent)
		}
	}
	return page, nil
}

// searchAudit returns the first sequence number of log whose event's time
// satisfies after (false, then true, as times never go backwards), or
// count+1 when none does.
func (s *Store) searchAudit(ctx context.Context, log auditLog, page *AuditPage, after func(time.Time) bool) (int64, error) {
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

// auditTime reads the time of the event at seq in log.
func (s *Store) auditTime(ctx context.Context, log auditLog, seq int64, page *AuditPage) (time.Time, error) {
	kc := expression.Key(log.pkAttr).Equal(expression.Value(log.pk)).And(expression.Key(log.skAttr).Equal(expression.Value(seqKey(seq))))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).
		WithProjection(expression.NamesList(expression.Name("timestamp"))).Build()
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
		Timestamp time.Time `dynamodbav:"timestamp"`
	}
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil {
		return time.Time{}, fmt.Errorf("decode audit event: %w", err)
	}
	return it.Timestamp, nil
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

// ImportAuditEvents appends evs, in order, to the audit log of ws, which
// nothing else may write meanwhile: it loads history in bulk (a migration,
// a benchmark), 25 events a request instead of one transaction an event.
// The counters are set when every event is in.
func (s *Store) ImportAuditEvents(ctx context.Context, wsID string, evs []AuditEvent) error {
	ws, err := s.Workspace(ctx, wsID)
	if err != nil {
		return err
	}
	seq, seqs, last := ws.AuditSeq, ws.AuditSeqs, ws.AuditTime
	if seqs == nil {
		seqs = map[string]int64{}
	}
	var batches [][]types.WriteRequest
	var batch []types.WriteRequest
	for _, ev := range evs {
		seq++
		seqs[ev.EventType]++
		ev.Seq, ev.TypeSeq = seq, seqs[ev.EventType]
		if ev.Timestamp.Before(last) {
			ev.Timestamp = last
		}
		last = ev.Timestamp
		item, err := attributevalue.MarshalMap(auditItem{keys{
			PK: auditPK(wsID), SK: seqKey(ev.Seq), GSI1PK: auditTypePK(wsID, ev.EventType), GSI1SK: seqKey(ev.TypeSeq),
		}, ev})
		if err != nil {
			return fmt.Errorf("encode audit event: %w", err)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			batches, batch = append(batches, batch), nil
		}
	}
	if len(batch) > 0 {
		batches = append(batches, batch)
	}
	// A few writers at once: the batches are independent.
	work := make(chan []types.WriteRequest)
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func() {
			var failed error
			for b := range work {
				for len(b) > 0 && failed == nil {
					out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: b}})
					if err != nil {
						failed = fmt.Errorf("import audit events: %w", err)
						break
					}
					b = out.UnprocessedItems[s.table]
				}
			}
			errs <- failed
		}()
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	for w := 0; w < 4; w++ {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	in, err := s.updateInput("WS#"+wsID, metaSK,
		expression.Set(expression.Name("auditSeq"), expression.Value(seq)).
			Set(expression.Name("auditSeqs"), expression.Value(seqs)).
			Set(expression.Name("auditTime"), expression.Value(last)),
		condition(expression.Name("auditSeq").Equal(expression.Value(ws.AuditSeq))))
	if err != nil {
		return err
	}
	_, err = s.updateOne(ctx, in)
	return err
}
