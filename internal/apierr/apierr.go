// Package apierr is the one typed error that crosses the gateway: it carries the HTTP status,
// the OpenAI-style type and code, a public message and the internal cause. It is turned into
// a response body in exactly one place (Write); the cause never reaches the client.
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// OpenAI error types.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeAPI            = "api_error"
)

// Codes that callers test for.
const (
	CodeContentFilter      = "content_filter"
	CodeNoEligibleProvider = "no_eligible_provider"
)

// Error is an error with a public face.
type Error struct {
	Status  int    // HTTP status
	Type    string // OpenAI error type
	Code    string // machine-readable code
	Param   string // offending request field, if any
	Message string // safe to show to the client
	// Retryable marks upstream failures after which the router may try the next provider
	// (connect errors, 5xx, retryable 429). It never crosses a jurisdiction.
	Retryable bool
	// Err is the internal cause, for logs only.
	Err error
	// Header holds response headers that go with the error (Retry-After).
	Header http.Header
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%d %s): %v", e.Message, e.Status, e.Code, e.Err)
	}
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error.
func New(status int, typ, code, msg string) *Error {
	return &Error{Status: status, Type: typ, Code: code, Message: msg}
}

// WithParam returns e with Param set.
func (e *Error) WithParam(p string) *Error { e.Param = p; return e }

// WithCause returns e with the internal cause set.
func (e *Error) WithCause(err error) *Error { e.Err = err; return e }

// BadRequest is a 400 invalid_request_error.
func BadRequest(code, msg string) *Error {
	return New(http.StatusBadRequest, TypeInvalidRequest, code, msg)
}

// ContentFilter is the outcome of a moderation block, ours or the upstream's. It is never
// retried on another provider.
func ContentFilter(msg string) *Error {
	return New(http.StatusBadRequest, TypeInvalidRequest, CodeContentFilter, msg)
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsContentFilter reports whether err is a moderation block.
func IsContentFilter(err error) bool {
	e, ok := As(err)
	return ok && e.Code == CodeContentFilter
}

// IsRetryable reports whether the router may try another provider after err.
func IsRetryable(err error) bool {
	e, ok := As(err)
	return ok && e.Retryable
}

// Body is the OpenAI error envelope.
type Body struct {
	Error BodyError `json:"error"`
}

// BodyError is the inside of the envelope. Param and Code are null when empty, as OpenAI
// sends them.
type BodyError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Public returns the public envelope for err. Errors that are not *Error become a generic
// 500 whose message says nothing about the cause.
func Public(err error) (int, Body) {
	e, ok := As(err)
	if !ok {
		e = New(http.StatusInternalServerError, TypeAPI, "internal_error", "internal error")
	}
	b := Body{Error: BodyError{Message: e.Message, Type: e.Type}}
	if e.Param != "" {
		p := e.Param
		b.Error.Param = &p
	}
	if e.Code != "" {
		c := e.Code
		b.Error.Code = &c
	}
	return e.Status, b
}

// Write sends err as an OpenAI-shaped JSON error response.
func Write(w http.ResponseWriter, err error) {
	if e, ok := As(err); ok {
		for k, v := range e.Header {
			w.Header()[k] = v
		}
	}
	status, body := Public(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
