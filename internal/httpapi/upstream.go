package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/assertion"
	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/upstream"
)

// Limits of what an upstream route forwards: a request body of 1 MiB, and
// an answer that fits Lambda's 6 MB response once base64-encoded.
const (
	MaxUpstreamBody   = 1 << 20
	maxUpstreamAnswer = 4 << 20
)

// HeaderRequestID carries the API's request id to the upstream.
const HeaderRequestID = "Tokensmith-Request-Id"

// NewUpstreamClient returns the client that reaches the upstreams, the
// Lambda's and make run's alike: it follows no redirect (a 3xx goes back
// to the caller as the upstream gave it, and the assertion and body reach
// no other host), uses no proxy from the environment and reads at most
// 64 KiB of an answer's headers.
func NewUpstreamClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:                  nil,
			MaxResponseHeaderBytes: 64 << 10,
			MaxIdleConnsPerHost:    16,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    10 * time.Second,
			ForceAttemptHTTP2:      true,
		},
	}
}

// Decide is the REQUEST authorizer's handler, which the upstream function
// runs in-process for each upstream route (authorizer.Authorizer.Handle).
type Decide = func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Upstreams forwards the upstream routes of the route table to the
// upstreams of d (API.md section 13) and serves the assertion key set.
//
// API Gateway sends every upstream route through one greedy resource
// (route.Proxy) without its authorizer, so that a path no route declares is
// a 404 whatever the credential, as elsewhere. The function matches the
// path against the route table, then decides the credential with the
// authorizer's own code (API tokens only, the IP allowlist), then checks
// the grant of {site_id} and {workspace_id}, then the guard counts the
// request and checks its scope, as on the built-in data routes.
type Upstreams struct {
	Declaration *upstream.Declaration
	Decide      Decide
	Assertions  *assertion.Signer
	Guard       *Guard
	// Client reaches the upstreams; each request is bounded by its
	// upstream's timeout.
	Client *http.Client
	Log    *slog.Logger
}

// Proxy returns the function's Lambda handler.
func (u *Upstreams) Proxy() Proxy {
	ops := map[string]http.HandlerFunc{"getAssertionKeys": u.keys}
	for _, rt := range route.ForFunction(route.Upstream) {
		if !rt.IsUpstream() {
			continue
		}
		up, ok := u.Declaration.Find(rt)
		if !ok {
			panic("httpapi: no upstream declares " + rt.Op)
		}
		ops[rt.Op] = u.forward(up, rt)
	}
	inner := mux(route.Upstream, ops, u.Guard, u.Log).Proxy()
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if ev.Resource != route.ProxyPath {
			return inner(ctx, ev)
		}
		rt, params, ok := route.Match(ev.HTTPMethod, ev.Path)
		if !ok || !rt.IsUpstream() {
			return errorResponse(tokensmith.NotFound()), nil
		}
		if _, ok := forwardedPath(rt, params); !ok {
			return errorResponse(tokensmith.NotFound()), nil
		}
		decision, err := u.Decide(ctx, authorizerRequest(ev, rt, params))
		switch {
		case err != nil && err.Error() == authorizer.ErrUnauthorized.Error():
			return errorResponse(tokensmith.Unauthorized()), nil
		case err != nil:
			u.Log.ErrorContext(ctx, "authorizer failed", "error", err)
			return errorResponse(tokensmith.Errorf(tokensmith.EINTERNAL, "An Internal Error occurred")), nil
		}
		// A site or workspace the token is not granted is not found, before
		// the request is counted or its scope checked: a workspace token
		// has no site.
		p, err := principal.FromContext(decision.Context)
		if err != nil {
			u.Log.ErrorContext(ctx, "authorizer context", "error", err)
			return errorResponse(tokensmith.Errorf(tokensmith.EINTERNAL, "An Internal Error occurred")), nil
		}
		if id, ok := params["site_id"]; ok && (p.Kind != tokensmith.CallerSite || id != p.SiteID) {
			return errorResponse(tokensmith.NotFound()), nil
		}
		if id, ok := params["workspace_id"]; ok && id != p.WorkspaceID {
			return errorResponse(tokensmith.NotFound()), nil
		}
		ev.Resource, ev.PathParameters = rt.Path, params
		ev.RequestContext.ResourcePath = rt.Path
		ev.RequestContext.Authorizer = map[string]interface{}{"principalId": decision.PrincipalID}
		for k, v := range decision.Context {
			ev.RequestContext.Authorizer[k] = v
		}
		return inner(ctx, ev)
	}
}

