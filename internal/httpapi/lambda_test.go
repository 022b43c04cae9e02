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

// TestAdaptRefusesUnreadableEvents holds Adapt to answering an event that
// cannot be a request (a path that cannot be a URL path, an invalid method,
// a body that is not the base64 it claims) with its own 400, and to passing
// clean events on.
func TestAdaptRefusesUnreadableEvents(t *testing.T) {
	const refused = "400 bad_request application/json handler not called"
	const passed = "204   handler called"
	get := func(path string) events.APIGatewayProxyRequest {
		return events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: path}
	}
	tests := []struct {
		name  string
		event events.APIGatewayProxyRequest
		want  string
	}{
		{"bad escape", get("/v2/sites/s/tokens/%zz"), refused},
		{"bare percent at the end", get("/v2/sites/s/tokens/abc%"), refused},
		{"short escape", get("/v2/sites/s/tokens/%0"), refused},
		{"space in the method", events.APIGatewayProxyRequest{HTTPMethod: "GE T", Path: "/v2/sites"}, refused},
		{"body that is not base64", events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/v2/token/revoke", Body: "!!", IsBase64Encoded: true}, refused},
		{"clean", get("/v2/sites/s/tokens/abc"), passed},
		{"encoded space", get("/v2/sites/s/tokens/a%20b"), passed},
		{"no leading slash", get("v2/sites"), passed},
		{"encoded UTF-8", get("/v2/sites/s/tokens/%C3%A9"), passed},
		{"base64 body", events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/v2/token/revoke", Body: "e30=", IsBase64Encoded: true}, passed},
	}
	for _, tc := range tests {
		called := false
		proxy := Adapt(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			w.WriteHeader(http.StatusNoContent)
		}))
		resp, err := proxy(context.Background(), tc.event)
		if got := adaptResult(resp, err, called); got != tc.want {
			t.Errorf("%s: Adapt(%q %q) = %s; want %s", tc.name, tc.event.HTTPMethod, tc.event.Path, got, tc.want)
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
