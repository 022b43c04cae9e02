// Package httpapi is the HTTP edge of the functions: plain net/http handlers
// that Lambda runs through aws-lambda-go-api-proxy, so that tests, the local
// gateway and Lambda share one code path. It turns requests into domain
// calls, and errors into API.md's JSON errors, in one place.
package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/principal"
	"github.com/tokensmith/tokensmith/internal/route"
)

// maxBody is the largest request body accepted.
const maxBody = 16 << 10

// errorBody is API.md's error shape.
type errorBody struct {
	Code              string        `json:"code"`
	Message           string        `json:"message"`
	ExternalReference *string       `json:"externalReference"`
	Details           []errorDetail `json:"details"`
}

type errorDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// statuses is the one mapping from error code to HTTP status.
var statuses = map[string]int{
	tokensmith.EBADREQUEST:      http.StatusBadRequest,
	tokensmith.EINVALID:         http.StatusBadRequest,
	tokensmith.EUNAUTHORIZED:    http.StatusUnauthorized,
	tokensmith.EMISSINGSCOPES:   http.StatusForbidden,
	tokensmith.EFORBIDDEN:       http.StatusForbidden,
	tokensmith.ENOTENTERPRISE:   http.StatusForbidden,
	tokensmith.ENOTFOUND:        http.StatusNotFound,
	tokensmith.ETOKENLIMIT:      http.StatusConflict,
	tokensmith.ECONFLICT:        http.StatusConflict,
	tokensmith.ETOOMANYREQUESTS: http.StatusTooManyRequests,
	tokensmith.EINTERNAL:        http.StatusInternalServerError,
	tokensmith.EUNAVAILABLE:     http.StatusServiceUnavailable,
	tokensmith.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	tokensmith.EBADGATEWAY:      http.StatusBadGateway,
	tokensmith.EGATEWAYTIMEOUT:  http.StatusGatewayTimeout,
	// RFC 6749's, on the token exchange's route only.
	tokensmith.EINVALIDREQUEST:   http.StatusBadRequest,
	tokensmith.EINVALIDGRANT:     http.StatusBadRequest,
	tokensmith.EINVALIDSCOPE:     http.StatusBadRequest,
	tokensmith.EINVALIDTARGET:    http.StatusBadRequest,
	tokensmith.EUNSUPPORTEDGRANT: http.StatusBadRequest,
}

// Status returns the HTTP status of an error code; unknown codes are 500.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError is where every error becomes a status and a code: a
// *tokensmith.Error is what it says, and anything else is internal, which
// reaches the client as a generic message and the log in full.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := tokensmith.ErrorOf(err)
	if e.Code == tokensmith.EINTERNAL {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set(HeaderRetryAfter, strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	writeJSON(w, Status(e.Code), newErrorBody(e))
}

// newErrorBody is e in API.md's error shape.
func newErrorBody(e *tokensmith.Error) errorBody {
	details := []errorDetail{}
	for _, d := range e.Details {
		details = append(details, errorDetail{Field: d.Field, Message: d.Message})
	}
	return errorBody{Code: e.Code, Message: e.Message, Details: details}
}

// caller returns the principal the authorizer put in the request's API
// Gateway context.
func caller(r *http.Request) (tokensmith.Caller, error) {
	gw, ok := core.GetAPIGatewayContextFromContext(r.Context())
	if !ok {
		return tokensmith.Caller{}, principal.ErrMissing
	}
	return principal.FromContext(gw.Authorizer)
}

// readBody reads a request body of at most max bytes.
func readBody(r *http.Request, max int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil {
		return nil, tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body could not be read")
	}
	if len(body) > max {
		return nil, tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body is larger than %d bytes", max)
	}
	return body, nil
}

// plainJSON refuses a body that is not UTF-8 or that has two keys of one
// object equal after case folding: encoding/json matches names without
// regard to case and keeps the last of two values silently, so a body that
// says two things is refused instead.
func plainJSON(body []byte) error {
	if !utf8.Valid(body) {
		return tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body is not valid UTF-8")
	}
	if first, second, ok := duplicateKey(body); ok {
		if first == second {
			return tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body has the key %q twice in one object", first)
		}
		return tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body has the keys %q and %q in one object, which differ only in letter case", first, second)
	}
	return nil
}

// decode reads a JSON body of at most maxBody bytes into v: the content type
// must be JSON, the bytes UTF-8, the value one object with no unknown fields.
// An empty body is allowed when optional is set and leaves v as it is.
func decode(r *http.Request, v any, optional bool) error {
	body, err := readBody(r, maxBody)
	if err != nil {
		return err
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body must be JSON, sent with Content-Type: application/json")
	}
	if err := plainJSON(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return tokensmith.Invalid(tokensmith.ErrorDetail{Field: typeErr.Field, Message: "must be of type " + typeErr.Type.String()})
		// encoding/json reports an unknown field with no typed error: only
		// its text names the field.
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return tokensmith.Invalid(tokensmith.ErrorDetail{Field: field, Message: "is not a known field"})
		}
		return tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body is not valid JSON")
	}
	if dec.More() {
		return tokensmith.Errorf(tokensmith.EBADREQUEST, "The request body holds more than one JSON value")
	}
	return nil
}

