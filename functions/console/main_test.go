package main

import (
	"testing"

	"github.com/tokensmith/tokensmith/internal/eventstest"
)

// TestEvents feeds events/console-*.json to the handler main builds, and
// holds the DynamoDB actions they call (none) to the function's IAM policy.
func TestEvents(t *testing.T) {
	fx := eventstest.Run(t, "ConsoleFunction", newHandler)
	eventstest.CheckPolicy(t, fx)
}

// TestEnvironment holds what the wiring reads to what template.yaml sets.
func TestEnvironment(t *testing.T) {
	eventstest.CheckEnv(t, "ConsoleFunction", newHandler)
}
