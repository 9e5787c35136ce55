package server

import (
	"fmt"
	"net/http"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
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

// SystemRoles are the roles every tenant knows, one per scope.
var SystemRoles = []Role{
	{ID: "organization-admin", Name: "Organization Admin", SystemDefined: true, Grants: []Grant{{"api", "organization", "full"}}},
	{ID: "tenant-admin", Name: "Tenant Admin", SystemDefined: true, Grants: []Grant{{"api", "tenant", "full"}}},
	{ID: "deployments-full-access", Name: "Deployments Full Access", SystemDefined: true, Grants: []Grant{{"api", "deployment", "full"}}},
	{ID: "remote-network-agent", Name: "Remote Network Agent", SystemDefined: true, Grants: []Grant{{"api", "agentHub", "full"}}},
	{ID: "infrastructure-reader", Name: "Infrastructure Reader", SystemDefined: true, Grants: []Grant{{"read", "infrastructure", "data"}}},
}

// listRoles is GET /roles: the system roles, then the tenant's custom roles (every role its
// MachineCredentials and the caller hold), by name.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, c *caller) error {
	creds := &iamv1alpha1.MachineCredentialList{}
	if err := s.opts.Client.List(r.Context(), creds, client.InNamespace(c.namespace)); err != nil {
		return fmt.Errorf("listing MachineCredentials in %s: %w", c.namespace, err)
	}
	names := slices.Clone(c.Roles)
	for _, mc := range creds.Items {
		names = append(names, mc.Spec.Roles...)
	}
	slices.Sort(names)
	roles := slices.Clone(SystemRoles)
	for _, n := range slices.Compact(names) {
		if n != "" {
			roles = append(roles, Role{ID: n, Name: n, Tenant: c.Environment, Grants: []Grant{}})
		}
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

// listEnvironments is GET /environments: the caller's own tenant, and with api:organization:full
// every tenant of its organization.
func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, c *caller) error {
	tenants := &iamv1alpha1.TenantList{}
	if err := s.opts.Client.List(r.Context(), tenants); err != nil {
		return fmt.Errorf("listing Tenants: %w", err)
	}
	orgAdmin := c.HasScope(iamv1alpha1.ScopeOrganizationFull)
	out := []Environment{}
	own := false
	for _, t := range tenants.Items {
		if t.Spec.Organization != c.Organization || (!orgAdmin && t.Spec.Environment != c.Environment) {
			continue
		}
		own = own || t.Spec.Environment == c.Environment
		out = append(out, Environment{ID: t.Spec.Organization + ":" + t.Spec.Environment, Organization: t.Spec.Organization,
			Environment: t.Spec.Environment, Namespace: iamv1alpha1.NamespaceName(t.Spec.Organization, t.Spec.Environment), DisplayName: t.Spec.DisplayName})
	}
	if !own {
		out = append(out, Environment{ID: c.Organization + ":" + c.Environment, Organization: c.Organization, Environment: c.Environment, Namespace: c.namespace})
	}
	slices.SortFunc(out, func(a, b Environment) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	writeJSON(w, http.StatusOK, out)
	return nil
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