// mux returns the router of fn's routes of the route table, each served by
// the handler of its operation, API token routes through the guard g; it
// panics at start-up when an operation has no handler or a handler no
// route, or an API token route has no guard, so that none of them can
// drift apart or run unlimited.
func mux(fn string, ops map[string]http.HandlerFunc, g *Guard, log *slog.Logger) *Router {
	m := &Router{routes: map[string]routeHandlers{}, log: log}
	seen := map[string]bool{}
	badURL := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, log, tokensmith.Errorf(tokensmith.EBADREQUEST, msgBadURL))
	}
	for _, r := range route.ForFunction(fn) {
		h, ok := ops[r.Op]
		if !ok {
			panic("httpapi: no handler for operation " + r.Op)
		}
		seen[r.Op] = true
		hs := routeHandlers{serve: h, badURL: badURL}
		if r.Auth.TakesAPIToken() {
			if g == nil {
				panic("httpapi: no guard for API token route " + r.Op)
			}
			hs = routeHandlers{serve: g.wrap(r, h), badURL: g.wrap(r, badURL)}
		}
		m.routes[r.Method+" "+r.Path] = hs
	}
	for op := range ops {
		if !seen[op] {
			panic("httpapi: handler for unknown operation " + op)
		}
	}
	return m
}

// Router serves each request by the route API Gateway matched for it, the
// method and resource the authorizer decided on, with the path parameters
// API Gateway found: never by re-reading the path, so a path API Gateway
// routes (a trailing slash, a "." segment) is served, counted and
// answered as the route it matched. Proxy runs it in Lambda: an event
// whose path or query holds what no handler may see (Adapt) is counted by
// the guard and then answered 400.
type Router struct {
	routes map[string]routeHandlers // by "METHOD /resource/{param}"
	log    *slog.Logger
}

type routeHandlers struct {
	serve, badURL http.HandlerFunc
}

func (m *Router) serve(w http.ResponseWriter, r *http.Request) {
	mt, _ := r.Context().Value(matchedKey{}).(matched)
	hs, ok := m.routes[r.Method+" "+mt.resource]
	if !ok {
		writeError(w, r, m.log, tokensmith.NotFound())
		return
	}
	if mt.badURL {
		hs.badURL(w, r)
		return
	}
	for k, v := range mt.params {
		r.SetPathValue(k, v)
	}
	hs.serve(w, r)
}

// duplicateKey returns the first two keys of one object of body (at any
// depth) that are equal after case folding, as encoding/json folds a name
// to match a field; the two are equal when the key appears twice exactly.
// Bodies that are not JSON are left to the decoder to report.
func duplicateKey(body []byte) (first, second string, ok bool) {
	type frame struct {
		object    bool
		keys      map[string]string // by folded key
		expectKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		top := (*frame)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && top.object {
					top.expectKey = false
				}
				stack = append(stack, &frame{object: true, keys: map[string]string{}, expectKey: true})
			case '[':
				if top != nil && top.object {
					top.expectKey = false
				}
				stack = append(stack, &frame{})
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top != nil && top.object && top.expectKey {
				folded := foldKey(v)
				if prev, seen := top.keys[folded]; seen {
					return prev, v, true
				}
				top.keys[folded] = v
				top.expectKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// foldKey maps each rune of s to the smallest rune of its case-folding
// orbit, so that foldKey(a) == foldKey(b) exactly when strings.EqualFold(a,
// b): the equality encoding/json uses to match a name to a field.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
