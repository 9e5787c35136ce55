// Package verify checks the access tokens Aurora's auth service issues and carries the verified
// claims through HTTP handlers and gRPC calls.
//
// A Verifier discovers the issuer (IssuerURL + "/.well-known/openid-configuration"), caches its
// JSON Web Key Set and verifies compact JWS tokens against it: the algorithm must be on an
// asymmetric allow-list (ES256 by default; "none" and HMAC are refused outright), the signature
// must verify with the key named by the token's kid, and the issuer, audience, expiry, not-before
// and principal must check out. A kid the cache does not know triggers at most one JWKS refresh per
// few seconds, so a key the issuer rotates in is picked up while a flood of tokens with made-up kids
// cannot make the verifier hammer the issuer.
//
// Every refusal wraps one of the sentinel errors in errors.go, so that callers can tell a bad token
// (ErrInvalidToken, 401 / codes.Unauthenticated) from a missing permission (ErrForbidden, 403 /
// codes.PermissionDenied) and from an unreachable issuer (ErrKeySetUnavailable, 503 /
// codes.Unavailable). No error message ever contains the token.
//
// Middleware (HTTP) and UnaryServerInterceptor / StreamServerInterceptor (gRPC) put the claims into
// the request context, where FromContext finds them; BearerCredentials sends a token on the
// client side of a gRPC connection.
package verify
