package verify

import (
	"fmt"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

// RequireScope returns nil if the claims' principal holds scope, directly or by implication
// (principal.Principal.HasScope), and an error wrapping ErrInsufficientScope otherwise. The empty
// scope requires nothing.
func RequireScope(claims *principal.Claims, scope iamv1alpha1.Scope) error {
	if claims == nil {
		return ErrMissingToken
	}
	if scope == "" || claims.Principal.HasScope(scope) {
		return nil
	}
	return &InsufficientScopeError{Required: scope}
}

// RequireTenant returns nil if the claims' principal belongs to the tenant of organization and
// environment, and an error wrapping ErrWrongTenant otherwise.
func RequireTenant(claims *principal.Claims, organization, environment string) error {
	if claims == nil {
		return ErrMissingToken
	}
	if claims.Principal.InTenant(organization, environment) {
		return nil
	}
	return fmt.Errorf("%w: not a member of organization %q environment %q", ErrWrongTenant, organization, environment)
}

// InsufficientScopeError is the error RequireScope returns; it wraps ErrInsufficientScope and
// names the scope that was required, which the HTTP middleware reports in WWW-Authenticate.
type InsufficientScopeError struct {
	// Required is the scope the principal lacks.
	Required iamv1alpha1.Scope
}

// Error says which scope is missing.
func (e *InsufficientScopeError) Error() string {
	return fmt.Sprintf("%s: requires %s", ErrInsufficientScope, e.Required)
}

// Unwrap returns ErrInsufficientScope.
func (e *InsufficientScopeError) Unwrap() error { return ErrInsufficientScope }
