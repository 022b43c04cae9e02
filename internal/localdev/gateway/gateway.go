// Package gateway is a local stand-in for API Gateway's REST API: it routes
// by the route table, runs the REQUEST authorizer first (with its result
// cache keyed by the identity sources template.yaml declares), answers with
// the gateway responses template.yaml defines, and calls the same function
// handlers Lambda runs with the same aws-lambda-go event types.
package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tokensmith/tokensmith/internal/authorizer"
	"github.com/tokensmith/tokensmith/internal/route"
	"github.com/tokensmith/tokensmith/internal/samtemplate"
)

// Fixed parts of the ARNs and contexts the local gateway makes up.
const (
	apiID     = "local"
	stage     = "prod"
	accountID = "123456789012"
	maxBody   = 10 << 20 // API Gateway's payload limit
	// maxHead is API Gateway's limit on the request line and headers of a
	// REST API request.
	maxHead = 10240
)

// Authorize is the handler of a REQUEST authorizer, as Lambda runs it.
type Authorize = func(context.Context, events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Proxy is the handler of a function behind the API (Lambda proxy
// integration), as Lambda runs it.
type Proxy = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Gateway serves the API over HTTP.
type Gateway struct {
	Authorizer Authorize
	Functions  map[string]Proxy // by route.Route.Function
	Responses  map[string]samtemplate.GatewayResponse
	// IdentityHeaders and IdentityContext are the authorizer's identity
	// sources: the cache key.
	IdentityHeaders []string
	IdentityContext []string
	CacheTTL        time.Duration
	// CompressAt is the smallest body gzipped for a client that accepts it;
	// negative never compresses.
	CompressAt int
	Now        func() time.Time
	Log        *slog.Logger

	mu    sync.Mutex
	cache map[string]cached
	seq   atomic.Int64
}

type cached struct {
	resp    events.APIGatewayCustomAuthorizerResponse
	expires time.Time
}

// New returns a Gateway configured from the template: gateway responses,
// identity sources and, unless cacheTTL is non-negative, the cache TTL default.
func New(tmpl *samtemplate.Template, authz Authorize, fns map[string]Proxy, cacheTTL time.Duration, log *slog.Logger) (*Gateway, error) {
	api, err := tmpl.API()
	if err != nil {
		return nil, err
	}
	auth, ok := api.Auth.Authorizers[api.Auth.DefaultAuthorizer]
	if !ok {
		return nil, fmt.Errorf("gateway: default authorizer %q is not defined", api.Auth.DefaultAuthorizer)
	}
	if cacheTTL < 0 {
		def, _ := tmpl.ParameterDefault(auth.Identity.ReauthorizeEvery)
		secs, err := strconv.Atoi(def)
		if err != nil {
			return nil, fmt.Errorf("gateway: cache TTL default %q: %w", def, err)
		}
		cacheTTL = time.Duration(secs) * time.Second
	}
	for _, r := range route.Table {
		if fns[r.Function] == nil {
			return nil, fmt.Errorf("gateway: no handler for function %s", r.Function)
		}
	}
	compressAt := -1
	if api.MinimumCompressionSize != nil {
		compressAt = *api.MinimumCompressionSize
	}
	return &Gateway{
		Authorizer: authz, Functions: fns, Responses: api.GatewayResponses, CompressAt: compressAt,
		IdentityHeaders: auth.Identity.Headers, IdentityContext: auth.Identity.Context,
		CacheTTL: cacheTTL, Now: time.Now, Log: log,
	}, nil
}

// ServeHTTP handles one request as API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	head := len(r.Method) + len(r.URL.RequestURI())
	for k, vs := range r.Header {
		for _, v := range vs {
			head += len(k) + len(v)
		}
	}
	if head > maxHead {
		g.gatewayResponse(w, "REQUEST_HEADER_FIELDS_TOO_LARGE", http.StatusRequestHeaderFieldsTooLarge, nil)
		return
	}
	// API Gateway hands REST APIs' paths and path parameters on as the
	// client encoded them.
	path := r.URL.EscapedPath()
	rt, params, ok := route.Match(r.Method, path)
	if !ok {
		g.gatewayResponse(w, "MISSING_AUTHENTICATION_TOKEN", http.StatusForbidden, nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		g.gatewayResponse(w, "REQUEST_TOO_LARGE", http.StatusRequestEntityTooLarge, nil)
		return
	}
	headers, multi := map[string]string{}, map[string][]string{}
	for k, vs := range r.Header {
		headers[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	query, multiQuery := map[string]string{}, map[string][]string{}
	for k, vs := range r.URL.Query() {
		query[k] = vs[len(vs)-1]
		multiQuery[k] = vs
	}
	// An upstream route reaches its function through the one resource of
	// every upstream route, as in AWS (route.Proxy).
	if res := rt.Resource(); res.Path != rt.Path {
		rt, params = res, map[string]string{"proxy": strings.TrimPrefix(path, "/v2/")}
	}
	requestID := g.nextRequestID()
	reqCtx := events.APIGatewayProxyRequestContext{
		AccountID: accountID, APIID: apiID, Stage: stage, RequestID: requestID,
		ResourcePath: rt.Path, HTTPMethod: r.Method, Path: "/" + stage + path, Protocol: r.Proto,
		Identity:         events.APIGatewayRequestIdentity{SourceIP: sourceIP(r), UserAgent: r.UserAgent()},
		RequestTimeEpoch: g.Now().UnixMilli(),
	}

	if rt.Auth != route.Public {
		decision, status := g.authorize(r.Context(), rt, r, headers, multi, query, params, reqCtx)
		switch status {
		case http.StatusUnauthorized:
			g.gatewayResponse(w, "UNAUTHORIZED", status, nil)
			return
		case http.StatusForbidden:
			g.gatewayResponse(w, "ACCESS_DENIED", status, decision.Context)
			return
		case http.StatusInternalServerError:
			g.gatewayResponse(w, "AUTHORIZER_FAILURE", status, nil)
			return
		}
		reqCtx.Authorizer = map[string]interface{}{"principalId": decision.PrincipalID}
		for k, v := range decision.Context {
			reqCtx.Authorizer[k] = v
		}
	}

	resp, err := g.Functions[rt.Function](r.Context(), events.APIGatewayProxyRequest{
		Resource: rt.Path, Path: path, HTTPMethod: r.Method,
		Headers: headers, MultiValueHeaders: multi,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		PathParameters: params, RequestContext: reqCtx, Body: string(body),
	})
	if err != nil {
		g.Log.ErrorContext(r.Context(), "function failed", "function", rt.Function, "error", err)
		g.gatewayResponse(w, "DEFAULT_5XX", http.StatusBadGateway, nil)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			g.gatewayResponse(w, "DEFAULT_5XX", http.StatusBadGateway, nil)
			return
		}
	}
	if g.CompressAt >= 0 && len(out) >= g.CompressAt && acceptsGzip(r.Header.Values("Accept-Encoding")) && w.Header().Get("Content-Encoding") == "" {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(out)
		zw.Close()
		out = buf.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// acceptsGzip reports whether Accept-Encoding values allow gzip (and do not
// give it q=0).
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
				q := strings.ReplaceAll(params, " ", "")
				return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
			}
		}
	}
	return false
}

// authorize returns the authorizer's decision for the request and the status
// it leads to: 200 to go on, 401, 403 or 500. Decisions (not failures) are
// cached by identity sources for CacheTTL, as API Gateway does.
func (g *Gateway) authorize(ctx context.Context, rt route.Route, r *http.Request, headers map[string]string, multi map[string][]string,
	query, params map[string]string, reqCtx events.APIGatewayProxyRequestContext) (events.APIGatewayCustomAuthorizerResponse, int) {
	path := strings.TrimPrefix(reqCtx.Path, "/"+stage)
	methodArn := "arn:aws:execute-api:us-east-1:" + accountID + ":" + apiID + "/" + stage + "/" + r.Method + path
	var key string
	if g.CacheTTL > 0 {
		key = g.cacheKey(r, rt, reqCtx.Identity.SourceIP)
		g.mu.Lock()
		c, ok := g.cache[key]
		g.mu.Unlock()
		if ok && g.Now().Before(c.expires) {
			return c.resp, g.verdict(c.resp, methodArn)
		}
	}
	resp, err := g.Authorizer(ctx, events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodArn, Resource: rt.Path, Path: path, HTTPMethod: r.Method,
		Headers: headers, MultiValueHeaders: multi, QueryStringParameters: query, PathParameters: params,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path: reqCtx.Path, AccountID: accountID, Stage: stage, RequestID: reqCtx.RequestID,
			ResourcePath: rt.Path, HTTPMethod: r.Method, APIID: apiID,
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: reqCtx.Identity.SourceIP},
		},
	})
	switch {
	case err != nil && err.Error() == authorizer.ErrUnauthorized.Error():
		return resp, http.StatusUnauthorized
	case err != nil:
		g.Log.ErrorContext(ctx, "authorizer failed", "error", err)
		return resp, http.StatusInternalServerError
	}
	if g.CacheTTL > 0 {
		g.mu.Lock()
		if g.cache == nil {
			g.cache = map[string]cached{}
		}
		g.cache[key] = cached{resp: resp, expires: g.Now().Add(g.CacheTTL)}
		g.mu.Unlock()
	}
	return resp, g.verdict(resp, methodArn)
}

