package users

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

// Identity is a person who logged in: from the built-in directory (a User) or from an
// organization's upstream identity provider.
type Identity struct {
	// Name is the login: the User's name, or the upstream user's email (or subject).
	Name string `json:"name"`
	// Organization is the person's organization.
	Organization string `json:"organization"`
	// DisplayName and Email describe the person.
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
	// OrganizationAdmin grants every tenant of the organization with api:organization:full.
	OrganizationAdmin bool `json:"organizationAdmin,omitempty"`
	// Tenants are the tenants the person may use with their roles, the default first. For an
	// organization admin the directory adds every other tenant of the organization.
	Tenants []iamv1alpha1.TenantRoles `json:"tenants,omitempty"`
	// Upstream is the issuer of the upstream identity provider the person logged in with; empty for
	// the built-in directory.
	Upstream string `json:"upstream,omitempty"`
}

// Errors of choosing a tenant.
var (
	// ErrNoTenant means the person may use no tenant at all.
	ErrNoTenant = errors.New("the user may use no tenant")
	// ErrTenantNotAllowed means the person may not use the tenant asked for.
	ErrTenantNotAllowed = errors.New("the user may not use this tenant")
)

// Environments are the environments of the tenants the person may use, the default first.
func (id Identity) Environments() []string {
	out := make([]string, 0, len(id.Tenants))
	for _, t := range id.Tenants {
		if !slices.Contains(out, t.Environment) {
			out = append(out, t.Environment)
		}
	}
	return out
}

// Principal is the principal of the person's token in environment; the first tenant when
// environment is empty. Roles are the person's roles there (organization-admin first for an
// organization admin), scopes follow from the roles (RolesScopes), and Tenants lists every
// environment the person may switch to.
func (id Identity) Principal(environment string) (principal.Principal, error) {
	if len(id.Tenants) == 0 {
		return principal.Principal{}, ErrNoTenant
	}
	if environment == "" {
		environment = id.Tenants[0].Environment
	}
	i := slices.IndexFunc(id.Tenants, func(t iamv1alpha1.TenantRoles) bool { return t.Environment == environment })
	if i < 0 {
		return principal.Principal{}, fmt.Errorf("%w: %q is not among %s", ErrTenantNotAllowed, environment, strings.Join(id.Environments(), ", "))
	}
	var roles []string
	if id.OrganizationAdmin {
		roles = append(roles, iamv1alpha1.RoleOrganizationAdmin)
	}
	for _, r := range id.Tenants[i].Roles {
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return principal.Principal{
		Type: principal.User, Name: id.Name, Organization: id.Organization, Environment: environment,
		Roles: roles, Scopes: RolesScopes(roles), Tenants: id.Environments(),
	}, nil
}

// roleScopes maps the system roles to the scope each grants.
var roleScopes = []struct {
	role  string
	scope iamv1alpha1.Scope
}{
	{iamv1alpha1.RoleOrganizationAdmin, iamv1alpha1.ScopeOrganizationFull},
	{iamv1alpha1.RoleTenantAdmin, iamv1alpha1.ScopeTenantFull},
	{iamv1alpha1.RoleDeployer, iamv1alpha1.ScopeDeploymentFull},
}

// RolesScopes returns the scopes the roles grant, broadest first: organization-admin →
// api:organization:full, tenant-admin → api:tenant:full, deployer → api:deployment:full. Custom
// roles grant no scope.
func RolesScopes(roles []string) []string {
	var scopes []string
	for _, rs := range roleScopes {
		if slices.Contains(roles, rs.role) {
			scopes = append(scopes, string(rs.scope))
		}
	}
	return scopes
}

// Groups are the person's roles as group names for an ID token: organization-admin, and
// <environment>:<role> for each role in each tenant. MapGroups reads them back.
func (id Identity) Groups() []string {
	var groups []string
	if id.OrganizationAdmin {
		groups = append(groups, iamv1alpha1.RoleOrganizationAdmin)
	}
	for _, t := range id.Tenants {
		for _, r := range t.Roles {
			groups = append(groups, t.Environment+":"+r)
		}
	}
	return groups
}

// MapGroups turns the role or group names an upstream identity provider gives a person into their
// roles in the organization: organization-admin makes an organization admin, <environment>:<role>
// gives role in that tenant (tenants in the order first named). Other names are ignored and
// returned, so that the caller can log them.
func MapGroups(groups []string) (orgAdmin bool, tenants []iamv1alpha1.TenantRoles, ignored []string) {
	for _, g := range groups {
		if g == iamv1alpha1.RoleOrganizationAdmin {
			orgAdmin = true
			continue
		}
		env, role, ok := strings.Cut(g, ":")
		// A comma would split into more roles where roles travel joined (a Judgment's author roles).
		if !ok || !isDNSLabel(env, 27) || role == "" || len(role) > 63 || strings.ContainsAny(role, ", \t\r\n") {
			ignored = append(ignored, g)
			continue
		}
		i := slices.IndexFunc(tenants, func(t iamv1alpha1.TenantRoles) bool { return t.Environment == env })
		if i < 0 {
			tenants = append(tenants, iamv1alpha1.TenantRoles{Environment: env})
			i = len(tenants) - 1
		}
		if !slices.Contains(tenants[i].Roles, role) {
			tenants[i].Roles = append(tenants[i].Roles, role)
		}
	}
	return orgAdmin, tenants, ignored
}

// WithOrganizationTenants returns the identity with the environments of an organization admin's
// organization appended (sorted, with no roles of their own) after the tenants it names.
func (id Identity) WithOrganizationTenants(environments []string) Identity {
	if !id.OrganizationAdmin {
		return id
	}
	out := id
	out.Tenants = slices.Clone(id.Tenants)
	sorted := slices.Clone(environments)
	slices.Sort(sorted)
	for _, env := range sorted {
		if !slices.ContainsFunc(out.Tenants, func(t iamv1alpha1.TenantRoles) bool { return t.Environment == env }) {
			out.Tenants = append(out.Tenants, iamv1alpha1.TenantRoles{Environment: env})
		}
	}
	return out
}

// isDNSLabel reports whether s is a DNS label of at most max characters.
func isDNSLabel(s string, max int) bool {
	if s == "" || len(s) > max || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
