package server

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

func tenantOf(org, env, display string) iamv1alpha1.Tenant {
	return iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: org + "-" + env},
		Spec: iamv1alpha1.TenantSpec{Organization: org, Environment: env, DisplayName: display}}
}

func TestEnvironmentsOf(t *testing.T) {
	tenants := []iamv1alpha1.Tenant{tenantOf("acme", "prod", "Production"), tenantOf("acme", "staging", ""), tenantOf("acme", "dev", ""), tenantOf("globex", "prod", "")}
	env := func(org, e, display string) string { return org + ":" + e + "/" + display }
	tests := []struct {
		name string
		p    principal.Principal
		want []string
	}{
		{name: "a machine: its own tenant",
			p:    principal.Principal{Type: principal.Machine, Organization: "acme", Environment: "prod", Scopes: []string{"api:tenant:full"}, Tenants: []string{"staging"}},
			want: []string{env("acme", "prod", "Production")}},
		{name: "a user: the tenants of its tenants claim, of its organization",
			p:    principal.Principal{Type: principal.User, Organization: "acme", Environment: "prod", Scopes: []string{"api:deployment:full"}, Tenants: []string{"prod", "staging"}},
			want: []string{env("acme", "prod", "Production"), env("acme", "staging", "")}},
		{name: "a user of a tenant whose Tenant does not exist yet: its own still",
			p:    principal.Principal{Type: principal.User, Organization: "acme", Environment: "qa", Tenants: []string{"qa", "dev"}},
			want: []string{env("acme", "dev", ""), env("acme", "qa", "")}},
		{name: "an organization admin: every tenant of the organization",
			p:    principal.Principal{Type: principal.User, Organization: "acme", Environment: "prod", Scopes: []string{"api:organization:full"}, Tenants: []string{"prod"}},
			want: []string{env("acme", "dev", ""), env("acme", "prod", "Production"), env("acme", "staging", "")}},
		{name: "never another organization's, even when named",
			p:    principal.Principal{Type: principal.User, Organization: "globex", Environment: "prod", Tenants: []string{"prod", "staging"}},
			want: []string{env("globex", "prod", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range EnvironmentsOf(tt.p, tenants) {
				if e.Namespace != iamv1alpha1.NamespaceName(e.Organization, e.Environment) || e.ID != e.Organization+":"+e.Environment {
					t.Errorf("environment %+v: id or namespace does not follow organization and environment", e)
				}
				got = append(got, e.ID+"/"+e.DisplayName)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EnvironmentsOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCustomRoles(t *testing.T) {
	user := func(org string, tenants ...iamv1alpha1.TenantRoles) iamv1alpha1.User {
		return iamv1alpha1.User{Spec: iamv1alpha1.UserSpec{Organization: org, Tenants: tenants}}
	}
	people := []iamv1alpha1.User{
		user("acme", iamv1alpha1.TenantRoles{Environment: "prod", Roles: []string{"deployer", "release-manager"}}, iamv1alpha1.TenantRoles{Environment: "staging", Roles: []string{"qa-lead"}}),
		user("acme", iamv1alpha1.TenantRoles{Environment: "prod", Roles: []string{"approver", "release-manager", "tenant-admin"}}),
		user("globex", iamv1alpha1.TenantRoles{Environment: "prod", Roles: []string{"globex-only"}}),
	}
	tests := []struct {
		name  string
		env   string
		named [][]string
		want  []string
	}{
		{name: "the roles people hold in the tenant, once each, without the system roles", env: "prod", want: []string{"approver", "release-manager"}},
		{name: "with the credentials' and the caller's", env: "prod", named: [][]string{{"ci", ""}, {"organization-admin", "approver"}}, want: []string{"approver", "ci", "release-manager"}},
		{name: "another tenant of the organization", env: "staging", want: []string{"qa-lead"}},
		{name: "a tenant nobody holds roles in", env: "dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CustomRoles("acme", tt.env, people, tt.named...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CustomRoles = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSystemRoles(t *testing.T) {
	var got []string
	for _, r := range SystemRoles {
		if !r.SystemDefined || len(r.Grants) != 1 {
			t.Errorf("system role %+v: want systemDefined and one grant", r)
		}
		got = append(got, r.ID+"="+r.Grants[0].Type+":"+r.Grants[0].Resource+":"+r.Grants[0].Permission)
	}
	want := []string{"organization-admin=api:organization:full", "tenant-admin=api:tenant:full", "deployer=api:deployment:full"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SystemRoles = %v, want %v", got, want)
	}
}
