package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// Middleware returns HTTP middleware that admits a request only with a valid
// "Authorization: Bearer <token>" whose principal holds required (the empty scope requires only a
// valid token), and passes the claims on in the request context (FromContext). Refusals are
// answered by WriteHTTPError: 401 for a missing or invalid token, 403 for a missing scope.
func (v *Verifier) Middleware(required iamv1alpha1.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rawToken, err := tokenFromAuthorization(r.Header.Get("Authorization"))
			if err != nil {
				WriteHTTPError(w, err)
				return
			}
			ctx, err := v.authenticate(r.Context(), rawToken, required)
			if err != nil {
				WriteHTTPError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// HTTPErrorBody is the JSON body WriteHTTPError writes.
type HTTPErrorBody struct {
	// Code is "unauthenticated", "forbidden", "unavailable" or "internal".
	Code string `json:"code"`
	// Message says why, without any token.
	Message string `json:"message"`
}

// WriteHTTPError answers a request refused with err, an error of this package:
//   - ErrInvalidToken and its kin: 401, code "unauthenticated", and WWW-Authenticate
//     `Bearer error="invalid_token"` (just `Bearer` when no token was sent, RFC 6750 §3.1);
//   - ErrForbidden and its kin: 403, code "forbidden", and for ErrInsufficientScope
//     WWW-Authenticate `Bearer error="insufficient_scope", scope="..."`;
//   - ErrKeySetUnavailable: 503, code "unavailable";
//   - anything else: 500, code "internal".
//
// The message is the fixed text of the matching sentinel, never err's own text.
func WriteHTTPError(w http.ResponseWriter, err error) {
	reason := publicReason(err)
	var status int
	var body HTTPErrorBody
	var scopeErr *InsufficientScopeError
	switch {
	case errors.Is(err, ErrMissingToken):
		status, body = http.StatusUnauthorized, HTTPErrorBody{Code: "unauthenticated", Message: reason}
		w.Header().Set("WWW-Authenticate", bearerScheme)
	case errors.Is(err, ErrInvalidToken):
		status, body = http.StatusUnauthorized, HTTPErrorBody{Code: "unauthenticated", Message: reason}
		w.Header().Set("WWW-Authenticate",
			fmt.Sprintf(`%s error="invalid_token", error_description=%q`, bearerScheme, reason))
	case errors.As(err, &scopeErr):
		reason = fmt.Sprintf("%s: requires %s", reason, scopeErr.Required)
		status, body = http.StatusForbidden, HTTPErrorBody{Code: "forbidden", Message: reason}
		w.Header().Set("WWW-Authenticate",
			fmt.Sprintf(`%s error="insufficient_scope", scope=%q`, bearerScheme, string(scopeErr.Required)))
	case errors.Is(err, ErrForbidden):
		status, body = http.StatusForbidden, HTTPErrorBody{Code: "forbidden", Message: reason}
	case errors.Is(err, ErrKeySetUnavailable):
		status, body = http.StatusServiceUnavailable, HTTPErrorBody{Code: "unavailable", Message: reason}
	default:
		status, body = http.StatusInternalServerError, HTTPErrorBody{Code: "internal", Message: reason}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
