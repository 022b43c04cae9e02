// Package auditimport loads history into a workspace's audit log in bulk, for
// the benchmark and tests: 25 events a request instead of one transaction an
// event. No function links it; the service itself records every event in the
// transaction of its change.
package auditimport

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
)

// BatchWriter is the part of the DynamoDB client the import calls.
type BatchWriter interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// writers is how many batches are written at once: they are independent.
const writers = 4

// Import appends evs, in order, to the audit log of wsID in table, which
// nothing else may write meanwhile. Each event takes the next places in the
// log and in its type's log and keeps its own timestamp; the log's time
// moves as it does for a recorded event (store.LogTime), and the log's
// counters move when every event is in.
func Import(ctx context.Context, st *store.Store, db BatchWriter, table, wsID string, evs []tokensmith.Event) error {
	was, err := st.AuditCounters(ctx, wsID)
	if err != nil {
		return err
	}
	now := store.AuditCounters{Seq: was.Seq, TypeSeqs: map[string]int64{}, Last: was.Last}
	for k, v := range was.TypeSeqs {
		now.TypeSeqs[k] = v
	}
	var batches [][]types.WriteRequest
	var batch []types.WriteRequest
	for _, ev := range evs {
		now.Seq++
		now.TypeSeqs[ev.Type]++
		ev.Seq, ev.TypeSeq = now.Seq, now.TypeSeqs[ev.Type]
		ev.Workspace.ID = wsID
		now.Last = store.LogTime(now.Last, ev.Timestamp)
		item, err := store.EncodeAuditEvent(ev, now.Last)
		if err != nil {
			return err
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			batches, batch = append(batches, batch), nil
		}
	}
	if len(batch) > 0 {
		batches = append(batches, batch)
	}
	work := make(chan []types.WriteRequest)
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func() {
			var failed error
			for b := range work {
				for len(b) > 0 && failed == nil {
					out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: b}})
					if err != nil {
						failed = fmt.Errorf("import audit events: %w", err)
						break
					}
					b = out.UnprocessedItems[table]
				}
			}
			errs <- failed
		}()
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	for w := 0; w < writers; w++ {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	return st.SetAuditCounters(ctx, wsID, was, now)
}
