package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Codes are the stable error codes of the API (docs/api.md, "Conventions").
const (
	// CodeInvalid (400): the request has errors; the details name them.
	CodeInvalid = "invalid"
	// CodeUnauthenticated (401): no token, or one that is malformed, expired, badly signed or for
	// another audience.
	CodeUnauthenticated = "unauthenticated"
	// CodeForbidden (403): a scope or a role is missing.
	CodeForbidden = "forbidden"
	// CodeNotFound (404): no such object in the caller's tenant, or no such route.
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed (405): the route exists for other methods (see Allow).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeConflict (409): the object exists, a deployment is in flight, or nothing waits for a
	// decision.
	CodeConflict = "conflict"
	// CodeAmbiguous (409): several gates wait and the decision names none.
	CodeAmbiguous = "ambiguous"
	// CodeTooLarge (413): the body exceeds its limit.
	CodeTooLarge = "too_large"
	// CodeUnsupportedMediaType (415): the body's Content-Type is not accepted.
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeUnavailable (502/503): the token issuer's keys or the Agent Hub cannot be reached.
	CodeUnavailable = "unavailable"
	// CodeInternal (500): the server failed; its log has the details.
	CodeInternal = "internal"
)

// Detail is one problem of a request: the field it concerns and what is wrong with it.
type Detail struct {
	// Field is the path of the field, relative to the request body (for a deploy file, to its top
	// level), dotted, with [i] for list items.
	Field string `json:"field,omitempty"`
	// Message says what is wrong and what was expected.
	Message string `json:"message"`
}

// Error is an error answered to the client: an HTTP status, a stable code, a message and details.
type Error struct {
	// Status is the HTTP status.
	Status int `json:"-"`
	// Code is one of the Code constants.
	Code string `json:"code"`
	// Message is for people.
	Message string `json:"message"`
	// Details list the problems, one per field.
	Details []Detail `json:"details,omitempty"`
}

// Error formats the error for logs.
func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// errorBody is the JSON document of an error.
type errorBody struct {
	Error *Error `json:"error"`
}

// newError returns an Error of status and code with a formatted message.
func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, CodeInvalid, format, args...)
}

func invalidField(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: field + ": " + msg, Details: []Detail{{Field: field, Message: msg}}}
}

func notFound(format string, args ...any) *Error {
	return newError(http.StatusNotFound, CodeNotFound, format, args...)
}

func forbidden(format string, args ...any) *Error {
	return newError(http.StatusForbidden, CodeForbidden, format, args...)
}

func conflict(format string, args ...any) *Error {
	return newError(http.StatusConflict, CodeConflict, format, args...)
}

// asError turns any error into an *Error; anything not already one is a 500 whose message hides
// the cause (it is logged instead).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return newError(http.StatusInternalServerError, CodeInternal, "internal error; the server log has the details")
}

// writeError answers with e as JSON.
func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, errorBody{Error: e})
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
