package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/auth/users"
)

// Role is an entry of GET /roles.
type Role struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Tenant        string  `json:"tenant,omitempty"`
	SystemDefined bool    `json:"systemDefined"`
	Grants        []Grant `json:"grants"`
}

// Grant is one scope a role grants, split as type:resource:permission.
type Grant struct {
	Type       string `json:"type"`
	Resource   string `json:"resource"`
	Permission string `json:"permission"`
}

// SystemRoles are the roles every tenant knows: the system roles of people (auth/users), each
// with the scope it grants.
var SystemRoles = systemRoles()

// systemRoleNames are the display names of the system roles.
var systemRoleNames = map[string]string{
	iamv1alpha1.RoleOrganizationAdmin: "Organization Admin",
	iamv1alpha1.RoleTenantAdmin:       "Tenant Admin",
	iamv1alpha1.RoleDeployer:          "Deployer",
}

// systemRoles builds SystemRoles from the roles auth/users knows and the scopes they grant.
func systemRoles() []Role {
	var out []Role
	for _, id := range []string{iamv1alpha1.RoleOrganizationAdmin, iamv1alpha1.RoleTenantAdmin, iamv1alpha1.RoleDeployer} {
		r := Role{ID: id, Name: systemRoleNames[id], SystemDefined: true, Grants: []Grant{}}
		for _, scope := range users.RolesScopes([]string{id}) {
			r.Grants = append(r.Grants, grantOf(scope))
		}
		out = append(out, r)
	}
	return out
}

// grantOf splits a scope type:resource:permission into a Grant.
func grantOf(scope string) Grant {
	parts := strings.SplitN(scope, ":", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	return Grant{Type: parts[0], Resource: parts[1], Permission: parts[2]}
}

// CustomRoles returns the custom roles of a tenant, sorted and once each: the roles the Users of the
// tenant (organization and environment) hold there, and the other roles named (the tenant's
// MachineCredentials', the caller's). System roles and empty names are left out.
func CustomRoles(organization, environment string, people []iamv1alpha1.User, named ...[]string) []string {
	var names []string
	for _, u := range people {
		if u.Spec.Organization != organization {
			continue
		}
		for _, t := range u.Spec.Tenants {
			if t.Environment == environment {
				names = append(names, t.Roles...)
			}
		}
	}
	for _, n := range named {
		names = append(names, n...)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" || systemRoleNames[n] != "" })
	slices.Sort(names)
	return slices.Compact(names)
}

// listRoles is GET /roles: the system roles, then the tenant's custom roles (CustomRoles) by name.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, c *caller) error {
	creds := &iamv1alpha1.MachineCredentialList{}
	if err := s.opts.Client.List(r.Context(), creds, client.InNamespace(c.namespace)); err != nil {
		return fmt.Errorf("listing MachineCredentials in %s: %w", c.namespace, err)
	}
	people := &iamv1alpha1.UserList{}
	if err := s.opts.Client.List(r.Context(), people); err != nil {
		return fmt.Errorf("listing Users: %w", err)
	}
	named := [][]string{c.Roles}
	for _, mc := range creds.Items {
		named = append(named, mc.Spec.Roles)
	}
	roles := slices.Clone(SystemRoles)
	for _, n := range CustomRoles(c.Organization, c.Environment, people.Items, named...) {
		roles = append(roles, Role{ID: n, Name: n, Tenant: c.Environment, Grants: []Grant{}})
	}
	writeJSON(w, http.StatusOK, roles)
	return nil
}

// Environment is an entry of GET /environments: a tenant the caller may use.
type Environment struct {
	ID           string `json:"id"`
	Organization string `json:"organization"`
	Environment  string `json:"environment"`
	Namespace    string `json:"namespace"`
	DisplayName  string `json:"displayName,omitempty"`
}

// listEnvironments is GET /environments: the tenants of the caller's organization it may use
// (MayUseEnvironment), its own always.
func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, c *caller) error {
	tenants := &iamv1alpha1.TenantList{}
	if err := s.opts.Client.List(r.Context(), tenants); err != nil {
		return fmt.Errorf("listing Tenants: %w", err)
	}
	writeJSON(w, http.StatusOK, EnvironmentsOf(c.Principal, tenants.Items))
	return nil
}

// MayUseEnvironment reports whether the principal may use the environment of its organization: its
// own; with api:organization:full every one; a user also those of its tenants claim (the
// environments it may switch its token to).
func MayUseEnvironment(p principal.Principal, environment string) bool {
	switch {
	case environment == p.Environment, p.HasScope(iamv1alpha1.ScopeOrganizationFull):
		return true
	case p.Type == principal.User:
		return slices.Contains(p.Tenants, environment)
	}
	return false
}

// EnvironmentsOf returns the environments of GET /environments, by id: the Tenants of the
// principal's organization it may use, and its own tenant even before its Tenant resource exists.
func EnvironmentsOf(p principal.Principal, tenants []iamv1alpha1.Tenant) []Environment {
	out := []Environment{}
	own := false
	for _, t := range tenants {
		if t.Spec.Organization != p.Organization || !MayUseEnvironment(p, t.Spec.Environment) {
			continue
		}
		own = own || t.Spec.Environment == p.Environment
		out = append(out, Environment{ID: t.Spec.Organization + ":" + t.Spec.Environment, Organization: t.Spec.Organization,
			Environment: t.Spec.Environment, Namespace: iamv1alpha1.NamespaceName(t.Spec.Organization, t.Spec.Environment), DisplayName: t.Spec.DisplayName})
	}
	if !own {
		out = append(out, Environment{ID: p.Organization + ":" + p.Environment, Organization: p.Organization, Environment: p.Environment, Namespace: p.Namespace()})
	}
	slices.SortFunc(out, func(a, b Environment) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// WhoAmI is the answer of GET /whoami: the caller's principal and tenant namespace.
type WhoAmI struct {
	principal.Principal
	Namespace string `json:"namespace"`
}

// whoami is GET /whoami.
func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, c *caller) error {
	p := c.Principal
	if p.Scopes == nil {
		p.Scopes = []string{}
	}
	writeJSON(w, http.StatusOK, WhoAmI{Principal: p, Namespace: c.namespace})
	return nil
}
