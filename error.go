package tokensmith

import (
	"errors"
	"fmt"
	"time"
)

// Error codes, API.md section 4's. The store, the services and the edge
// all speak them: the store turns DynamoDB's answers into them, services
// return them, and the edge turns each into its HTTP status in one place.
const (
	EBADREQUEST      = "bad_request"
	EINVALID         = "validation_error"
	EUNAUTHORIZED    = "not_authorized"
	EMISSINGSCOPES   = "missing_scopes"
	EFORBIDDEN       = "forbidden"
	ENOTENTERPRISE   = "not_enterprise_plan_workspace"
	ENOTFOUND        = "resource_not_found"
	ETOKENLIMIT      = "token_limit_reached"
	ECONFLICT        = "conflict"
	ETOOMANYREQUESTS = "too_many_requests"
	EINTERNAL        = "internal_error"
	EUNAVAILABLE     = "service_unavailable"
	// Upstream routes (API.md section 13): a body over 1 MiB, an upstream
	// that does not answer, or not in time.
	ETOOLARGE       = "request_too_large"
	EBADGATEWAY     = "bad_gateway"
	EGATEWAYTIMEOUT = "gateway_timeout"
)

// RFC 6749 section 5.2's error codes, which the token exchange (API.md
// section 15) answers with on its route only, each a 400.
const (
	EINVALIDREQUEST   = "invalid_request"
	EINVALIDGRANT     = "invalid_grant"
	EINVALIDSCOPE     = "invalid_scope"
	EINVALIDTARGET    = "invalid_target"
	EUNSUPPORTEDGRANT = "unsupported_grant_type"
)

// Messages every client sees for these codes, so that none of them can be
// used as an oracle.
const (
	MsgNotAuthorized = "Request not authorized"
	MsgNotFound      = "Requested resource not found"
	MsgInternal      = "An Internal Error occurred"
)

// Error is an error a client may see: its code, a message for people, and
// the invalid fields of a validation error. Any other error is internal.
type Error struct {
	Code    string
	Message string
	Details []ErrorDetail
	// RetryAfter is, on too_many_requests, how long until the request may
	// succeed (the Retry-After header); zero elsewhere.
	RetryAfter time.Duration
}

// ErrorDetail names one invalid field.
type ErrorDetail struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation error with details.
func Invalid(details ...ErrorDetail) *Error {
	return &Error{Code: EINVALID, Message: "Validation Error", Details: details}
}

// NotFound returns the one "resource_not_found" error, which says nothing
// of what was looked for.
func NotFound() *Error { return &Error{Code: ENOTFOUND, Message: MsgNotFound} }

// Unauthorized returns the one "not_authorized" error, which says nothing of
// why the credential was refused.
func Unauthorized() *Error { return &Error{Code: EUNAUTHORIZED, Message: MsgNotAuthorized} }

// ErrorCode returns the code of err: "" for nil, the code of an *Error in
// its chain, and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorOf returns what a client may see of err: the *Error in its chain, or
// the generic internal error.
func ErrorOf(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	return &Error{Code: EINTERNAL, Message: MsgInternal}
}
