// Package openapitest holds HTTP exchanges to the API's OpenAPI document
// (docs/openapi.yaml, embedded as tokensmith.OpenAPI): a Checker finds the
// operation of a request by the route table, as the gateway routes it, and
// validates the request and the response against the document; Handler
// wraps a server so that the end-to-end tests check every exchange they
// make. Tests only: no Lambda links it.
package openapitest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/route"
)

// Security scheme names of the document, one per kind of credential.
const (
	SchemeAPIToken  = "apiToken"
	SchemeUserToken = "userToken"
)

// ErrMismatch is wrapped by every disagreement between an exchange and the
// document.
var ErrMismatch = errors.New("openapi: the exchange disagrees with docs/openapi.yaml")

// Load parses the document and validates it as OpenAPI.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(tokensmith.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("openapi: load docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableSchemaPatternValidation(), openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("openapi: docs/openapi.yaml is not a valid document: %w", err)
	}
	return doc, nil
}

// DocPath is the document's path of a route's API Gateway resource path:
// a greedy {name+} is {name}, as OpenAPI has no greedy parameters.
func DocPath(resource string) string { return strings.ReplaceAll(resource, "+}", "}") }

// Exchange is one request and its answer as the server saw them.
type Exchange struct {
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte // as sent: gzipped when Content-Encoding says so
}

// Checker checks exchanges against the document.
type Checker struct {
	doc *openapi3.T
	// faults is whether the service's table is made to fail (WithFaults).
	faults bool
	// unrouted are the answers of the gateway to a path or method that
	// is no route (404) and to oversized headers (431, before routing).
	unrouted map[int]*openapi3.SchemaRef
}

// WithFaults returns a copy of c for a service whose table is made to fail:
// a request the document calls invalid may then be answered 500
// internal_error, since the service decides who may act (a read) before it
// looks at the body. Without faults that answer is a mismatch.
func (c *Checker) WithFaults() *Checker {
	f := *c
	f.faults = true
	return &f
}

// New loads the document.
func New() (*Checker, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	schemas := doc.Components.Schemas
	return &Checker{doc: doc, unrouted: map[int]*openapi3.SchemaRef{
		http.StatusNotFound:                    schemas["NotFoundError"],
		http.StatusRequestHeaderFieldsTooLarge: schemas["GatewayBadRequestError"],
	}}, nil
}

// Check returns what in x disagrees with the document, wrapping
// ErrMismatch, or nil. The response must be one the operation documents,
// headers and body included. The request is validated too: one the
// document calls invalid must be refused with a 4xx (the tests send such
// requests on purpose, and the service must not take them).
func (c *Checker) Check(ctx context.Context, x Exchange) error {
	r := x.Request
	body, err := decoded(x)
	if err != nil {
		return c.mismatch(x, "the body cannot be gunzipped: %v", err)
	}
	rt, params, ok := route.Match(r.Method, r.URL.Path)
	if !ok {
		schema := c.unrouted[x.Status]
		if schema == nil {
			return c.mismatch(x, "no route answered %d; want 404 or 431", x.Status)
		}
		if err := c.checkBody(schema, x.Header, body); err != nil {
			return c.mismatch(x, "no route: %v", err)
		}
		return nil
	}
	path := DocPath(rt.Path)
	item := c.doc.Paths.Value(path)
	if item == nil || item.GetOperation(r.Method) == nil {
		return c.mismatch(x, "route %s %s (%s) is not in the document", rt.Method, rt.Path, rt.Op)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    cloneRequest(r, x.RequestBody),
		PathParams: params,
		Route:      &routers.Route{Spec: c.doc, Path: path, PathItem: item, Method: r.Method, Operation: item.GetOperation(r.Method)},
		Options:    &openapi3filter.Options{AuthenticationFunc: authenticate},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && (x.Status < 400 || x.Status >= 500 && !(c.faults && x.Status == http.StatusInternalServerError)) {
		return c.mismatch(x, "the document calls the request invalid (%v), yet it was answered %d", reqErr, x.Status)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return c.mismatch(x, "%v", err)
	}
	if x.Status >= 300 && x.Status < 400 {
		// ValidateResponse leaves redirects alone: their status and required
		// headers are checked here.
		resp := in.Route.Operation.Responses.Status(x.Status)
		if resp == nil {
			return c.mismatch(x, "status %d is not documented", x.Status)
		}
		for name, h := range resp.Value.Headers {
			if h.Value.Required && x.Header.Get(name) == "" {
				return c.mismatch(x, "required header %s is missing", name)
			}
		}
	}
	return nil
}

// checkBody validates a JSON body against schema.
func (c *Checker) checkBody(schema *openapi3.SchemaRef, h http.Header, body []byte) error {
	if ct := h.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("Content-Type %q; want application/json", ct)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: &http.Request{Method: http.MethodGet},
			Route: &routers.Route{Spec: c.doc, Operation: &openapi3.Operation{Responses: openapi3.NewResponses(
				openapi3.WithStatus(200, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithJSONSchemaRef(schema)}),
			)}},
		},
		Status: 200, Header: h,
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func (c *Checker) mismatch(x Exchange, format string, args ...any) error {
	body, err := decoded(x)
	if err != nil {
		body = x.Body
	}
	return fmt.Errorf("%w: %s %s answered %d: %s\nrequest body: %s\nresponse body: %s", ErrMismatch,
		x.Request.Method, x.Request.URL.RequestURI(), x.Status, clip([]byte(fmt.Sprintf(format, args...)), 2000), clip(x.RequestBody, 300), clip(body, 600))
}

