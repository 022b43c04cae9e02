// Package apperr defines the errors a client can see: the codes of API.md
// section 4 and the one mapping from code to HTTP status.
package apperr

import (
	"errors"
	"net/http"
)

// Code is an API error code.
type Code string

const (
	BadRequest      Code = "bad_request"
	Validation      Code = "validation_error"
	NotAuthorized   Code = "not_authorized"
	MissingScopes   Code = "missing_scopes"
	Forbidden       Code = "forbidden"
	NotEnterprise   Code = "not_enterprise_plan_workspace"
	NotFound        Code = "resource_not_found"
	TokenLimit      Code = "token_limit_reached"
	Conflict        Code = "conflict"
	TooManyRequests Code = "too_many_requests"
	Internal        Code = "internal_error"
	Unavailable     Code = "service_unavailable"
)

// statuses is the one mapping from error code to HTTP status.
var statuses = map[Code]int{
	BadRequest:      http.StatusBadRequest,
	Validation:      http.StatusBadRequest,
	NotAuthorized:   http.StatusUnauthorized,
	MissingScopes:   http.StatusForbidden,
	Forbidden:       http.StatusForbidden,
	NotEnterprise:   http.StatusForbidden,
	NotFound:        http.StatusNotFound,
	TokenLimit:      http.StatusConflict,
	Conflict:        http.StatusConflict,
	TooManyRequests: http.StatusTooManyRequests,
	Internal:        http.StatusInternalServerError,
	Unavailable:     http.StatusServiceUnavailable,
}

// Status returns the HTTP status of code; unknown codes are 500.
func Status(code Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Messages every client sees for these codes, so that none of them can be
// used as an oracle.
const (
	MsgNotAuthorized = "Request not authorized"
	MsgNotFound      = "Requested resource not found"
	MsgInternal      = "An Internal Error occurred"
)

// Detail names one invalid field.
type Detail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error a client may see: its code, message and details.
type Error struct {
	Code    Code
	Message string
	Details []Detail
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// New returns an Error with code and message.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Invalid returns a validation error with details.
func Invalid(details ...Detail) *Error {
	return &Error{Code: Validation, Message: "Validation Error", Details: details}
}

// NotFoundError is the one "resource_not_found" error.
func NotFoundError() *Error { return New(NotFound, MsgNotFound) }

// From returns the client-visible form of err: err itself when it is an
// *Error, and a generic internal error otherwise.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return New(Internal, MsgInternal)
}
