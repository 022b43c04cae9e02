package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// controls are the ASCII control characters.
func controls() []byte {
	var out []byte
	for c := byte(0); c < 0x20; c++ {
		out = append(out, c)
	}
	return append(out, 0x7f)
}

// TestAdaptRefusesControlCharacters holds Adapt to answering an event with a
// control character in its path (raw, as the local gateway sends it, or
// percent-encoded), a path parameter, or a query parameter's name or value
// with its own 400 bad_request, never an invocation error, and without
// calling the handler.
func TestAdaptRefusesControlCharacters(t *testing.T) {
	const tokens = "/v2/sites/65f0a1b2c3d4e5f6a7b8c9d0/tokens/"
	type event = events.APIGatewayProxyRequest
	tests := []struct {
		name  string
		event func(c byte) event
	}{
		{"raw in a token id", func(c byte) event {
			id := string(c) + "abc"
			return event{HTTPMethod: "DELETE", Path: tokens + id, PathParameters: map[string]string{"token_id": id}}
		}},
		{"raw in a site id", func(c byte) event {
			id := "65f0" + string(c)
			return event{HTTPMethod: "GET", Path: "/v2/sites/" + id + "/tokens", PathParameters: map[string]string{"site_id": id}}
		}},
		{"encoded in the path", func(c byte) event {
			return event{HTTPMethod: "DELETE", Path: fmt.Sprintf("%s%%%02Xabc", tokens, c), PathParameters: map[string]string{"token_id": "abc"}}
		}},
		{"in a path parameter only", func(c byte) event {
			return event{HTTPMethod: "DELETE", Path: tokens + "abc", PathParameters: map[string]string{"token_id": string(c) + "abc"}}
		}},
		{"in a query value", func(c byte) event {
			v := "api" + string(c)
			return event{HTTPMethod: "GET", Path: "/v2/workspaces/w/audit_logs",
				QueryStringParameters: map[string]string{"eventType": v}, MultiValueQueryStringParameters: map[string][]string{"eventType": {v}}}
		}},
		{"in a query name", func(c byte) event {
			k := "x" + string(c)
			return event{HTTPMethod: "GET", Path: "/v2/workspaces/w/audit_logs",
				QueryStringParameters: map[string]string{k: "1"}, MultiValueQueryStringParameters: map[string][]string{k: {"1"}}}
		}},
		{"in a second value only", func(c byte) event {
			return event{HTTPMethod: "GET", Path: "/v2/workspaces/w/audit_logs",
				QueryStringParameters: map[string]string{"limit": "1"}, MultiValueQueryStringParameters: map[string][]string{"limit": {"1", string(c)}}}
		}},
	}
	for _, tc := range tests {
		for _, c := range controls() {
			t.Run(fmt.Sprintf("%s %#02x", tc.name, c), func(t *testing.T) {
				called := false
				proxy := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					called = true
					w.WriteHeader(http.StatusNoContent)
				}))
				ev := tc.event(c)
				resp, err := proxy(context.Background(), ev)
				got := adaptResult(resp, err, called)
				if want := "400 bad_request application/json handler not called"; got != want {
					t.Errorf("Adapt(%q) = %s; want %s", ev.Path, got, want)
				}
			})
		}
	}
}

// TestAdaptRefusesUnparseablePaths holds Adapt to answering a path that
// cannot be a URL path with its own 400, and to passing clean events on.
func TestAdaptRefusesUnparseablePaths(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/v2/sites/s/tokens/%zz", "400 bad_request application/json handler not called"},
		{"/v2/sites/s/tokens/abc%", "400 bad_request application/json handler not called"},
		{"/v2/sites/s/tokens/%0", "400 bad_request application/json handler not called"},
		{"/v2/sites/s/tokens/abc", "204   handler called"},
		{"/v2/sites/s/tokens/a%20b", "204   handler called"},
		{"v2/sites", "204   handler called"},
		{"/v2/sites/s/tokens/%C3%A9", "204   handler called"},
	}
	for _, tc := range tests {
		called := false
		proxy := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			w.WriteHeader(http.StatusNoContent)
		}))
		resp, err := proxy(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: tc.path})
		if got := adaptResult(resp, err, called); got != tc.want {
			t.Errorf("Adapt(%q) = %s; want %s", tc.path, got, tc.want)
		}
	}
}

// adaptResult sums up a proxy's answer: status, code, content type, and
// whether the handler ran.
func adaptResult(resp events.APIGatewayProxyResponse, err error, called bool) string {
	if err != nil {
		return "invocation error: " + err.Error()
	}
	var body errorBody
	if resp.Body != "" {
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Message == "" || body.Details == nil {
			return fmt.Sprintf("%d body %q", resp.StatusCode, resp.Body)
		}
	}
	var ct string
	if v := resp.MultiValueHeaders["Content-Type"]; len(v) == 1 {
		ct = v[0]
	}
	ran := "handler not called"
	if called {
		ran = "handler called"
	}
	return fmt.Sprintf("%d %s %s %s", resp.StatusCode, body.Code, ct, ran)
}
