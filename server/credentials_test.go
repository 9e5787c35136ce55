package server_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/server"
)

var _ = Describe("Credentials, roles, environments, whoami and agents", Ordered, func() {
	var adminToken, deployerToken string

	BeforeAll(func(ctx context.Context) {
		adminToken = token(newCredential(ctx, ours, "cred-admin", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull}, "release-manager"))
		deployerToken = token(newCredential(ctx, ours, "cred-deployer", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull, iamv1alpha1.ScopeInfrastructureRead}))
	})

	It("creates a credential and shows its secret once; the secret gets tokens", func() {
		resp := postJSON("/credentials", adminToken, server.CredentialRequest{Name: "ci-pipeline", Scopes: []string{"api:deployment:full"}, Roles: []string{"approver"}})
		Expect(resp.status).To(Equal(http.StatusCreated), string(resp.body))
		var created server.Credential
		resp.into(&created)
		Expect(created.Name).To(Equal("ci-pipeline"))
		Expect(created.ClientID).NotTo(BeEmpty())
		Expect(created.ClientSecret).NotTo(BeEmpty())
		Expect(created.CreatedBy).To(Equal("cred-admin"))
		Expect(created.Scopes).To(Equal([]string{"api:deployment:full"}))

		tok := token(credential{tenant: ours, name: "ci-pipeline", clientID: created.ClientID, secret: created.ClientSecret})
		var who server.WhoAmI
		get("/whoami", tok).into(&who)
		Expect(who.Name).To(Equal("ci-pipeline"))
		Expect(who.Roles).To(Equal([]string{"approver"}))

		resp = get("/credentials/ci-pipeline", adminToken)
		Expect(resp.status).To(Equal(http.StatusOK))
		Expect(string(resp.body)).NotTo(ContainSubstring(created.ClientSecret))
		Expect(string(resp.body)).NotTo(ContainSubstring("clientSecret"))
		resp = get("/credentials", adminToken)
		Expect(resp.status).To(Equal(http.StatusOK))
		Expect(string(resp.body)).NotTo(ContainSubstring(created.ClientSecret))
		var page struct {
			Items []server.Credential `json:"items"`
		}
		resp.into(&page)
		Expect(page.Items).To(ContainElement(HaveField("Name", "ci-pipeline")))

		Expect(postJSON("/credentials", adminToken, server.CredentialRequest{Name: "ci-pipeline", Scopes: []string{"api:deployment:full"}}).status).To(Equal(http.StatusConflict))
	})

	It("refuses a bad credential with a detail per field, and scopes the caller does not hold", func() {
		resp := postJSON("/credentials", adminToken, server.CredentialRequest{Name: "Bad Name", Scopes: []string{"api:everything:full", "api:organization:full"}, ExpiresAtIso8601: "tomorrow"})
		Expect(resp.status).To(Equal(http.StatusBadRequest), string(resp.body))
		Expect(resp.errorBody().Details).To(ConsistOf(
			HaveField("Field", "name"), HaveField("Field", "scopes[0]"), HaveField("Field", "scopes[1]"), HaveField("Field", "expiresAtIso8601")))
		Expect(postJSON("/credentials", deployerToken, server.CredentialRequest{Name: "x", Scopes: []string{"api:deployment:full"}}).status).To(Equal(http.StatusForbidden))
	})

	It("deletes a credential; its secret no longer gets tokens", func() {
		resp := postJSON("/credentials", adminToken, server.CredentialRequest{Name: "short-lived", Scopes: []string{"read:infrastructure:data"}})
		Expect(resp.status).To(Equal(http.StatusCreated), string(resp.body))
		var created server.Credential
		resp.into(&created)
		short := credential{tenant: ours, name: "short-lived", clientID: created.ClientID, secret: created.ClientSecret}
		Expect(tokenStatus(short)).To(Equal(http.StatusOK))
		Expect(call(http.MethodDelete, "/credentials/short-lived", adminToken, nil, "").status).To(Equal(http.StatusNoContent))
		Expect(get("/credentials/short-lived", adminToken).status).To(Equal(http.StatusNotFound))
		Expect(call(http.MethodDelete, "/credentials/short-lived", adminToken, nil, "").status).To(Equal(http.StatusNotFound))
		Eventually(func() int { return tokenStatus(short) }).WithTimeout(10 * time.Second).Should(Equal(http.StatusUnauthorized))
	})

	It("lists the system roles and the tenant's custom ones", func() {
		resp := get("/roles", adminToken)
		Expect(resp.status).To(Equal(http.StatusOK))
		var roles []server.Role
		resp.into(&roles)
		Expect(roles).To(ContainElement(HaveField("Name", "Tenant Admin")))
		Expect(roles).To(ContainElement(SatisfyAll(HaveField("Name", "release-manager"), HaveField("SystemDefined", false))))
		Expect(get("/roles", deployerToken).status).To(Equal(http.StatusForbidden))
	})

	It("lists the caller's environments: its own tenant, or every tenant of its organization for an organization admin", func(ctx context.Context) {
		var envs []server.Environment
		get("/environments", deployerToken).into(&envs)
		Expect(envs).To(ConsistOf(server.Environment{ID: "acme:prod", Organization: "acme", Environment: "prod", Namespace: ours.namespace}))
		orgAdmin := token(newCredential(ctx, ours, "org-admin", []iamv1alpha1.Scope{iamv1alpha1.ScopeOrganizationFull}))
		envs = nil
		get("/environments", orgAdmin).into(&envs)
		Expect(envs).To(ConsistOf(HaveField("ID", "acme:prod"), HaveField("ID", "acme:staging")))
	})

	It("answers whoami with the token's principal", func() {
		var who server.WhoAmI
		get("/whoami", deployerToken).into(&who)
		Expect(who.Type).To(Equal(principal.Machine))
		Expect(who.Organization).To(Equal("acme"))
		Expect(who.Environment).To(Equal("prod"))
		Expect(who.Namespace).To(Equal(ours.namespace))
		Expect(who.Scopes).To(ConsistOf("api:deployment:full", "read:infrastructure:data"))
	})

	It("lists the tenant's agents and answers an agent's inventory from the Agent Hub, as the caller's tenant", func(ctx context.Context) {
		agentToken := token(newCredential(ctx, ours, "edge-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}))
		connectAgent("edge", agentToken, &tunnelv1.Inventory{ObservedAtUnixNano: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(),
			Namespaces: []string{"default", "web"}, Workloads: []*tunnelv1.Workload{
				{Kind: "Deployment", Namespace: "web", Name: "web", Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2, Images: []string{"nginx:1.27"}, Ready: true},
				{Kind: "StatefulSet", Namespace: "web", Name: "db", Replicas: 1},
			}})

		var agents []server.ConnectedAgent
		Eventually(func(g Gomega) {
			resp := get("/identity/connected-agents", deployerToken)
			g.Expect(resp.status).To(Equal(http.StatusOK), string(resp.body))
			agents = nil
			resp.into(&agents)
			g.Expect(agents).To(ContainElement(SatisfyAll(HaveField("AgentIdentifier", "edge"), HaveField("Connected", true))))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(agents).To(ContainElement(SatisfyAll(HaveField("AgentVersion", "v9.9.9"), HaveField("HubInstanceUUID", "hub-0"),
			HaveField("OrgID", "acme"), HaveField("EnvID", "prod"))))

		var inv server.InfrastructureAnswer
		Eventually(func() int {
			resp := get("/infrastructure/agents/edge/deployments", deployerToken)
			if resp.status == http.StatusOK {
				inv = server.InfrastructureAnswer{}
				resp.into(&inv)
			}
			return resp.status
		}).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
		Expect(inv.ObservedAtIso8601).To(Equal("2026-01-02T03:04:05Z"))
		Expect(inv.Items).To(ConsistOf(HaveKeyWithValue("name", "web")))
		resp := get("/infrastructure/agents/edge/namespaces", deployerToken)
		Expect(resp.status).To(Equal(http.StatusOK))
		Expect(string(resp.body)).To(ContainSubstring(`{"name":"web"}`))
		Expect(get("/infrastructure/agents/edge/pods", deployerToken).status).To(Equal(http.StatusNotFound))
		Expect(get("/infrastructure/agents/ghost/namespaces", deployerToken).status).To(Equal(http.StatusNotFound))
		Expect(get("/infrastructure/agents/edge/namespaces", adminToken).status).To(Equal(http.StatusOK), "tenant admins read infrastructure too")

		By("the Hub itself checks the scope and the tenant of the forwarded token")
		direct, err := server.NewHubInventory(hubAddress, clientTLS)
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = direct.Close() }()
		_, _, err = direct.Inventory(ctx, token(newCredential(ctx, sibling, "sibling-reader", []iamv1alpha1.Scope{iamv1alpha1.ScopeInfrastructureRead})), "edge")
		Expect(err).To(MatchError(server.ErrNoInventory), "another tenant's agent of the same name is not ours")
		_, _, err = direct.Inventory(ctx, agentToken, "edge")
		Expect(err).To(MatchError(ContainSubstring("PermissionDenied")), "an agent token cannot read inventories")
	})
})