// forwardedPath is the path forwarded to the upstream for route rt with
// path parameters params as matched: the route's template with each
// parameter (each segment of a greedy one) percent-decoded and escaped
// again. A decoded parameter or segment that is empty, "." or "..", alone
// or before a ";", or that holds "/" or a backslash, has no path: an upstream that
// resolves dot segments or takes a backslash for "/" would serve another path than
// the route's.
func forwardedPath(rt route.Route, params map[string]string) (string, bool) {
	segs := strings.Split(strings.TrimPrefix(rt.Path, "/"), "/")
	out := make([]string, 0, len(segs))
	for _, seg := range segs {
		if !strings.HasPrefix(seg, "{") {
			out = append(out, seg)
			continue
		}
		name := strings.TrimSuffix(seg[1:len(seg)-1], "+")
		parts := []string{params[name]}
		if strings.HasSuffix(seg, "+}") {
			parts = strings.Split(params[name], "/")
		}
		for _, p := range parts {
			v, err := url.PathUnescape(p)
			dots, _, _ := strings.Cut(v, ";")
			if err != nil || v == "" || dots == "." || dots == ".." || strings.ContainsAny(v, "/\\") {
				return "", false
			}
			out = append(out, url.PathEscape(v))
		}
	}
	return "/" + strings.Join(out, "/"), true
}

// authorizerRequest is the event API Gateway would send the authorizer for
// ev, had route rt its own resource.
func authorizerRequest(ev events.APIGatewayProxyRequest, rt route.Route, params map[string]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	rc := ev.RequestContext
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:      "REQUEST",
		MethodArn: "arn:aws:execute-api:*:" + rc.AccountID + ":" + rc.APIID + "/" + rc.Stage + "/" + ev.HTTPMethod + ev.Path,
		Resource:  rt.Path, Path: ev.Path, HTTPMethod: ev.HTTPMethod,
		Headers: ev.Headers, MultiValueHeaders: ev.MultiValueHeaders, QueryStringParameters: ev.QueryStringParameters,
		PathParameters: params,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			// No request id: the authorizer then leaves the count to the
			// guard, which counts after the grant check, so that a site or
			// workspace not granted is refused before it is counted.
			Path: rc.Path, AccountID: rc.AccountID, Stage: rc.Stage,
			ResourcePath: rt.Path, HTTPMethod: ev.HTTPMethod, APIID: rc.APIID,
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: rc.Identity.SourceIP},
		},
	}
}

