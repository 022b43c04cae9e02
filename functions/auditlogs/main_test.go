package main

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/eventstest"
)

// TestEvents feeds events/auditlogs-*.json to the handler main builds.
func TestEvents(t *testing.T) {
	eventstest.Run[events.APIGatewayProxyRequest, events.APIGatewayProxyResponse](t, "auditlogs", newHandler)
}
