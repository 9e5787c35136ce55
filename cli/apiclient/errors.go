package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error codes of the API (docs/api.md).
const (
	CodeInvalid          = "invalid"
	CodeUnauthenticated  = "unauthenticated"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeAmbiguous        = "ambiguous"
	CodeTooLarge         = "too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInternal         = "internal"
)

// Error is an error answer of the API: its HTTP status, stable code, message and details.
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"-"`
	// Code is the stable error code, e.g. invalid or conflict.
	Code string `json:"code"`
	// Message is the human text.
	Message string `json:"message"`
	// Details name fields (of the deploy file, or of the request) and what is wrong with them.
	Details []ErrorDetail `json:"details,omitempty"`
}

// ErrorDetail is one problem of a request: a field path and a message.
type ErrorDetail struct {
	// Field is a dotted path with [i] for list items, e.g. targets.prod.strategy.
	Field string `json:"field,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// Error renders the code, the message and every detail.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d %s)", e.Message, e.Status, e.Code)
	for _, d := range e.Details {
		b.WriteString("\n  ")
		if d.Field != "" {
			b.WriteString(d.Field + ": ")
		}
		b.WriteString(d.Message)
	}
	return b.String()
}

// decodeError turns an error answer into an *Error; bodies that are not the API's JSON error still
// give one, with the status text.
func decodeError(status int, body []byte) *Error {
	var env struct {
		Error *Error `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err == nil && env.Error != nil && (env.Error.Code != "" || env.Error.Message != "") {
		env.Error.Status = status
		return env.Error
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Code: codeOfStatus(status), Message: msg}
}

// codeOfStatus is the API's code for a status, for answers without a JSON error.
func codeOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalid
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMedia
	default:
		return CodeInternal
	}
}

// IsCode reports whether err is an *Error with code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
