// Package expiry turns DynamoDB TTL removals of token records into
// api_token/token_expired audit events. It is the handler of the DynamoDB
// Streams consumer, written against aws-lambda-go's event types.
package expiry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/streamrecord"
)

// Handler consumes the table's stream.
type Handler struct {
	Store *store.Store
	Now   func() time.Time
	Rand  io.Reader
	Log   *slog.Logger
}

// New returns a Handler with the real clock and crypto/rand.
func New(st *store.Store, log *slog.Logger) *Handler {
	return &Handler{Store: st, Now: time.Now, Rand: rand.Reader, Log: log}
}

// isTTLRemoval reports whether r is DynamoDB's TTL process removing a token
// record: a REMOVE by the service principal of an item whose sort key is a
// token's. Removals by people (revocation) are not expiry.
func isTTLRemoval(r events.DynamoDBEventRecord) bool {
	if r.EventName != "REMOVE" || r.UserIdentity == nil ||
		r.UserIdentity.Type != "Service" || r.UserIdentity.PrincipalID != "dynamodb.amazonaws.com" {
		return false
	}
	sk, ok := r.Change.Keys[store.AttrSK]
	return ok && sk.DataType() == events.DataTypeString && store.IsTokenSortKey(sk.String())
}

// Handle records each TTL removal in the batch and reports the records it
// could not record, so that only they are retried.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	for _, r := range ev.Records {
		if !isTTLRemoval(r) {
			continue
		}
		if err := h.record(ctx, r); err != nil {
			h.Log.ErrorContext(ctx, "token expiry not recorded", "eventId", r.EventID, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		}
	}
	metrics.FromContext(ctx).Add(metrics.StreamBatchFailures, float64(len(resp.BatchItemFailures)))
	return resp, nil
}

func (h *Handler) record(ctx context.Context, r events.DynamoDBEventRecord) error {
	item, err := streamrecord.Image(r.Change.OldImage)
	if err != nil {
		return err
	}
	t, err := store.DecodeToken(item)
	if err != nil {
		return err
	}
	if t.ID == "" || t.WorkspaceID == "" {
		return fmt.Errorf("record %s: old image holds no token", r.EventID)
	}
	err = store.Retry(ctx, func() error {
		ws, err := h.Store.Workspace(ctx, t.WorkspaceID)
		if err != nil {
			return err
		}
		var site *tokensmith.Site
		if t.SiteID != "" {
			// A site that is gone is named by id alone.
			if s, err := h.Store.Site(ctx, t.SiteID); err == nil {
				site = &s
			}
		}
		o, err := audit.NewOrigin(h.Now(), h.Rand, tokensmith.Actor{Type: tokensmith.ActorSystem}, ws)
		if err != nil {
			return err
		}
		return h.Store.RecordExpiry(ctx, t, audit.TokenExpired(o, t, site))
	})
	if err == nil {
		metrics.FromContext(ctx).Add(metrics.TokensExpired, 1)
	}
	switch {
	case errors.Is(err, store.ErrExists):
		// A redelivered record: its event is already written.
		return nil
	case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
		// The workspace is gone: there is no log to write to.
		h.Log.WarnContext(ctx, "expired token of a missing workspace", "tokenId", t.ID, "workspaceId", t.WorkspaceID)
		return nil
	}
	return err
}
