package tunnel_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

var _ = Describe("Mirroring Rollouts through the tunnel", Ordered, func() {
	var (
		stopHub  func()
		agent    *runningAgent
		clientID string
		secret   string
	)

	BeforeAll(func(ctx SpecContext) {
		clientID, secret = agentCredentials(ctx, tenantNamespace, "staging-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull},
			func(mc *iamv1alpha1.MachineCredential) { mc.Spec.AgentIdentifiers = []string{agentID} })
		stopHub = startHub(ctx)
		agent = startAgent(ctx, clientID, secret)
		DeferCleanup(func() { agent.stop(); stopHub() })
		Eventually(agent.agent.Connected).WithContext(ctx).WithTimeout(20 * time.Second).Should(BeTrue())
	})

	It("registers the agent as connected", func(ctx SpecContext) {
		Eventually(func(g Gomega) {
			a, err := agentObject(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(a.Status.Connected).To(BeTrue())
			g.Expect(a.Status.ClientID).To(Equal(clientID))
			g.Expect(a.Status.AgentVersion).To(Equal("test"))
			g.Expect(a.Status.HubReplica).To(Equal("hub-test"))
			g.Expect(a.Status.ConnectedAt).NotTo(BeNil())
		}).WithContext(ctx).Should(Succeed())
	})

	It("mirrors a Rollout into the target, and its status back", func(ctx SpecContext) {
		ro := cloudRollout("mirror-basic", "potato", 25, 100)
		Expect(cloudClient.Create(ctx, ro)).To(Succeed())
		got := expectMirroredAt(ctx, ro)
		Expect(got.Namespace).To(Equal("potato"), "the namespace comes from the Rollout")
		Expect(got.Annotations).To(HaveKeyWithValue(rolloutv1alpha1.CloudNamespaceAnnotation, tenantNamespace))
		Eventually(func(g Gomega) {
			g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.AppliedGeneration).To(Equal(ro.Generation))
		}).WithContext(ctx).Should(Succeed())

		got.Status.Phase = rolloutv1alpha1.PhaseProgressing
		got.Status.CurrentStep, got.Status.TotalSteps, got.Status.Weight = 1, 2, 25
		got.Status.Message = "new version 3/10 Ready"
		Expect(targetClient.Status().Update(ctx, got)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutv1alpha1.PhaseProgressing))
			g.Expect(ro.Status.Weight).To(Equal(int32(25)))
			g.Expect(ro.Status.Message).To(Equal("new version 3/10 Ready"))
			g.Expect(ro.Status.ObservedAt).NotTo(BeNil())
		}).WithContext(ctx).WithTimeout(20 * time.Second).Should(Succeed())
	})

	It("follows updates and deletes", func(ctx SpecContext) {
		ro := cloudRollout("mirror-update", "potato", 50)
		Expect(cloudClient.Create(ctx, ro)).To(Succeed())
		expectMirroredAt(ctx, ro)
		updateCloud(ctx, ro, func(ro *rolloutv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, ro.Spec.Strategy.Canary.Steps[0])
		})
		Expect(ro.Generation).To(Equal(int64(2)))
		got := expectMirroredAt(ctx, ro)
		Expect(got.Spec.Strategy.Canary.Steps).To(HaveLen(2))
		Expect(cloudClient.Delete(ctx, ro)).To(Succeed())
		expectGone(ctx, ro)
	})

	It("converges after the Hub was down while Rollouts changed, applying nothing twice", func(ctx SpecContext) {
		unchanged := cloudRollout("hub-down-unchanged", "potato", 100)
		updated := cloudRollout("hub-down-updated", "potato", 100)
		deleted := cloudRollout("hub-down-deleted", "potato", 100)
		for _, ro := range []*rolloutv1alpha1.Rollout{unchanged, updated, deleted} {
			Expect(cloudClient.Create(ctx, ro)).To(Succeed())
			expectMirroredAt(ctx, ro)
		}
		before, err := mirrored(ctx, unchanged)
		Expect(err).NotTo(HaveOccurred())

		By("stopping the Hub and changing Rollouts meanwhile")
		stopHub()
		Eventually(agent.agent.Connected).WithContext(ctx).Should(BeFalse())
		created := cloudRollout("hub-down-created", "potato", 100)
		Expect(cloudClient.Create(ctx, created)).To(Succeed())
		updateCloud(ctx, updated, func(ro *rolloutv1alpha1.Rollout) { ro.Spec.Context = map[string]string{"version": "2"} })
		Expect(cloudClient.Delete(ctx, deleted)).To(Succeed())

		By("restarting the Hub")
		stopHub = startHub(ctx)
		Eventually(agent.agent.Connected).WithContext(ctx).WithTimeout(20 * time.Second).Should(BeTrue())
		expectMirroredAt(ctx, created)
		expectMirroredAt(ctx, updated)
		expectGone(ctx, deleted)
		expectNoReapply(ctx, before, unchanged)
	})

	It("converges after the agent was down while Rollouts changed, applying nothing twice", func(ctx SpecContext) {
		unchanged := cloudRollout("agent-down-unchanged", "potato", 100)
		updated := cloudRollout("agent-down-updated", "potato", 100)
		deleted := cloudRollout("agent-down-deleted", "potato", 100)
		for _, ro := range []*rolloutv1alpha1.Rollout{unchanged, updated, deleted} {
			Expect(cloudClient.Create(ctx, ro)).To(Succeed())
			expectMirroredAt(ctx, ro)
		}
		before, err := mirrored(ctx, unchanged)
		Expect(err).NotTo(HaveOccurred())

		By("stopping the agent and changing Rollouts meanwhile")
		agent.stop()
		Eventually(func(g Gomega) {
			a, err := agentObject(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(a.Status.Connected).To(BeFalse())
			g.Expect(a.Status.DisconnectedAt).NotTo(BeNil())
		}).WithContext(ctx).WithTimeout(20*time.Second).Should(Succeed(), "the Hub marks the agent disconnected")
		created := cloudRollout("agent-down-created", "potato", 100)
		Expect(cloudClient.Create(ctx, created)).To(Succeed())
		updateCloud(ctx, updated, func(ro *rolloutv1alpha1.Rollout) { ro.Spec.Context = map[string]string{"version": "2"} })
		Expect(cloudClient.Delete(ctx, deleted)).To(Succeed())

		By("restarting the agent")
		agent = startAgent(ctx, clientID, secret)
		Eventually(agent.agent.Connected).WithContext(ctx).WithTimeout(20 * time.Second).Should(BeTrue())
		expectMirroredAt(ctx, created)
		expectMirroredAt(ctx, updated)
		expectGone(ctx, deleted)
		expectNoReapply(ctx, before, unchanged)
	})

	It("detects a tunnel cut without a close within the heartbeat budget, and recovers", func(ctx SpecContext) {
		accepted := proxy.Accepted()
		proxy.Blackhole()
		start := time.Now()
		Eventually(agent.agent.Connected).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(BeFalse())
		detected := time.Since(start)
		AddReportEntry("dead stream detected after", detected.String())
		Expect(detected).To(BeNumerically("<", 3*heartbeat+2*time.Second), "detected within three heartbeats and a margin")
		Eventually(func(g Gomega) {
			a, err := agentObject(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(a.Status.Connected).To(BeFalse())
		}).WithContext(ctx).WithTimeout(10*time.Second).Should(Succeed(), "the Hub drops the silent stream too")

		during := cloudRollout("blackhole-created", "potato", 100)
		Expect(cloudClient.Create(ctx, during)).To(Succeed())
		proxy.Heal()
		Eventually(agent.agent.Connected).WithContext(ctx).WithTimeout(20 * time.Second).Should(BeTrue())
		Expect(proxy.Accepted()).To(BeNumerically(">", accepted), "a new connection was opened")
		expectMirroredAt(ctx, during)
	})
})

// expectNoReapply checks that a Rollout that did not change was not applied again: the target
// object is the same version as before, and stays so.
func expectNoReapply(ctx context.Context, before *rolloutv1alpha1.Rollout, cloudRO *rolloutv1alpha1.Rollout) {
	GinkgoHelper()
	Consistently(func(g Gomega) {
		now, err := mirrored(ctx, cloudRO)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(now.ResourceVersion).To(Equal(before.ResourceVersion), "re-applied after the reconnect")
	}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
}
