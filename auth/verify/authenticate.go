package verify

import (
	"context"
	"fmt"
	"strings"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// bearerScheme is the authorization scheme of RFC 6750.
const bearerScheme = "Bearer"

// authenticate verifies rawToken, checks that its principal holds required and returns the
// context carrying its claims. It is the part the HTTP middleware and the gRPC interceptors share.
func (v *Verifier) authenticate(ctx context.Context, rawToken string, required iamv1alpha1.Scope) (context.Context, error) {
	claims, err := v.Verify(ctx, rawToken)
	if err != nil {
		return ctx, err
	}
	if err := RequireScope(claims, required); err != nil {
		return ctx, err
	}
	return NewContext(ctx, claims), nil
}

// tokenFromAuthorization returns the token of an "Authorization: Bearer <token>" value. The scheme
// is case-insensitive (RFC 7235 §2.1). An empty value, another scheme or an empty token count as no
// token (ErrMissingToken): RFC 6750 §3.1 treats a request without bearer credentials as lacking
// authentication rather than as carrying an invalid token.
func tokenFromAuthorization(authorization string) (string, error) {
	scheme, token, found := strings.Cut(strings.TrimSpace(authorization), " ")
	if !found || !strings.EqualFold(scheme, bearerScheme) {
		return "", ErrMissingToken
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", ErrMissingToken
	}
	if strings.ContainsAny(token, " \t") {
		return "", fmt.Errorf("%w: authorization value holds more than a token", ErrMalformedToken)
	}
	return token, nil
}