func (g *Gateway) verdict(resp events.APIGatewayCustomAuthorizerResponse, methodArn string) int {
	if Allows(resp.PolicyDocument, methodArn) {
		return http.StatusOK
	}
	return http.StatusForbidden
}

// sourceIP is the request's source address as API Gateway gives it: the
// TCP peer's address (IPv4 or IPv6, without the port), never a header the
// client sent.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// cacheKey joins the identity sources' values for r, from sourceIP.
func (g *Gateway) cacheKey(r *http.Request, rt route.Route, sourceIP string) string {
	var parts []string
	for _, h := range g.IdentityHeaders {
		parts = append(parts, strings.Join(r.Header.Values(h), ","))
	}
	for _, c := range g.IdentityContext {
		switch c {
		case "httpMethod":
			parts = append(parts, r.Method)
		case "resourcePath":
			parts = append(parts, rt.Path)
		case "identity.sourceIp":
			parts = append(parts, sourceIP)
		default:
			parts = append(parts, "?"+c)
		}
	}
	return strings.Join(parts, "\x00")
}

// authorizerVariable is a $context.authorizer variable of a response
// template.
var authorizerVariable = regexp.MustCompile(`\$context\.authorizer\.[A-Za-z0-9_]+`)

// gatewayResponse answers with the template's gateway response of type typ,
// falling back to DEFAULT_4XX or DEFAULT_5XX as API Gateway does, with
// $context.authorizer.* filled from authCtx (empty for a variable it does
// not hold).
func (g *Gateway) gatewayResponse(w http.ResponseWriter, typ string, status int, authCtx map[string]interface{}) {
	gr, ok := g.Responses[typ]
	if !ok {
		if status >= 500 {
			gr = g.Responses["DEFAULT_5XX"]
		} else {
			gr = g.Responses["DEFAULT_4XX"]
		}
	}
	status = gr.Status(status)
	body := gr.ResponseTemplates["application/json"]
	body = authorizerVariable.ReplaceAllStringFunc(body, func(m string) string {
		if v, ok := authCtx[strings.TrimPrefix(m, "$context.authorizer.")]; ok {
			return fmt.Sprint(v)
		}
		return ""
	})
	for k, v := range gr.ResponseParameters.Headers {
		// Static values are single-quoted in API Gateway's mapping syntax.
		if strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2 {
			w.Header().Set(k, v[1:len(v)-1])
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (g *Gateway) nextRequestID() string {
	return "local-" + strconv.FormatInt(g.Now().UnixNano(), 10) + "-" + strconv.FormatInt(g.seq.Add(1), 10)
}
