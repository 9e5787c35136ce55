package auth

import (
	"net/http"
)

// OAuth 2.0 error codes of the token endpoint (RFC 6749 §5.2, RFC 8707 §2).
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errInvalidScope         = "invalid_scope"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidTarget        = "invalid_target"
	errServerError          = "server_error"
	// errSlowDown answers a client over its rate limit (RFC 8628 §3.5 uses the same word).
	errSlowDown = "slow_down"
)

// oauthError is the JSON body of a token endpoint error.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeOAuthError writes an RFC 6749 §5.2 error. An invalid_client after HTTP Basic authentication
// gets 401 with a WWW-Authenticate challenge, as §5.2 asks.
func writeOAuthError(w http.ResponseWriter, code int, errCode, description string, basicAuth bool) {
	if errCode == errInvalidClient {
		code = http.StatusUnauthorized
		if basicAuth {
			w.Header().Set("WWW-Authenticate", `Basic realm="aurora", charset="UTF-8"`)
		}
	}
	writeJSON(w, code, oauthError{Error: errCode, Description: description})
}
