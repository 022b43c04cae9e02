package expiry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/expiry"
	"github.com/tokensmith/tokensmith/internal/mock"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/streamrecord"
	"github.com/tokensmith/tokensmith/internal/token"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fixture holds a workspace with one site token, whose record's item is
// what a TTL removal's old image carries.
type fixture struct {
	st    *store.Store
	db    *dynamodb.Client
	table string
	h     *expiry.Handler
	image map[string]events.DynamoDBAttributeValue
	wsID  string
}

func newFixture(t *testing.T) *fixture {
	db, table := dynamotest.NewTable(t)
	st := store.New(db, table)
	ctx := context.Background()
	ws := tokensmith.Workspace{ID: "0000000a0000000000000001", Slug: "hitchhikers", Plan: tokensmith.PlanEnterprise, CreatedOn: t0}
	site := tokensmith.Site{ID: "0000000a0000000000000002", WorkspaceID: ws.ID, ShortName: "heart-of-gold", CreatedOn: t0}
	if err := st.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	perms := scope.Permissions{"sites": scope.Read}
	tok := tokensmith.Token{ID: "0000000b0000000000000001", Kind: token.KindSite, Name: "Old sync", SiteID: site.ID, WorkspaceID: ws.ID,
		Permissions: perms, Scope: "sites:read", DisplayHint: "tss_…Zq9w", SecretHash: "h", CreatedOn: t0, ExpiresOn: t0.Add(token.Inactivity)}
	if err := st.CreateToken(ctx, 0, "", 0, tok, tokensmith.Event{ID: "c", Type: audit.TypeAPIToken, SubType: audit.SubTokenCreated, Timestamp: t0,
		Workspace: tokensmith.WorkspaceRef{ID: ws.ID, Slug: ws.Slug}}, nil, t0); err != nil {
		t.Fatal(err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "SITE#" + site.ID}, "SK": &types.AttributeValueMemberS{Value: "TOKEN#" + tok.ID}}})
	if err != nil || out.Item == nil {
		t.Fatalf("read token item: %v", err)
	}
	return &fixture{
		st: st, db: db, table: table, wsID: ws.ID, image: toStream(t, out.Item),
		h: newHandler(st),
	}
}

// toStream renders an item as a stream record carries it.
func toStream(t *testing.T, item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	img, err := streamrecord.FromItem(item)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newHandler(st *store.Store) *expiry.Handler {
	h := expiry.New(st, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	h.Now = func() time.Time { return t0.Add(token.Inactivity + time.Hour) }
	return h
}

func (f *fixture) record(seq string, ttl bool, image map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	r := events.DynamoDBEventRecord{
		EventID: "ev-" + seq, EventName: "REMOVE",
		Change: events.DynamoDBStreamRecord{Keys: map[string]events.DynamoDBAttributeValue{"PK": image["PK"], "SK": image["SK"]}, OldImage: image, SequenceNumber: seq},
	}
	if ttl {
		r.UserIdentity = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	}
	return r
}

func (f *fixture) expiredEvents(t *testing.T) []tokensmith.Event {
	page, err := f.st.AuditEvents(context.Background(), f.wsID, tokensmith.AuditQuery{EventType: audit.TypeAPIToken, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []tokensmith.Event
	for _, e := range page.Events {
		if e.SubType == audit.SubTokenExpired {
			out = append(out, e)
		}
	}
	return out
}

func TestTTLRemovalBecomesOneEvent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ttl := f.record("1", true, f.image)
	for i := 0; i < 3; i++ { // delivered, then redelivered twice
		resp, err := f.h.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{ttl}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle = %+v, %v", resp, err)
		}
	}
	evs := f.expiredEvents(t)
	if len(evs) != 1 {
		t.Fatalf("%d token_expired events after 3 deliveries; want 1", len(evs))
	}
	ev := evs[0]
	tok, _ := ev.Payload["token"].(map[string]any)
	site, _ := ev.Payload["site"].(map[string]any)
	if ev.Actor.Type != tokensmith.ActorSystem || ev.Actor.ID != "" || tok["id"] != "0000000b0000000000000001" || tok["name"] != "Old sync" ||
		site["shortName"] != "heart-of-gold" || ev.Payload["scope"] != "sites:read" || ev.Payload["reason"] != tokensmith.ExpiryInactive {
		t.Errorf("event = %+v", ev)
	}
}

// TestExpiryReason: a token removed at its fixed end expires for the
// reason "fixed"; one whose fixed end lay beyond its inactivity expiry,
// "inactive".
func TestExpiryReason(t *testing.T) {
	tests := []struct {
		name string
		days int64
		want string
	}{
		{"fixed end first", 30, tokensmith.ExpiryFixed},
		{"inactivity first", 366, tokensmith.ExpiryInactive},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			fixed := t0.Add(time.Duration(tc.days) * 24 * time.Hour)
			tok := tokensmith.Token{ID: fmt.Sprintf("0000000b00000000000000f%d", i), Kind: token.KindSite, Name: "Short", SiteID: "0000000a0000000000000002",
				WorkspaceID: f.wsID, Permissions: scope.Permissions{"sites": scope.Read}, Scope: "sites:read", DisplayHint: "tss_…Ab12",
				SecretHash: "fixed", CreatedOn: t0, ExpiresAt: &fixed, LifetimeDays: tc.days}
			tok.ExpiresOn = tokensmith.EarlierEnd(tok.InactiveUntil(), tok.ExpiresAt)
			if err := f.st.CreateToken(ctx, 1, "", 0, tok, tokensmith.Event{ID: "d", Type: audit.TypeAPIToken, SubType: audit.SubTokenCreated, Timestamp: t0,
				Workspace: tokensmith.WorkspaceRef{ID: f.wsID, Slug: "hitchhikers"}}, nil, t0); err != nil {
				t.Fatal(err)
			}
			out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: store.TokenKey(tok.Owner(), tok.ID)})
			if err != nil || out.Item == nil {
				t.Fatalf("read token item: %v", err)
			}
			// The item's TTL is its earlier end, where the removal comes.
			if n, _ := out.Item[store.AttrExpiresAt].(*types.AttributeValueMemberN); n == nil || n.Value != fmt.Sprint(tok.ExpiresOn.Unix()) {
				t.Errorf("TTL attribute = %v; want %d", out.Item[store.AttrExpiresAt], tok.ExpiresOn.Unix())
			}
			resp, err := f.h.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{f.record("1", true, toStream(t, out.Item))}})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Handle = %+v, %v", resp, err)
			}
			evs := f.expiredEvents(t)
			if len(evs) != 1 || evs[0].Payload["reason"] != tc.want {
				t.Fatalf("token_expired events = %+v; want one with reason %q", evs, tc.want)
			}
		})
	}
}

