package e2e

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

var _ = Describe("A canary across two targets", func() {
	It("rolls staging, waits for approval before prod, and succeeds, with pod counts at each weight", func(ctx SpecContext) {
		const application = "potato-facts"
		start := time.Now()
		By("deploying v1 everywhere (a first deployment goes straight to 100%)")
		v1 := deployment("potato-v1", application, app(application, "v1", 10, false), canary(100), "staging", "prod<staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		expectPods(ctx, "staging", application, map[string]int{"v1": 10})
		expectPods(ctx, "prod", application, map[string]int{"v1": 10})
		AddReportEntry("first deployment to two targets", time.Since(start).String())

		By("deploying v2: staging first, prod behind an approval")
		v2 := deployment("potato-v2", application, app(application, "v2", 10, false), canary(25, "wait:3s", 50, "pause", 100), "staging", "prod<staging")
		prod := v2.Spec.Targets["prod"]
		prod.Constraints.BeforeDeployment = []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}}
		v2.Spec.Targets["prod"] = prod
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())

		expectPods(ctx, "staging", application, map[string]int{"v1": 7, "v2": 3})
		waitPending(ctx, v2, "staging", "steps[3]")
		expectPods(ctx, "staging", application, map[string]int{"v1": 5, "v2": 5})
		Expect(v2.Status.State).To(Equal(deployv1alpha1.StateAwaitingApproval))
		expectPods(ctx, "prod", application, map[string]int{"v1": 10})
		judge(ctx, v2, "staging", "steps[3]", deployv1alpha1.DecisionApprove)
		expectPods(ctx, "staging", application, map[string]int{"v2": 10})

		By("prod waits for its approval, then runs the same canary")
		waitPending(ctx, v2, "prod", "beforeDeployment[0]")
		Expect(targetStatus(v2, "staging").State).To(Equal(deployv1alpha1.StateSucceeded))
		expectPods(ctx, "prod", application, map[string]int{"v1": 10})
		judge(ctx, v2, "prod", "beforeDeployment[0]", deployv1alpha1.DecisionApprove)
		expectPods(ctx, "prod", application, map[string]int{"v1": 7, "v2": 3})
		waitPending(ctx, v2, "prod", "steps[3]")
		expectPods(ctx, "prod", application, map[string]int{"v1": 5, "v2": 5})
		judge(ctx, v2, "prod", "steps[3]", deployv1alpha1.DecisionApprove)
		waitState(ctx, v2, deployv1alpha1.StateSucceeded, 2*time.Minute)
		expectPods(ctx, "prod", application, map[string]int{"v2": 10})

		Expect(v2.Status.TargetProgress).To(Equal("2/2"))
		Expect(v2.Status.Judgments).To(HaveLen(3), "the audit trail records every approval")
		for _, j := range v2.Status.Judgments {
			Expect(j.Author).To(Equal("e2e@aurora.dev"))
			Expect(j.AppliedAt).NotTo(BeNil())
			Expect(j.AppliedTo).NotTo(BeEmpty())
		}
		Expect(apimeta.IsStatusConditionTrue(v2.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
		for _, name := range []string{"staging", "prod"} {
			t := targetStatus(v2, name)
			Expect(t.Weight).To(Equal(int32(100)), name)
			Expect(t.CurrentStep).To(Equal(t.TotalSteps), name)
			Expect(t.FinishedAt).NotTo(BeNil(), name)
		}
	})

	It("rolls back by itself a version whose pods never become Ready", func(ctx SpecContext) {
		const application = "broken-app"
		v1 := deployment("broken-v1", application, app(application, "v1", 4, false), canary(100), "staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)

		v2 := deployment("broken-v2", application, app(application, "v2", 4, true), canary(50, 100), "staging")
		v2.Spec.DeploymentConfig = &deployv1alpha1.DeploymentConfig{Timeout: &deployv1alpha1.Timeout{Duration: 60, Unit: deployv1alpha1.Seconds}}
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitState(ctx, v2, deployv1alpha1.StateRolledBack, 3*time.Minute)
		Expect(targetStatus(v2, "staging").Message).To(ContainSubstring("not Ready"))
		Expect(apimeta.IsStatusConditionTrue(v2.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		expectPods(ctx, "staging", application, map[string]int{"v1": 4})
	})

	It("rolls back on a rollback Judgment during a pause", func(ctx SpecContext) {
		const application = "rollback-app"
		v1 := deployment("rollback-v1", application, app(application, "v1", 4, false), canary(100), "staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		v2 := deployment("rollback-v2", application, app(application, "v2", 4, false), canary(50, "pause", 100), "staging")
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitPending(ctx, v2, "staging", "steps[1]")
		expectPods(ctx, "staging", application, map[string]int{"v1": 2, "v2": 2})
		judge(ctx, v2, "staging", "", deployv1alpha1.DecisionRollback)
		waitState(ctx, v2, deployv1alpha1.StateRolledBack, 2*time.Minute)
		expectPods(ctx, "staging", application, map[string]int{"v1": 4})
	})

	It("cancels a running canary on a cancel Judgment, back on the stable version", func(ctx SpecContext) {
		const application = "cancel-app"
		v1 := deployment("cancel-v1", application, app(application, "v1", 4, false), canary(100), "staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		v2 := deployment("cancel-v2", application, app(application, "v2", 4, false), canary(50, "pause", 100), "staging")
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitPending(ctx, v2, "staging", "steps[1]")
		judge(ctx, v2, "", "", deployv1alpha1.DecisionCancel)
		waitState(ctx, v2, deployv1alpha1.StateCancelled, 2*time.Minute)
		expectPods(ctx, "staging", application, map[string]int{"v1": 4})
	})

	It("rejects prod at its approval gate: prod never starts and keeps its version", func(ctx SpecContext) {
		const application = "reject-app"
		v1 := deployment("reject-v1", application, app(application, "v1", 2, false), canary(100), "staging", "prod<staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		v2 := deployment("reject-v2", application, app(application, "v2", 2, false), canary(100), "staging", "prod<staging")
		prod := v2.Spec.Targets["prod"]
		prod.Constraints.BeforeDeployment = []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}}
		v2.Spec.Targets["prod"] = prod
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitPending(ctx, v2, "prod", "beforeDeployment[0]")
		judge(ctx, v2, "prod", "beforeDeployment[0]", deployv1alpha1.DecisionReject)
		waitState(ctx, v2, deployv1alpha1.StateRejected, time.Minute)
		Expect(targetStatus(v2, "staging").State).To(Equal(deployv1alpha1.StateSucceeded))
		Expect(targetStatus(v2, "prod").State).To(Equal(deployv1alpha1.StateRejected))
		expectPods(ctx, "prod", application, map[string]int{"v1": 2})
		expectPods(ctx, "staging", application, map[string]int{"v2": 2})
	})

	It("refuses a second deployment of an application while one runs", func(ctx SpecContext) {
		const application = "busy-app"
		first := deployment("busy-1", application, app(application, "v1", 2, false), canary(50, "pause", 100), "staging")
		Expect(env.CloudClient.Create(ctx, first)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(env.CloudClient.Get(ctx, client.ObjectKeyFromObject(first), first)).To(Succeed())
			g.Expect(first.Status.State).To(BeElementOf(deployv1alpha1.StateRunning, deployv1alpha1.StateAwaitingApproval, deployv1alpha1.StateSucceeded))
		}).WithContext(ctx).Should(Succeed())
		second := deployment("busy-2", application, app(application, "v2", 2, false), canary(100), "staging")
		Expect(env.CloudClient.Create(ctx, second)).To(Succeed())
		waitState(ctx, second, deployv1alpha1.StateRejected, time.Minute)
		Expect(second.Status.BlockedBy).To(Equal("busy-1"))
		rollouts := &rolloutv1alpha1.RolloutList{}
		Expect(env.CloudClient.List(ctx, rollouts, client.InNamespace(env.TenantNamespace), client.MatchingLabels{rolloutv1alpha1.DeploymentLabel: "busy-2"})).To(Succeed())
		Expect(rollouts.Items).To(BeEmpty(), "a rejected deployment creates nothing")
	})

	It("ends an invalid spec Stalled with the field named, creating nothing", func(ctx SpecContext) {
		d := deployment("cycle", "cycle-app", app("cycle-app", "v1", 1, false), canary(100), "staging<prod", "prod<staging")
		Expect(env.CloudClient.Create(ctx, d)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(env.CloudClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
		Expect(apimeta.FindStatusCondition(d.Status.Conditions, meta.ReadyCondition).Message).To(ContainSubstring("constraints.dependsOn"))
		rollouts := &rolloutv1alpha1.RolloutList{}
		Expect(env.CloudClient.List(ctx, rollouts, client.InNamespace(env.TenantNamespace), client.MatchingLabels{rolloutv1alpha1.DeploymentLabel: "cycle"})).To(Succeed())
		Expect(rollouts.Items).To(BeEmpty())
	})

	It("finishes a canary while the Hub restarts in the middle, and the cloud status converges", func(ctx SpecContext) {
		const application = "resilient-app"
		v1 := deployment("resilient-v1", application, app(application, "v1", 4, false), canary(100), "staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		v2 := deployment("resilient-v2", application, app(application, "v2", 4, false), canary(50, "wait:4s", 100), "staging")
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		expectPods(ctx, "staging", application, map[string]int{"v1": 2, "v2": 2})
		env.StopHub()
		expectPods(ctx, "staging", application, map[string]int{"v2": 4}) // the executor goes on without the tunnel
		Expect(env.StartHub(ctx)).To(Succeed())
		waitState(ctx, v2, deployv1alpha1.StateSucceeded, 2*time.Minute)
	})
})
