package verify

import (
	"context"

	"github.com/aurora-cd/aurora/auth/principal"
)

// claimsContextKey is the context key under which verified claims travel.
type claimsContextKey struct{}

// NewContext returns a copy of ctx carrying claims.
func NewContext(ctx context.Context, claims *principal.Claims) context.Context {
	return context.WithValue(ctx, claimsContextKey{}, claims)
}

// FromContext returns the claims NewContext put into ctx, and whether there were any.
func FromContext(ctx context.Context) (*principal.Claims, bool) {
	claims, ok := ctx.Value(claimsContextKey{}).(*principal.Claims)
	return claims, ok && claims != nil
}
