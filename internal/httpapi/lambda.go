package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/route"
)

// msgBadURL is the message of a request whose path or query string is not
// a URL a handler can be given.
const msgBadURL = "The request path and query string must form a valid URL without control characters"

// msgBadEvent is the message of any other request that cannot be read.
const msgBadEvent = "The request's method, path, query string or body could not be read"

// Proxy is a Lambda handler behind an API Gateway REST API (Lambda proxy
// integration): what a function hands to lambda.Start and what the local
// gateway calls.
type Proxy = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Adapt runs h as a proxy-integration Lambda handler. An event whose path
// (as sent or percent-decoded), path parameters or query parameters hold a
// control character (U+0000 to U+001F, U+007F), or whose path is not a
// valid URL path, is a 400 bad_request: the adapter would fail to build a
// request from most of them, which fails the invocation and reaches the
// client as a 502, and no id or query parameter of the API holds one; h
// never sees it. A function's routes are run by Router.Proxy instead.
//
// Adapt does what httpadapter.HandlerAdapter.ProxyWithContext does, with
// the adapter's own steps, except that an event it cannot turn into a
// request at all (an invalid method, say, which API Gateway never sends) is
// a 400 too, not an invocation error.
func Adapt(h http.Handler) Proxy { return adapt(h, false) }

// Proxy runs m as a proxy-integration Lambda handler, as Adapt does, except
// that an event Adapt answers 400 goes on to m, built from the route alone
// (no path parameters, no query), so that the guard counts it against its
// token's limit and sets the rate-limit headers before the 400.
func (m *Router) Proxy() Proxy { return adapt(http.HandlerFunc(m.serve), true) }

func adapt(h http.Handler, routed bool) Proxy {
	var adapter core.RequestAccessor
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		// The API's request id joins the invocation's metrics record to
		// the stage's access log line of the same request.
		metrics.FromContext(ctx).Set("apiRequestId", ev.RequestContext.RequestID)
		bad := !validURL(ev)
		if bad && !routed {
			return errorResponse(tokensmith.Errorf(tokensmith.EBADREQUEST, msgBadURL)), nil
		}
		if routed {
			m := matchedRoute(ev)
			if m.badURL = bad || m.badURL; m.badURL {
				ev.Path, ev.PathParameters, ev.QueryStringParameters, ev.MultiValueQueryStringParameters = "/", nil, nil, nil
			}
			ctx = context.WithValue(ctx, matchedKey{}, m)
		}
		r, err := adapter.EventToRequestWithContext(ctx, ev)
		if err != nil {
			return errorResponse(tokensmith.Errorf(tokensmith.EBADREQUEST, msgBadEvent)), nil
		}
		w := core.NewProxyResponseWriter()
		h.ServeHTTP(w, r)
		resp, err := w.GetProxyResponse()
		if err != nil {
			return events.APIGatewayProxyResponse{}, fmt.Errorf("httpapi: proxy response: %w", err)
		}
		return resp, nil
	}
}

// matchedKey is the context key of the route an event was matched to.
type matchedKey struct{}

// matched is the route API Gateway matched for an event: its resource
// (/v2/sites/{site_id}) and path parameters, and whether the event's path
// or query held what no handler may see.
type matched struct {
	resource string
	params   map[string]string
	badURL   bool
}

// matchedRoute returns the route of ev: the resource API Gateway names in
// every proxy event, or, for an event without one, the route its path
// matches in the route table. API Gateway hands REST APIs' path parameters
// on as the client encoded them; they are decoded here, and one that does
// not decode, or decodes to a control character, makes the URL bad.
func matchedRoute(ev events.APIGatewayProxyRequest) matched {
	m := matched{resource: ev.Resource, params: ev.PathParameters}
	if m.resource == "" {
		rt, params, ok := route.Match(ev.HTTPMethod, ev.Path)
		if !ok {
			return matched{}
		}
		m.resource, m.params = rt.Path, params
	}
	decoded := make(map[string]string, len(m.params))
	for k, v := range m.params {
		d, err := url.PathUnescape(v)
		if err != nil || hasControl(d) {
			m.badURL = true
		}
		decoded[k] = d
	}
	m.params = decoded
	return m
}

// validURL reports whether the adapter can build a request from ev's path,
// and whether the path, path parameters and query parameters a handler
// would see are free of control characters.
func validURL(ev events.APIGatewayProxyRequest) bool {
	path := ev.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	// The adapter parses the path after a scheme and host, as here.
	u, err := url.Parse("https://localhost" + path)
	if err != nil || hasControl(u.Path) {
		return false
	}
	for _, v := range ev.PathParameters {
		if hasControl(v) {
			return false
		}
	}
	for k, v := range ev.QueryStringParameters {
		if hasControl(k) || hasControl(v) {
			return false
		}
	}
	for k, vs := range ev.MultiValueQueryStringParameters {
		if hasControl(k) || hasControl(strings.Join(vs, "")) {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds an ASCII control character.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// errorResponse is e as a proxy response, in the shape writeError writes.
func errorResponse(e *tokensmith.Error) events.APIGatewayProxyResponse {
	body, _ := json.Marshal(newErrorBody(e))
	return events.APIGatewayProxyResponse{
		StatusCode:        Status(e.Code),
		MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}},
		Body:              string(body) + "\n",
	}
}
