package server_test

import (
	"context"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/server"
)

var _ = Describe("People's tokens: environments and roles", Ordered, func() {
	var deployer, tenantAdmin, orgAdmin string

	BeforeAll(func(ctx context.Context) {
		By("creating people of acme, and one of globex who names acme's environments")
		newPerson(ctx, "dana", iamv1alpha1.UserSpec{Organization: "acme", Tenants: []iamv1alpha1.TenantRoles{
			{Environment: "prod", Roles: []string{iamv1alpha1.RoleDeployer, "release-manager"}}, {Environment: "staging", Roles: []string{"qa-lead"}}}})
		newPerson(ctx, "tess", iamv1alpha1.UserSpec{Organization: "acme", Tenants: []iamv1alpha1.TenantRoles{
			{Environment: "prod", Roles: []string{iamv1alpha1.RoleTenantAdmin, "change-board"}}}})
		newPerson(ctx, "olga", iamv1alpha1.UserSpec{Organization: "acme", OrganizationAdmin: true})
		newPerson(ctx, "gus", iamv1alpha1.UserSpec{Organization: "globex", Tenants: []iamv1alpha1.TenantRoles{
			{Environment: "prod", Roles: []string{"globex-auditor"}}, {Environment: "staging", Roles: []string{iamv1alpha1.RoleDeployer}}}})
		deployer, tenantAdmin, orgAdmin = personToken(ctx, "dana"), personToken(ctx, "tess"), personToken(ctx, "olga")
	})

	It("answers whoami with the person's principal and the tenants they may switch to", func() {
		var who server.WhoAmI
		resp := get("/whoami", deployer)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		resp.into(&who)
		Expect(who.Type).To(Equal(principal.User))
		Expect(who.Name).To(Equal("dana"))
		Expect(who.Namespace).To(Equal(ours.namespace))
		Expect(who.Tenants).To(Equal([]string{"prod", "staging"}))
	})

	It("lists a person's environments from the tenants of their token; every tenant of the organization for an organization admin", func() {
		var envs []server.Environment
		resp := get("/environments", deployer)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		resp.into(&envs)
		Expect(envs).To(ConsistOf(
			server.Environment{ID: "acme:prod", Organization: "acme", Environment: "prod", Namespace: ours.namespace},
			server.Environment{ID: "acme:staging", Organization: "acme", Environment: "staging", Namespace: sibling.namespace}))

		envs = nil
		get("/environments", tenantAdmin).into(&envs)
		Expect(envs).To(ConsistOf(HaveField("ID", "acme:prod")), "a person with one tenant sees that one")

		envs = nil
		get("/environments", orgAdmin).into(&envs)
		Expect(envs).To(ConsistOf(HaveField("ID", "acme:prod"), HaveField("ID", "acme:staging")))
	})

	It("never lists another organization's tenants to a person who names the same environments", func(ctx context.Context) {
		var envs []server.Environment
		get("/environments", personToken(ctx, "gus")).into(&envs)
		Expect(envs).To(ConsistOf(server.Environment{ID: "globex:prod", Organization: "globex", Environment: "prod", Namespace: foreign.namespace}))
	})

	It("lists the system roles of people and the custom roles people hold in the tenant", func() {
		resp := get("/roles", tenantAdmin)
		Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
		var roles []server.Role
		resp.into(&roles)
		Expect(roles).To(ContainElements(
			server.Role{ID: "organization-admin", Name: "Organization Admin", SystemDefined: true, Grants: []server.Grant{{Type: "api", Resource: "organization", Permission: "full"}}},
			server.Role{ID: "tenant-admin", Name: "Tenant Admin", SystemDefined: true, Grants: []server.Grant{{Type: "api", Resource: "tenant", Permission: "full"}}},
			server.Role{ID: "deployer", Name: "Deployer", SystemDefined: true, Grants: []server.Grant{{Type: "api", Resource: "deployment", Permission: "full"}}},
			server.Role{ID: "release-manager", Name: "release-manager", Tenant: "prod", Grants: []server.Grant{}},
			server.Role{ID: "change-board", Name: "change-board", Tenant: "prod", Grants: []server.Grant{}},
		))
		var ids []string
		for _, r := range roles {
			ids = append(ids, r.ID)
		}
		Expect(ids).NotTo(ContainElements("qa-lead", "globex-auditor"), "roles of another tenant or organization")
		seen := map[string]bool{}
		for _, id := range ids {
			Expect(seen).NotTo(HaveKey(id), "each role once")
			seen[id] = true
		}

		By("refusing a person without a tenant scope")
		Expect(get("/roles", deployer).status).To(Equal(http.StatusForbidden))
	})
})
