package verify

import (
	"errors"
	"fmt"
)

// ErrInvalidToken is the root of every "this request is not authenticated" refusal: a missing,
// malformed, badly signed, expired or otherwise unacceptable token. HTTP callers answer 401, gRPC
// callers codes.Unauthenticated. Every more specific token error below wraps it.
var ErrInvalidToken = errors.New("invalid token")

// Token errors; each wraps ErrInvalidToken. Their messages are safe to show to the client: they
// never contain the token or any value taken from it.
var (
	// ErrMissingToken means the request carried no bearer token.
	ErrMissingToken = fmt.Errorf("%w: no bearer token", ErrInvalidToken)
	// ErrMalformedToken means the token is not a well-formed compact JWS with a JSON claim set.
	ErrMalformedToken = fmt.Errorf("%w: malformed token", ErrInvalidToken)
	// ErrUnsupportedAlgorithm means the token's alg header is not on the verifier's allow-list
	// (this is where "none" and HMAC tokens end up).
	ErrUnsupportedAlgorithm = fmt.Errorf("%w: signature algorithm not allowed", ErrInvalidToken)
	// ErrUnknownKey means the token names no key id, or one the issuer's key set does not hold
	// even after a refresh.
	ErrUnknownKey = fmt.Errorf("%w: unknown signing key", ErrInvalidToken)
	// ErrInvalidSignature means the signature does not verify with the key the token names.
	ErrInvalidSignature = fmt.Errorf("%w: signature does not verify", ErrInvalidToken)
	// ErrInvalidIssuer means the iss claim is not the verifier's issuer.
	ErrInvalidIssuer = fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	// ErrInvalidAudience means the aud claim does not contain the verifier's audience.
	ErrInvalidAudience = fmt.Errorf("%w: wrong audience", ErrInvalidToken)
	// ErrMissingExpiry means the token has no exp claim.
	ErrMissingExpiry = fmt.Errorf("%w: no expiry", ErrInvalidToken)
	// ErrExpired means the token expired longer ago than the leeway.
	ErrExpired = fmt.Errorf("%w: token expired", ErrInvalidToken)
	// ErrNotYetValid means the token's nbf or iat lies further in the future than the leeway.
	ErrNotYetValid = fmt.Errorf("%w: token not yet valid", ErrInvalidToken)
	// ErrInvalidPrincipal means the principal claim lacks a valid type, an organization or an
	// environment.
	ErrInvalidPrincipal = fmt.Errorf("%w: incomplete principal", ErrInvalidToken)
)

// ErrForbidden is the root of every "authenticated, but not allowed" refusal. HTTP callers answer
// 403, gRPC callers codes.PermissionDenied.
var ErrForbidden = errors.New("forbidden")

// Permission errors; each wraps ErrForbidden.
var (
	// ErrInsufficientScope means the token's principal lacks the scope the operation requires.
	ErrInsufficientScope = fmt.Errorf("%w: insufficient scope", ErrForbidden)
	// ErrWrongTenant means the principal belongs to another organization or environment.
	ErrWrongTenant = fmt.Errorf("%w: principal belongs to another tenant", ErrForbidden)
)

// ErrKeySetUnavailable means the issuer's JWKS could not be fetched or parsed, so a token signed
// with a key not yet cached could not be checked. It is the server's problem, not the client's:
// HTTP callers answer 503, gRPC callers codes.Unavailable.
var ErrKeySetUnavailable = errors.New("issuer key set unavailable")

// ErrDiscovery means the issuer's discovery document could not be fetched, parsed or trusted
// (for instance its issuer differs from Options.IssuerURL). NewVerifier returns it.
var ErrDiscovery = errors.New("issuer discovery failed")

// ErrInvalidOptions means Options are unusable (no issuer or audience, a forbidden algorithm, ...).
var ErrInvalidOptions = errors.New("invalid verifier options")

// publicReason returns the client-safe message for err: the message of the most specific sentinel
// err wraps, never err.Error() itself, which may carry library details.
func publicReason(err error) string {
	for _, sentinel := range []error{
		ErrMissingToken, ErrMalformedToken, ErrUnsupportedAlgorithm, ErrUnknownKey,
		ErrInvalidSignature, ErrInvalidIssuer, ErrInvalidAudience, ErrMissingExpiry, ErrExpired,
		ErrNotYetValid, ErrInvalidPrincipal, ErrInvalidToken,
		ErrInsufficientScope, ErrWrongTenant, ErrForbidden,
		ErrKeySetUnavailable,
	} {
		if errors.Is(err, sentinel) {
			return sentinel.Error()
		}
	}
	return "internal error"
}
