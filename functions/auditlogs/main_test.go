package main

import (
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
)

// TestEvents feeds events/auditlogs-*.json to the handler main builds.
func TestEvents(t *testing.T) {
	eventstest.Run(t, "AuditLogsFunction", newHandler)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "AuditLogsFunction", newHandler)
}