// clip is b, cut after max bytes.
func clip(b []byte, max int) string {
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// decoded is x's response body, gunzipped when it was sent gzipped.
func decoded(x Exchange) ([]byte, error) {
	if x.Header.Get("Content-Encoding") != "gzip" {
		return x.Body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(x.Body))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func cloneRequest(r *http.Request, body []byte) *http.Request {
	c := r.Clone(context.Background())
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	return c
}

var (
	apiTokenShape  = regexp.MustCompile(`^ts[sw]_[0-9A-Za-z]{46}$`)
	userTokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
)

// authenticate holds a request to a security requirement of the document:
// one Authorization header, the scheme Bearer and a credential of the
// scheme's shape. Whether the credential is live, or holds the scopes, is
// the service's to say.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	values := in.RequestValidationInput.Request.Header.Values("Authorization")
	if len(values) != 1 {
		return in.NewError(fmt.Errorf("%d Authorization headers; want 1", len(values)))
	}
	scheme, credential, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return in.NewError(fmt.Errorf("scheme %q; want Bearer", scheme))
	}
	shape := userTokenShape
	if in.SecuritySchemeName == SchemeAPIToken {
		shape = apiTokenShape
	}
	if !shape.MatchString(credential) {
		return in.NewError(fmt.Errorf("the credential is not of the %s shape", in.SecuritySchemeName))
	}
	return nil
}

// Handler serves next and checks each exchange it serves with a Checker,
// calling report with every mismatch. The checks run in the background, one
// at a time, so that they add nothing to an answer's latency (a load test
// keeps its pace); Close waits for them. Requests whose path starts with one
// of skip are served unchecked (the local OpenID Provider and the local
// GitHub keys, which stand in for the issuer and GitHub and are no routes
// of the API).
type Handler struct {
	checker *Checker
	next    http.Handler
	report  func(error)
	skip    []string
	queue   chan Exchange
	pending sync.WaitGroup
	done    chan struct{}
}

// NewHandler starts checking what next serves.
func NewHandler(c *Checker, next http.Handler, report func(error), skip ...string) *Handler {
	h := &Handler{checker: c, next: next, report: report, skip: skip, queue: make(chan Exchange, 4096), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for x := range h.queue {
			if err := h.checker.Check(context.Background(), x); err != nil {
				h.report(err)
			}
			h.pending.Done()
		}
	}()
	return h
}

// ServeHTTP serves r with next and queues the exchange for its check.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, p := range h.skip {
		if strings.HasPrefix(r.URL.Path, p) {
			h.next.ServeHTTP(w, r)
			return
		}
	}
	reqBody, err := io.ReadAll(r.Body)
	if err != nil {
		h.report(fmt.Errorf("openapi: read the request body: %w", err))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	h.next.ServeHTTP(rec, r)
	if rec.header == nil {
		rec.header = w.Header().Clone()
	}
	h.pending.Add(1)
	h.queue <- Exchange{Request: r.Clone(context.Background()), RequestBody: reqBody, Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

// Close waits until every exchange served has been checked, and stops.
// Call it once nothing is served any more (after the server's Close).
func (h *Handler) Close() {
	h.pending.Wait()
	close(h.queue)
	<-h.done
}

// recorder passes a response through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.header == nil {
		r.status, r.header = status, r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.header == nil {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