// keys serves the assertion key set.
func (u *Upstreams) keys(w http.ResponseWriter, r *http.Request) {
	b, err := u.Assertions.JWKS()
	if err != nil {
		writeError(w, r, u.Log, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// hopByHop are the headers of one connection (RFC 9110 section 7.6.1),
// never forwarded either way.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// rewrites are the headers, by lowercase name, with which a client could
// make an upstream (or a framework before it) take another method, path,
// host or client address than tokensmith checked; X-Forwarded-For is set
// from the connection's source address instead.
var rewrites = map[string]bool{
	"x-http-method-override": true, "x-http-method": true, "x-method-override": true,
	"x-original-url": true, "x-rewrite-url": true, "x-original-method": true,
	"forwarded": true, "x-real-ip": true, "x-client-ip": true, "true-client-ip": true,
}

// notForwarded reports whether a client's header name is never forwarded
// to an upstream: every Tokensmith- and X-Tokensmith- header, so a client
// cannot forge the assertion, every X-Forwarded- header and the rewrites,
// read with "_" and "." as "-" as many servers read them.
func notForwarded(name string) bool {
	n := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
	return strings.HasPrefix(n, "tokensmith-") || strings.HasPrefix(n, "x-tokensmith-") || strings.HasPrefix(n, "x-forwarded-") || rewrites[n]
}

// dropped reports whether header name (canonical) is never passed on,
// either way: the credential and the connection's own headers (and those
// Connection names); Host and Content-Length are the outgoing message's
// own.
func dropped(name string, connection []string) bool {
	switch {
	case name == "Authorization", name == "Host", name == "Content-Length":
		return true
	}
	for _, h := range hopByHop {
		if name == h {
			return true
		}
	}
	for _, c := range connection {
		for _, h := range strings.Split(c, ",") {
			if textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(h)) == name {
				return true
			}
		}
	}
	return false
}

// forward is the handler of route rt of upstream up, behind the guard:
// the request forwarded with the assertion, and the answer passed back.
func (u *Upstreams) forward(up upstream.Upstream, rt route.Route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := apiTokenCaller(r)
		if err != nil {
			writeError(w, r, u.Log, err)
			return
		}
		if !up.Served() {
			u.Log.WarnContext(r.Context(), "upstream unserved: its url is empty", "upstream", up.Name, "operation", rt.Op)
			writeError(w, r, u.Log, tokensmith.Errorf(tokensmith.EBADGATEWAY, "The upstream gave no answer"))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxUpstreamBody+1))
		if err != nil {
			writeError(w, r, u.Log, tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body could not be read"))
			return
		}
		if len(body) > MaxUpstreamBody {
			writeError(w, r, u.Log, tokensmith.Errorf(tokensmith.ETOOLARGE, "The request body is larger than %d bytes", MaxUpstreamBody))
			return
		}
		mt, _ := r.Context().Value(matchedKey{}).(matched)
		path, ok := forwardedPath(rt, mt.params)
		if !ok {
			writeError(w, r, u.Log, tokensmith.NotFound())
			return
		}
		signed, err := u.Assertions.Sign(assertion.Request{Caller: p, Audience: up.Audience, Method: r.Method, Path: path})
		if err != nil {
			writeError(w, r, u.Log, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), up.Timeout())
		defer cancel()
		target := up.URL + path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		var reqBody io.Reader
		if len(body) > 0 {
			reqBody = bytes.NewReader(body)
		}
		out, err := http.NewRequestWithContext(ctx, r.Method, target, reqBody)
		if err != nil {
			writeError(w, r, u.Log, err)
			return
		}
		connection := r.Header.Values("Connection")
		for name, vs := range r.Header {
			if !dropped(textproto.CanonicalMIMEHeaderKey(name), connection) && !notForwarded(name) {
				out.Header[textproto.CanonicalMIMEHeaderKey(name)] = append([]string(nil), vs...)
			}
		}
		out.Header.Set(assertion.Header, signed)
		if gw, ok := core.GetAPIGatewayContextFromContext(r.Context()); ok {
			out.Header.Set(HeaderRequestID, gw.RequestID)
			out.Header.Set("X-Forwarded-For", gw.Identity.SourceIP)
		}
		resp, err := u.Client.Do(out)
		if err != nil {
			u.fail(ctx, w, r, up, rt, err)
			return
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamAnswer+1))
		if err == nil && len(answer) > maxUpstreamAnswer {
			err = errors.New("the answer is larger than the largest forwarded")
		}
		if err != nil {
			u.fail(ctx, w, r, up, rt, err)
			return
		}
		connection = resp.Header.Values("Connection")
		for name, vs := range resp.Header {
			name = textproto.CanonicalMIMEHeaderKey(name)
			// The rate-limit headers are the token's, set by the guard.
			if rateLimitHeaders[name] || dropped(name, connection) {
				continue
			}
			w.Header()[name] = vs
		}
		// The answer is served from the API's origin: never sniffed.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}
}

// rateLimitHeaders are the guard's headers, by canonical name.
var rateLimitHeaders = map[string]bool{
	textproto.CanonicalMIMEHeaderKey(HeaderLimit):     true,
	textproto.CanonicalMIMEHeaderKey(HeaderRemaining): true,
	textproto.CanonicalMIMEHeaderKey(HeaderReset):     true,
}

// fail answers a request whose upstream gave no answer: 504 when its
// timeout passed, 502 otherwise, with no upstream detail but in the log.
func (u *Upstreams) fail(ctx context.Context, w http.ResponseWriter, r *http.Request, up upstream.Upstream, rt route.Route, err error) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		u.Log.WarnContext(r.Context(), "upstream timed out", "upstream", up.Name, "timeout", up.Timeout().String())
		writeError(w, r, u.Log, tokensmith.Errorf(tokensmith.EGATEWAYTIMEOUT, "The upstream did not answer in time"))
		return
	}
	// The URL of a *url.Error holds the query, which may hold what the
	// client meant for the upstream alone.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	u.Log.WarnContext(r.Context(), "upstream failed", "upstream", up.Name, "method", r.Method, "operation", rt.Op, "error", err)
	writeError(w, r, u.Log, tokensmith.Errorf(tokensmith.EBADGATEWAY, "The upstream gave no answer"))
}
