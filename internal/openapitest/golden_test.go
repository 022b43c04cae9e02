package openapitest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/route"
)

// golden is a function's answer as events/golden/ keeps it: the body as
// JSON when it is JSON.
type golden struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              json.RawMessage     `json:"body"`
}

// TestGoldenAnswers checks the sample events of events/ and the answers
// the functions give them (events/golden/, held to the handlers by each
// function's tests) against the document: answers the end-to-end tests do
// not reach, such as the console's redirect, are checked too. The events
// come from API Gateway after the authorizer, so they carry no credential:
// each is given one of its route's shape.
func TestGoldenAnswers(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../events/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden answers: %v", err)
	}
	checked := 0
	for _, file := range files {
		var g golden
		readJSON(t, file, &g)
		if g.StatusCode == 0 {
			continue // an authorizer's or the expiry's answer: no HTTP exchange
		}
		var ev events.APIGatewayProxyRequest
		readJSON(t, filepath.Join("../../events", filepath.Base(file)), &ev)
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			checked++
			u := &url.URL{Path: ev.Path, RawQuery: url.Values(ev.MultiValueQueryStringParameters).Encode()}
			req, err := http.NewRequest(ev.HTTPMethod, u.String(), strings.NewReader(ev.Body))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range ev.MultiValueHeaders {
				req.Header[http.CanonicalHeaderKey(k)] = vs
			}
			if rt, _, ok := route.Match(ev.HTTPMethod, ev.Path); ok {
				switch {
				case rt.Auth.TakesAPIToken():
					req.Header.Set("Authorization", "Bearer "+secret)
				case rt.Auth == route.User:
					req.Header.Set("Authorization", "Bearer "+jwt)
				}
			}
			h := http.Header{}
			for k, v := range g.Headers {
				h.Set(k, v)
			}
			for k, vs := range g.MultiValueHeaders {
				h[http.CanonicalHeaderKey(k)] = vs
			}
			body := []byte(g.Body)
			var s string
			if json.Unmarshal(g.Body, &s) == nil {
				body = []byte(s) // a body that is not JSON is kept as a string
			}
			if err := c.Check(context.Background(), Exchange{Request: req, RequestBody: []byte(ev.Body), Status: g.StatusCode, Header: h, Body: body}); err != nil {
				t.Error(err)
			}
		})
	}
	if checked < 20 {
		t.Errorf("checked %d golden answers; want every one of events/golden/ (20 or more)", checked)
	}
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
