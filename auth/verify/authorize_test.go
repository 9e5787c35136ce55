package verify

import (
	"context"
	"errors"
	"testing"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

func TestRequireScope(t *testing.T) {
	tests := []struct {
		name     string
		scopes   []string
		required iamv1alpha1.Scope
		want     error
	}{
		{"exact scope", []string{"api:deployment:full"}, iamv1alpha1.ScopeDeploymentFull, nil},
		{"implied by tenant:full", []string{"api:tenant:full"}, iamv1alpha1.ScopeDeploymentFull, nil},
		{"implied by organization:full", []string{"api:organization:full"}, iamv1alpha1.ScopeTenantFull, nil},
		{"nothing required", nil, "", nil},
		{"other scope", []string{"api:agentHub:full"}, iamv1alpha1.ScopeDeploymentFull, ErrInsufficientScope},
		{"tenant:full is not organization:full", []string{"api:tenant:full"}, iamv1alpha1.ScopeOrganizationFull, ErrInsufficientScope},
		{"no scopes", nil, iamv1alpha1.ScopeInfrastructureRead, ErrInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := &principal.Claims{Principal: principal.Principal{Scopes: tt.scopes}}
			err := RequireScope(claims, tt.required)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("RequireScope = %v, want %v", err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrForbidden) {
				t.Errorf("%v does not wrap ErrForbidden", err)
			}
			var scopeErr *InsufficientScopeError
			if err != nil && (!errors.As(err, &scopeErr) || scopeErr.Required != tt.required) {
				t.Errorf("%v does not name the required scope %s", err, tt.required)
			}
		})
	}
	if err := RequireScope(nil, iamv1alpha1.ScopeDeploymentFull); !errors.Is(err, ErrMissingToken) {
		t.Errorf("RequireScope(nil) = %v, want ErrMissingToken", err)
	}
}

func TestRequireTenant(t *testing.T) {
	claims := &principal.Claims{Principal: principal.Principal{Organization: "acme", Environment: "prod"}}
	tests := []struct {
		name, organization, environment string
		want                            error
	}{
		{"same tenant", "acme", "prod", nil},
		{"other environment", "acme", "staging", ErrWrongTenant},
		{"other organization", "globex", "prod", ErrWrongTenant},
		{"empty tenant", "", "", ErrWrongTenant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := RequireTenant(claims, tt.organization, tt.environment)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("RequireTenant = %v, want %v", err, tt.want)
			}
			if err != nil && (!errors.Is(err, ErrForbidden) || errors.Is(err, ErrInvalidToken)) {
				t.Errorf("%v must be a forbidden, not an invalid-token, error", err)
			}
		})
	}
	if err := RequireTenant(nil, "acme", "prod"); !errors.Is(err, ErrMissingToken) {
		t.Errorf("RequireTenant(nil) = %v, want ErrMissingToken", err)
	}
}

func TestContextRoundTrip(t *testing.T) {
	claims := &principal.Claims{Principal: principal.Principal{Name: "deployer"}}
	tests := []struct {
		name string
		ctx  context.Context
		want *principal.Claims
	}{
		{"claims set", NewContext(context.Background(), claims), claims},
		{"nothing set", context.Background(), nil},
		{"nil claims set", NewContext(context.Background(), nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromContext(tt.ctx)
			if got != tt.want || ok != (tt.want != nil) {
				t.Errorf("FromContext = %v, %v; want %v, %v", got, ok, tt.want, tt.want != nil)
			}
		})
	}
}
