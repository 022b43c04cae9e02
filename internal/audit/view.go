package audit

import (
	"github.com/tokensmith/tokensmith"
)

// View is an audit event as the API shows it (API.md section 6,
// docs/openapi.yaml AuditEvent) and as it is published to the event bus,
// where it is the detail of each entry: the one rendering of both.
type View struct {
	ID           string         `json:"id"`
	EventType    string         `json:"eventType"`
	EventSubType string         `json:"eventSubType"`
	Timestamp    string         `json:"timestamp"`
	Actor        ViewActor      `json:"actor"`
	Workspace    ViewWorkspace  `json:"workspace"`
	Payload      map[string]any `json:"payload"`
}

// ViewActor is who made the change.
type ViewActor struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
}

// ViewWorkspace is the workspace whose log holds the event.
type ViewWorkspace struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
}

// TimeFormat is RFC 3339 UTC with milliseconds, as every time in the API.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// NewView renders e.
func NewView(e tokensmith.Event) View {
	payload := e.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	return View{
		ID: e.ID, EventType: e.Type, EventSubType: e.SubType, Timestamp: e.Timestamp.UTC().Format(TimeFormat),
		Actor:     ViewActor{Type: string(e.Actor.Type), ID: e.Actor.ID, Email: e.Actor.Email},
		Workspace: ViewWorkspace{ID: e.Workspace.ID, Slug: e.Workspace.Slug},
		Payload:   payload,
	}
}
