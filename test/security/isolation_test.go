package security_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// The isolation matrix: agents of two environments, each bound to agent "staging", and Rollouts
// of both environments for "staging" and for another agent "prod". Each agent must receive exactly
// its own environment's Rollouts for its own identifier, and may write the status of those only.
var _ = Describe("Tenant isolation across the Hub and the CRDs", Ordered, func() {
	var (
		acmeAgent, globexAgent, acmeDeployer credential
		rollouts                             map[string]*rolloutv1alpha1.Rollout
	)

	BeforeAll(func(ctx SpecContext) {
		acmeAgent = newCredential(ctx, acme, "iso-acme", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}, "staging")
		globexAgent = newCredential(ctx, globex, "iso-globex", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}, "staging")
		acmeDeployer = newCredential(ctx, acme, "iso-deployer", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull})
		rollouts = map[string]*rolloutv1alpha1.Rollout{
			"acme/staging":   newRollout(acme, "iso-acme-staging", "staging"),
			"acme/prod":      newRollout(acme, "iso-acme-prod", "prod"),
			"globex/staging": newRollout(globex, "iso-globex-staging", "staging"),
			"globex/prod":    newRollout(globex, "iso-globex-prod", "prod"),
		}
		for _, ro := range rollouts {
			Expect(cloudClient.Create(ctx, ro)).To(Succeed())
		}
	})

	DescribeTable("what an agent receives",
		func(ctx SpecContext, who func() credential, agent string, want []string) {
			t, err := openTunnel(ctx, mustToken(ctx, who()), agent)
			Expect(err).NotTo(HaveOccurred())
			applied, _ := t.collect(3 * time.Second)
			Expect(applied).To(ConsistOf(want))
		},
		Entry("acme's staging agent: only acme's staging Rollout", func() credential { return acmeAgent }, "staging",
			[]string{"aurora-acme-prod/iso-acme-staging"}),
		Entry("globex's staging agent: only globex's staging Rollout", func() credential { return globexAgent }, "staging",
			[]string{"aurora-globex-prod/iso-globex-staging"}),
	)

	DescribeTable("who may connect as what",
		func(ctx SpecContext, who func() credential, agent string, want codes.Code) {
			_, err := openTunnel(ctx, mustToken(ctx, who()), agent)
			Expect(status.Code(err)).To(Equal(want), "%v", err)
		},
		Entry("acme's staging credential as prod", func() credential { return acmeAgent }, "prod", codes.PermissionDenied),
		Entry("a deployment credential as an agent", func() credential { return acmeDeployer }, "staging", codes.PermissionDenied),
	)

	DescribeTable("whose Rollout status an agent may write",
		func(ctx SpecContext, key string, namespace func(*rolloutv1alpha1.Rollout) string, want bool) {
			t, err := openTunnel(ctx, mustToken(ctx, acmeAgent), "staging")
			Expect(err).NotTo(HaveOccurred())
			ro := rollouts[key]
			Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			before := ro.Status.Message
			message := "written by acme's staging agent at " + time.Now().Format(time.RFC3339Nano)
			Expect(t.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{
				Ref:    &tunnelv1.RolloutRef{Uid: string(ro.UID), Namespace: namespace(ro), Name: ro.Name, Generation: ro.Generation},
				Status: []byte(`{"phase":"Failed","message":"` + message + `"}`), ObservedAtUnixNano: time.Now().UnixNano()}}})).To(Succeed())
			sent := t.nextID
			var ack *tunnelv1.Ack
			Eventually(func() *tunnelv1.Ack {
				_, acks := t.collect(200 * time.Millisecond)
				for _, a := range acks {
					if a.GetAckId() == sent {
						ack = a
					}
				}
				return ack
			}).WithContext(ctx).WithTimeout(10 * time.Second).ShouldNot(BeNil())
			Expect(ack.GetOk()).To(Equal(want), "ack: %v", ack)
			Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			if want {
				Expect(ro.Status.Message).To(Equal(message))
			} else {
				Expect(ack.GetError()).NotTo(BeEmpty())
				Expect(ro.Status.Message).To(Equal(before), "the status of %s was changed", key)
			}
		},
		Entry("its own", "acme/staging", func(r *rolloutv1alpha1.Rollout) string { return r.Namespace }, true),
		Entry("another agent's of its tenant", "acme/prod", func(r *rolloutv1alpha1.Rollout) string { return r.Namespace }, false),
		Entry("another tenant's, naming that tenant", "globex/staging", func(r *rolloutv1alpha1.Rollout) string { return r.Namespace }, false),
		Entry("another tenant's, naming no namespace", "globex/staging", func(*rolloutv1alpha1.Rollout) string { return "" }, false),
		Entry("another tenant's, naming its own namespace", "globex/staging", func(*rolloutv1alpha1.Rollout) string { return acme.namespace() }, false),
	)

	It("registers each agent in its own tenant only", func(ctx SpecContext) {
		for _, tc := range []struct {
			tenant tenantRef
			owner  credential
		}{{acme, acmeAgent}, {globex, globexAgent}} {
			agent := &deployv1alpha1.Agent{}
			Expect(cloudClient.Get(ctx, client.ObjectKey{Namespace: tc.tenant.namespace(), Name: "staging"}, agent)).To(Succeed())
			Expect(agent.Status.ClientID).To(Equal(tc.owner.id), "the Agent staging of %s", tc.tenant.namespace())
		}
	})
})
