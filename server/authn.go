package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/verify"
)

// tokenErrors are the token refusals whose fixed texts are safe to show, most specific first.
var tokenErrors = []error{
	verify.ErrMissingToken, verify.ErrMalformedToken, verify.ErrUnsupportedAlgorithm, verify.ErrUnknownKey,
	verify.ErrInvalidSignature, verify.ErrInvalidIssuer, verify.ErrInvalidAudience, verify.ErrMissingExpiry,
	verify.ErrExpired, verify.ErrNotYetValid, verify.ErrInvalidPrincipal, verify.ErrInvalidToken,
}

// authenticate verifies the request's bearer token and returns its caller.
func (s *Server) authenticate(r *http.Request) (*caller, *Error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, unauthenticated(verify.ErrMissingToken)
	}
	claims, err := s.opts.Verifier.Verify(r.Context(), token)
	if err != nil {
		switch {
		case errors.Is(err, verify.ErrInvalidToken):
			return nil, unauthenticated(err)
		case errors.Is(err, verify.ErrKeySetUnavailable):
			s.opts.Log.Error(err, "Cannot verify tokens: the issuer's key set is unavailable")
			return nil, newError(http.StatusServiceUnavailable, CodeUnavailable, "the token issuer's keys are unavailable; try again shortly")
		default:
			s.opts.Log.Error(err, "Verifying a token failed")
			return nil, newError(http.StatusInternalServerError, CodeInternal, "could not verify the token")
		}
	}
	p := claims.Principal
	return &caller{Principal: p, namespace: p.Namespace(), token: token}, nil
}

// unauthenticated is the 401 of a token refusal; its message is the fixed text of the sentinel,
// never anything from the token.
func unauthenticated(err error) *Error {
	msg := verify.ErrInvalidToken.Error()
	for _, sentinel := range tokenErrors {
		if errors.Is(err, sentinel) {
			msg = sentinel.Error()
			break
		}
	}
	return newError(http.StatusUnauthorized, CodeUnauthenticated, "%s; send Authorization: Bearer <access token of the auth service>", msg)
}

// authorize checks that the caller holds one of scopes (none: any valid token will do).
func authorize(c *caller, scopes []iamv1alpha1.Scope) *Error {
	if len(scopes) == 0 {
		return nil
	}
	for _, sc := range scopes {
		if c.HasScope(sc) {
			return nil
		}
	}
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = string(sc)
	}
	return forbidden("this needs one of the scopes %s (or api:tenant:full / api:organization:full)", strings.Join(names, ", "))
}

// isAdmin reports whether the caller is a tenant or organization admin.
func (c *caller) isAdmin() bool { return c.HasScope(iamv1alpha1.ScopeTenantFull) }

// Ready reports whether the cloud cluster answers.
func (s *Server) Ready(ctx context.Context) error {
	if err := s.opts.Client.List(ctx, &iamv1alpha1.TenantList{}, client.Limit(1)); err != nil {
		return fmt.Errorf("listing tenants: %w", err)
	}
	return nil
}