func TestRemovalsThatAreNotExpiry(t *testing.T) {
	f := newFixture(t)
	secretImage := map[string]events.DynamoDBAttributeValue{}
	for k, v := range f.image {
		secretImage[k] = v
	}
	secretImage["SK"] = events.NewStringAttribute("#META")
	secretImage["PK"] = events.NewStringAttribute("SECRET#h")
	people := f.record("1", false, f.image)
	insert := f.record("2", true, f.image)
	insert.EventName = "INSERT"
	resp, err := f.h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{people, insert, f.record("3", true, secretImage)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	if evs := f.expiredEvents(t); len(evs) != 0 {
		t.Errorf("%d token_expired events for removals by people, inserts and secrets; want 0", len(evs))
	}
}

func TestPartialFailureReportsOnlyTheFailingRecord(t *testing.T) {
	f := newFixture(t)
	broken := map[string]events.DynamoDBAttributeValue{}
	for k, v := range f.image {
		broken[k] = v
	}
	broken["permissions"] = events.NewStringAttribute("all") // not a map
	other := map[string]events.DynamoDBAttributeValue{}
	for k, v := range f.image {
		other[k] = v
	}
	other["id"] = events.NewStringAttribute("0000000b0000000000000002")
	batch := []events.DynamoDBEventRecord{f.record("1", true, f.image), f.record("2", true, broken), f.record("3", true, other)}
	resp, err := f.h.Handle(context.Background(), events.DynamoDBEvent{Records: batch})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(resp.BatchItemFailures) != "[{2}]" {
		t.Errorf("failures = %v; want only record 2", resp.BatchItemFailures)
	}
	if evs := f.expiredEvents(t); len(evs) != 2 {
		t.Errorf("%d token_expired events; want 2 (records 1 and 3)", len(evs))
	}
	// With the table failing, every record fails and is retried.
	f.h.Store = store.New(mock.Failing(fmt.Errorf("connection refused")), f.table)
	resp, _ = f.h.Handle(context.Background(), events.DynamoDBEvent{Records: batch[:1]})
	if fmt.Sprint(resp.BatchItemFailures) != "[{1}]" {
		t.Errorf("failures with the table down = %v; want [{1}]", resp.BatchItemFailures)
	}
}
