package store

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

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
type AuditEvent struct {
	ID           string         `dynamodbav:"eventId" json:"-"`
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

// auditSortKey orders events by time; the event id breaks ties.
func auditSortKey(ev AuditEvent) string {
	return ev.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z") + "#" + ev.ID
}

// auditPut is the transaction item that records ev.
func (s *Store) auditPut(ev AuditEvent) (types.TransactWriteItem, error) {
	sk := auditSortKey(ev)
	return s.put(auditItem{
		keys: keys{
			PK: "AUDIT#" + ev.Workspace.ID, SK: sk,
			GSI1PK: "AUDIT#" + ev.Workspace.ID + "#" + ev.EventType, GSI1SK: sk,
		},
		AuditEvent: ev,
	}, absent())
}
