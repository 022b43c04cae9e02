package auditimport_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/auditimport"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/store"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestImportThenRecord(t *testing.T) {
	db, table := dynamotest.NewTable(t)
	s := store.New(db, table)
	ctx := context.Background()
	ws := tokensmith.Workspace{ID: "0000000a0000000000000001", Slug: "hitchhikers", Plan: tokensmith.PlanEnterprise, CreatedOn: t0}
	if err := s.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	var evs []tokensmith.Event
	for i := 0; i < 60; i++ {
		typ := audit.TypeAPIToken
		if i%3 == 0 {
			typ = audit.TypeWorkspaceMembership
		}
		evs = append(evs, tokensmith.Event{ID: "i", Type: typ, SubType: "x", Timestamp: t0.Add(time.Duration(i) * time.Second),
			Workspace: ws.Ref()})
	}
	if err := auditimport.Import(ctx, s, db, table, ws.ID, evs); err != nil {
		t.Fatal(err)
	}
	// A change recorded after the import takes the next places and keeps
	// its own time, earlier than the last imported event's.
	o := audit.Origin{ID: "m", Time: t0, Actor: tokensmith.Actor{Type: tokensmith.ActorSystem}, Workspace: ws.Ref()}
	m := tokensmith.Member{ID: "0000000c0000000000000009", Place: tokensmith.Place{WorkspaceID: ws.ID}, Email: "u9@example.com", Role: tokensmith.RoleMember}
	if err := s.AddMember(ctx, m, audit.MemberAdded(o, m)); err != nil {
		t.Fatal(err)
	}
	page, err := s.AuditEvents(ctx, ws.ID, tokensmith.AuditQuery{Limit: 5, Desc: true})
	if err != nil || page.Total != 61 || len(page.Events) != 5 || page.Events[0].Seq != 61 || page.Events[0].SubType != audit.SubUserAdded ||
		!page.Events[0].Timestamp.Equal(t0) {
		t.Fatalf("newest page = %+v, %v", page, err)
	}
	// A time bound selects by the log's time: the change, recorded after an
	// event of t0+59s, is within from t0+59s.
	from := t0.Add(59 * time.Second)
	bounded, err := s.AuditEvents(ctx, ws.ID, tokensmith.AuditQuery{From: &from, Limit: 100})
	if err != nil || bounded.Total != 2 || len(bounded.Events) != 2 || bounded.Events[1].Seq != 61 {
		t.Errorf("events from %s = %+v, %v; want places 60 and 61", from, bounded, err)
	}
	typed, err := s.AuditEvents(ctx, ws.ID, tokensmith.AuditQuery{EventType: audit.TypeWorkspaceMembership, Limit: 100, Offset: 18})
	if err != nil || typed.Total != 21 || len(typed.Events) != 3 || typed.Events[2].TypeSeq != 21 {
		t.Errorf("membership events from offset 18 = %d of %d, %v", len(typed.Events), typed.Total, err)
	}
	// Importing again while a change moved the counters is refused.
	if err := s.SetAuditCounters(ctx, ws.ID, store.AuditCounters{Seq: 60}, store.AuditCounters{Seq: 99}); err == nil {
		t.Error("SetAuditCounters from a stale count succeeded")
	}
}
