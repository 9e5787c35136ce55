// Package principal defines who a token speaks for: a user or a machine of one tenant
// (organization + environment), with scopes and roles, and the JWT claims that carry it.
package principal

import (
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// Type says whether a principal is a person or a machine.
type Type string

// Principal types.
const (
	// User is a person who logged in.
	User Type = "user"
	// Machine is a MachineCredential: an agent, a CI pipeline or an integration.
	Machine Type = "machine"
)

// Principal is who a token speaks for.
type Principal struct {
	// Type is user or machine.
	Type Type `json:"type"`
	// Name is the user's login or the credential's name.
	Name string `json:"name"`
	// Organization is the tenant's organization.
	Organization string `json:"organization"`
	// Environment is the tenant's environment.
	Environment string `json:"environment"`
	// Scopes are the scopes granted to this token.
	Scopes []string `json:"scopes"`
	// Roles are the principal's roles within the tenant.
	Roles []string `json:"roles,omitempty"`
	// ClientID is the MachineCredential's client id (machines only).
	ClientID string `json:"clientId,omitempty"`
	// Agents are the agent identifiers the principal may connect as; empty means any of the tenant.
	Agents []string `json:"agents,omitempty"`
	// Tenants are the environments of the organization a user may switch their token to with the
	// refresh_token grant's tenant parameter (users only).
	Tenants []string `json:"tenants,omitempty"`
}

// MayActAsAgent reports whether the principal may connect to the Agent Hub as the agent id.
func (p Principal) MayActAsAgent(id string) bool {
	return id != "" && p.HasScope(iamv1alpha1.ScopeAgentHubFull) && (len(p.Agents) == 0 || slices.Contains(p.Agents, id))
}

// Namespace is the cloud cluster namespace of the principal's tenant.
func (p Principal) Namespace() string {
	return iamv1alpha1.NamespaceName(p.Organization, p.Environment)
}

// HasScope reports whether the principal may act with scope. api:organization:full and
// api:tenant:full imply every other scope within the tenant; api:organization:full also implies
// api:tenant:full.
func (p Principal) HasScope(scope iamv1alpha1.Scope) bool {
	for _, s := range p.Scopes {
		switch iamv1alpha1.Scope(s) {
		case scope, iamv1alpha1.ScopeOrganizationFull:
			return true
		case iamv1alpha1.ScopeTenantFull:
			if scope != iamv1alpha1.ScopeOrganizationFull {
				return true
			}
		}
	}
	return false
}

// HasRole reports whether the principal holds role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// InTenant reports whether the principal belongs to the tenant of organization and environment.
func (p Principal) InTenant(organization, environment string) bool {
	return p.Organization == organization && p.Environment == environment
}

// ClaimName is the JWT claim that holds the principal.
const ClaimName = "principal"

// Claims are the claims of an Aurora access token: the registered ones (iss, sub, aud, exp, iat,
// nbf, jti), the space-separated OAuth scope and the principal.
type Claims struct {
	jwt.Claims
	// Scope is the space-separated list of granted scopes (RFC 8693 §4.2).
	Scope string `json:"scope,omitempty"`
	// Principal is who the token speaks for.
	Principal Principal `json:"principal"`
}

// ScopeString joins scopes as the OAuth scope parameter does.
func ScopeString(scopes []string) string { return strings.Join(scopes, " ") }

// ParseScope splits an OAuth scope parameter.
func ParseScope(scope string) []string { return strings.Fields(scope) }
