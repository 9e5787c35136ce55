package users

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
)

func TestRolesScopes(t *testing.T) {
	for _, tc := range []struct {
		roles []string
		want  []string
	}{
		{nil, nil},
		{[]string{"release-manager"}, nil},
		{[]string{"deployer"}, []string{"api:deployment:full"}},
		{[]string{"deployer", "tenant-admin"}, []string{"api:tenant:full", "api:deployment:full"}},
		{[]string{"organization-admin", "custom"}, []string{"api:organization:full"}},
	} {
		if got := RolesScopes(tc.roles); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RolesScopes(%v) = %v, want %v", tc.roles, got, tc.want)
		}
	}
}

func TestIdentityPrincipal(t *testing.T) {
	jane := Identity{Name: "jane", Organization: "acme", Tenants: []iamv1alpha1.TenantRoles{
		{Environment: "prod", Roles: []string{"deployer"}}, {Environment: "staging", Roles: []string{"tenant-admin", "qa"}}}}
	admin := Identity{Name: "root", Organization: "acme", OrganizationAdmin: true,
		Tenants: []iamv1alpha1.TenantRoles{{Environment: "dev", Roles: []string{"deployer"}}}}
	for _, tc := range []struct {
		name    string
		id      Identity
		env     string
		want    principal.Principal
		wantErr error
	}{
		{name: "the first tenant by default", id: jane, want: principal.Principal{Type: principal.User, Name: "jane", Organization: "acme",
			Environment: "prod", Roles: []string{"deployer"}, Scopes: []string{"api:deployment:full"}, Tenants: []string{"prod", "staging"}}},
		{name: "another tenant of the person", id: jane, env: "staging", want: principal.Principal{Type: principal.User, Name: "jane",
			Organization: "acme", Environment: "staging", Roles: []string{"tenant-admin", "qa"}, Scopes: []string{"api:tenant:full"},
			Tenants: []string{"prod", "staging"}}},
		{name: "a tenant not the person's", id: jane, env: "prod2", wantErr: ErrTenantNotAllowed},
		{name: "no tenant at all", id: Identity{Name: "x", Organization: "acme"}, wantErr: ErrNoTenant},
		{name: "an organization admin", id: admin, want: principal.Principal{Type: principal.User, Name: "root", Organization: "acme",
			Environment: "dev", Roles: []string{"organization-admin", "deployer"}, Scopes: []string{"api:organization:full", "api:deployment:full"},
			Tenants: []string{"dev"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.id.Principal(tc.env)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMapGroupsReadsWhatGroupsWrites(t *testing.T) {
	admin, tenants, ignored := MapGroups([]string{"prod:deployer", "organization-admin", "staging:tenant-admin", "prod:qa",
		"prod:deployer", "Engineering", "Prod:x", ":x", "prod:", "-bad:x", "prod:viewer,release-manager"})
	if !admin {
		t.Error("organization-admin was not read")
	}
	want := []iamv1alpha1.TenantRoles{{Environment: "prod", Roles: []string{"deployer", "qa"}}, {Environment: "staging", Roles: []string{"tenant-admin"}}}
	if !reflect.DeepEqual(tenants, want) {
		t.Errorf("tenants %+v, want %+v", tenants, want)
	}
	if wantIgnored := []string{"Engineering", "Prod:x", ":x", "prod:", "-bad:x", "prod:viewer,release-manager"}; !reflect.DeepEqual(ignored, wantIgnored) {
		t.Errorf("ignored %v, want %v", ignored, wantIgnored)
	}
	id := Identity{OrganizationAdmin: true, Tenants: want}
	admin2, tenants2, _ := MapGroups(id.Groups())
	if !admin2 || !reflect.DeepEqual(tenants2, want) {
		t.Errorf("MapGroups(Groups()) = %v %+v, want the identity back", admin2, tenants2)
	}
}

func TestWithOrganizationTenants(t *testing.T) {
	id := Identity{OrganizationAdmin: true, Tenants: []iamv1alpha1.TenantRoles{{Environment: "prod", Roles: []string{"deployer"}}}}
	got := id.WithOrganizationTenants([]string{"staging", "prod", "dev"})
	if want := []string{"prod", "dev", "staging"}; !reflect.DeepEqual(got.Environments(), want) {
		t.Errorf("environments %v, want %v (named first, then the others sorted)", got.Environments(), want)
	}
	if len(id.Tenants) != 1 {
		t.Error("the receiver changed")
	}
	notAdmin := Identity{Tenants: id.Tenants}
	if got := notAdmin.WithOrganizationTenants([]string{"dev"}); len(got.Tenants) != 1 {
		t.Errorf("a person who is no organization admin got %v", got.Environments())
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{"jane": true, "jane.doe": true, "j-2": true, "": false, "Jane": false,
		"jane doe": false, "jane@acme": false, "-jane": false, strings.Repeat("j", 63): true, strings.Repeat("j", 64): false} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
