package deployment_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/judgment"
)

func jspec(deploymentName, target, gate string, decision deployv1alpha1.Decision) deployv1alpha1.JudgmentSpec {
	return deployv1alpha1.JudgmentSpec{DeploymentName: deploymentName, Target: target, Gate: gate, Decision: decision, Author: "jane@acme.example"}
}

var admin = map[string]string{judgment.AuthorAdminAnnotation: "true"}

var _ = Describe("Deployment controller", func() {
	It("runs staging, holds prod for an approval with roles, then runs prod and succeeds", func(ctx SpecContext) {
		ns := newNamespace(ctx, "staging", "prod")
		createDeployment(ctx, ns, "web-1", twoTargets)

		By("creating staging's Rollout, and not prod's")
		staging := rolloutOf(ctx, ns, "web-1-staging")
		d := deploymentOf(ctx, ns, "web-1")
		Expect(staging.Labels).To(HaveKeyWithValue(deployv1alpha1.AgentLabel, "staging"))
		Expect(staging.Labels).To(HaveKeyWithValue(rolloutv1alpha1.DeploymentLabel, "web-1"))
		Expect(staging.Labels).To(HaveKeyWithValue(rolloutv1alpha1.TargetLabel, "staging"))
		Expect(metav1.IsControlledBy(staging, d)).To(BeTrue())
		Expect(staging.Spec.Manifests).To(HaveLen(1))
		Expect(staging.Spec.StrategyName).To(Equal("rolling"))
		Expect(staging.Spec.Timeout).To(HaveValue(Equal(deployment.DefaultTimeout)))
		d = waitForState(ctx, ns, "web-1", deployv1alpha1.StateRunning)
		Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.ReconcilingCondition)).To(BeTrue())
		Expect(kstatusOf(d)).To(Equal(status.InProgressStatus))
		Expect(d.Status.TargetProgress).To(Equal("0/2"))
		Expect(d.Status.StartedAt).NotTo(BeNil())
		Consistently(func() int { return rolloutCount(ctx, ns) }).WithContext(ctx).WithTimeout(short).Should(Equal(1))

		By("holding prod for its approval once staging succeeded")
		execute(ctx, ns, "web-1-staging", func(s *rolloutv1alpha1.RolloutStatus) {
			s.Phase, s.CurrentStep, s.TotalSteps, s.Weight = rolloutv1alpha1.PhaseSucceeded, 1, 1, 100
		})
		d = waitForState(ctx, ns, "web-1", deployv1alpha1.StateAwaitingApproval)
		Expect(d.Status.PendingApprovals).To(ConsistOf(And(HaveField("Target", "prod"), HaveField("Gate", "beforeDeployment[0]"),
			HaveField("RequiresRoles", []string{"release-manager"}), HaveField("Since", Not(BeNil())))))
		Expect(d.Status.Targets).To(ConsistOf(
			And(HaveField("Name", "staging"), HaveField("State", deployv1alpha1.StateSucceeded), HaveField("Weight", int32(100)), HaveField("FinishedAt", Not(BeNil()))),
			And(HaveField("Name", "prod"), HaveField("State", deployv1alpha1.StateAwaitingApproval)),
		))
		Expect(d.Status.TargetProgress).To(Equal("1/2"))
		Expect(rolloutCount(ctx, ns)).To(Equal(1))

		By("refusing an approval from an author without the role")
		j := judge(ctx, ns, "approve-as-dev", jspec("web-1", "prod", "beforeDeployment[0]", deployv1alpha1.DecisionApprove),
			map[string]string{judgment.AuthorRolesAnnotation: "dev"})
		Expect(readyOf(j.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", deployv1alpha1.ReasonForbidden),
			HaveField("Message", ContainSubstring("holds none of the roles release-manager"))))
		Expect(apimeta.IsStatusConditionTrue(j.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		Consistently(func() int { return rolloutCount(ctx, ns) }).WithContext(ctx).WithTimeout(short).Should(Equal(1))

		By("creating prod's Rollout on an approval from a release manager")
		j = judge(ctx, ns, "approve-prod", jspec("web-1", "prod", "", deployv1alpha1.DecisionApprove),
			map[string]string{judgment.AuthorRolesAnnotation: "dev,release-manager"})
		Expect(readyOf(j.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", deployv1alpha1.ReasonApplied)))
		Expect(j.Status.AppliedTo).To(Equal([]string{"prod/beforeDeployment[0]"}))
		Expect(j.Status.AppliedAt).NotTo(BeNil())
		Expect(j.OwnerReferences).To(ContainElement(HaveField("UID", d.UID)))
		Expect(kstatusOf(j)).To(Equal(status.CurrentStatus))
		prod := rolloutOf(ctx, ns, "web-1-prod")
		Expect(prod.Spec.StrategyName).To(Equal("canary"))
		Expect(prod.Spec.Strategy.Canary.Steps).To(HaveLen(4))
		Expect(prod.Labels).To(HaveKeyWithValue(deployv1alpha1.AgentLabel, "prod"))
		d = waitForState(ctx, ns, "web-1", deployv1alpha1.StateRunning)
		Expect(d.Status.PendingApprovals).To(BeEmpty())

		By("succeeding once prod succeeded")
		execute(ctx, ns, "web-1-prod", phase(rolloutv1alpha1.PhaseSucceeded, "4/4 steps done"))
		d = waitForState(ctx, ns, "web-1", deployv1alpha1.StateSucceeded)
		Expect(readyOf(d.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", meta.SucceededReason)))
		Expect(apimeta.FindStatusCondition(d.Status.Conditions, meta.ReconcilingCondition)).To(BeNil())
		Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		Expect(kstatusOf(d)).To(Equal(status.CurrentStatus))
		Expect(d.Status.TargetProgress).To(Equal("2/2"))
		Expect(d.Status.FinishedAt).NotTo(BeNil())

		By("recording the Judgment and the outcome as Events on the Deployment")
		Eventually(func(g Gomega) {
			evs := eventsAbout(ctx, ns, "Deployment", "web-1")
			g.Expect(evs).To(ContainElement(And(HaveField("Reason", judgment.EventJudgmentApplied),
				HaveField("Note", ContainSubstring("approve by jane@acme.example on prod/beforeDeployment[0]")),
				HaveField("Related.Name", "approve-prod"))))
			g.Expect(evs).To(ContainElement(HaveField("Reason", deployment.EventRolloutCreated)))
			g.Expect(evs).To(ContainElement(And(HaveField("Reason", deployment.EventFinished), HaveField("Note", ContainSubstring("SUCCEEDED")))))
		}).WithContext(ctx).Should(Succeed())

		By("ignoring a spec change of the finished deployment")
		Eventually(func() error {
			d := deploymentOf(ctx, ns, "web-1")
			d.Spec.ContextOverrides = map[string]string{"try": "again"}
			return k8sClient.Update(ctx, d)
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			d := deploymentOf(ctx, ns, "web-1")
			g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
			g.Expect(d.Status.State).To(Equal(deployv1alpha1.StateSucceeded))
			g.Expect(readyOf(d.Status.Conditions).Message).To(ContainSubstring("spec change of generation 2 ignored"))
			g.Expect(kstatusOf(d)).To(Equal(status.CurrentStatus))
		}).WithContext(ctx).Should(Succeed())
		Expect(rolloutCount(ctx, ns)).To(Equal(2))
	}, SpecTimeout(2*time.Minute))

	It("passes an approval of a waiting canary step to the Rollout exactly once", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		createDeployment(ctx, ns, "web-1", oneTarget)
		rolloutOf(ctx, ns, "web-1-prod")
		execute(ctx, ns, "web-1-prod", func(s *rolloutv1alpha1.RolloutStatus) {
			s.Phase, s.CurrentStep, s.TotalSteps, s.Weight, s.WaitingFor = rolloutv1alpha1.PhaseAwaitingApproval, 3, 4, 25, "steps[2]"
			s.Message = "waiting for approval of steps[2]"
		})
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateAwaitingApproval)
		Expect(d.Status.PendingApprovals).To(ConsistOf(And(HaveField("Target", "prod"), HaveField("Gate", "steps[2]"))))
		Expect(d.Status.Targets).To(ConsistOf(And(HaveField("CurrentStep", int32(3)), HaveField("TotalSteps", int32(4)), HaveField("Weight", int32(25)))))
		Expect(readyOf(d.Status.Conditions)).To(HaveField("Reason", deployv1alpha1.ReasonAwaitingApproval))

		j := judge(ctx, ns, "go-on", jspec("web-1", "prod", "", deployv1alpha1.DecisionApprove), nil)
		Expect(j.Status.AppliedTo).To(Equal([]string{"prod/steps[2]"}))
		want := rolloutv1alpha1.RolloutDecision{Name: "go-on", Gate: "steps[2]", Decision: deployv1alpha1.DecisionApprove}
		Eventually(func() []rolloutv1alpha1.RolloutDecision {
			return rolloutOf(ctx, ns, "web-1-prod").Spec.Decisions
		}).WithContext(ctx).Should(Equal([]rolloutv1alpha1.RolloutDecision{want}))
		Eventually(func() []deployv1alpha1.PendingApproval {
			return deploymentOf(ctx, ns, "web-1").Status.PendingApprovals
		}).WithContext(ctx).Should(BeEmpty(), "a decided step no longer waits")

		By("keeping it once through more reconciles, and refusing a second approval of the same step")
		execute(ctx, ns, "web-1-prod", func(s *rolloutv1alpha1.RolloutStatus) { s.Message = "still waiting" })
		again := judge(ctx, ns, "go-on-again", jspec("web-1", "prod", "steps[2]", deployv1alpha1.DecisionApprove), nil)
		Expect(readyOf(again.Status.Conditions)).To(HaveField("Reason", deployv1alpha1.ReasonNotApplicable))
		execute(ctx, ns, "web-1-prod", func(s *rolloutv1alpha1.RolloutStatus) {
			s.Phase, s.CurrentStep, s.WaitingFor, s.Message = rolloutv1alpha1.PhaseProgressing, 4, "", ""
		})
		waitForState(ctx, ns, "web-1", deployv1alpha1.StateRunning)
		Consistently(func() []rolloutv1alpha1.RolloutDecision {
			return rolloutOf(ctx, ns, "web-1-prod").Spec.Decisions
		}).WithContext(ctx).WithTimeout(short).Should(Equal([]rolloutv1alpha1.RolloutDecision{want}))
	}, SpecTimeout(2*time.Minute))

	It("carries an afterDeployment analysis gate into the Rollout, passes its Judgment there and succeeds with the Rollout", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		gate := deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"errorRate"},
			RollBackMode: deployv1alpha1.Manual, RollForwardMode: deployv1alpha1.Manual}
		createDeployment(ctx, ns, "web-1", oneTarget, func(s *deployv1alpha1.DeploymentSpec) {
			s.Analysis = &deployv1alpha1.AnalysisConfig{Queries: []deployv1alpha1.Query{{Name: "errorRate", UpperLimit: ptr.To(0.1), QueryTemplate: "up"}}}
			t := s.Targets["prod"]
			t.Constraints = &deployv1alpha1.Constraints{AfterDeployment: []deployv1alpha1.AfterDeploymentStep{
				{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](1), Unit: deployv1alpha1.Seconds}}, {Analysis: gate.DeepCopy()}}}
			s.Targets["prod"] = t
		})
		ro := rolloutOf(ctx, ns, "web-1-prod")
		Expect(ro.Spec.AfterDeployment).To(Equal([]rolloutv1alpha1.AfterDeploymentAnalysis{{Index: 1, Analysis: gate}}))
		Expect(ro.Spec.Analysis.Queries).To(ConsistOf(HaveField("Name", "errorRate")))

		execute(ctx, ns, "web-1-prod", func(s *rolloutv1alpha1.RolloutStatus) {
			s.Phase, s.CurrentStep, s.TotalSteps, s.Weight, s.WaitingFor = rolloutv1alpha1.PhaseAwaitingApproval, 5, 5, 100, "afterDeployment[1]"
			s.Message = "step 5/5: weight 100%: analysis of afterDeployment[1] passed; waiting for a judgment"
		})
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateAwaitingApproval)
		Expect(d.Status.PendingApprovals).To(ConsistOf(And(HaveField("Target", "prod"), HaveField("Gate", "afterDeployment[1]"))))
		j := judge(ctx, ns, "looks-good", jspec("web-1", "prod", "afterDeployment[1]", deployv1alpha1.DecisionApprove), nil)
		Expect(j.Status.AppliedTo).To(Equal([]string{"prod/afterDeployment[1]"}))
		Eventually(func() []rolloutv1alpha1.RolloutDecision {
			return rolloutOf(ctx, ns, "web-1-prod").Spec.Decisions
		}).WithContext(ctx).Should(Equal([]rolloutv1alpha1.RolloutDecision{{Name: "looks-good", Gate: "afterDeployment[1]", Decision: deployv1alpha1.DecisionApprove}}))

		execute(ctx, ns, "web-1-prod", phase(rolloutv1alpha1.PhaseSucceeded, "5/5 steps done"))
		d = waitForState(ctx, ns, "web-1", deployv1alpha1.StateSucceeded)
		Expect(d.Status.Targets).To(ConsistOf(HaveField("State", deployv1alpha1.StateSucceeded)), "the analysis gate passed with the Rollout, the 1s pause after it")
	}, SpecTimeout(2*time.Minute))

	It("ends ROLLED_BACK and Stalled when a Rollout rolled back", func(ctx SpecContext) {
		ns := newNamespace(ctx, "staging", "prod")
		createDeployment(ctx, ns, "web-1", twoTargets)
		rolloutOf(ctx, ns, "web-1-staging")
		execute(ctx, ns, "web-1-staging", phase(rolloutv1alpha1.PhaseRolledBack, "pods of web-1 not Ready within 30 minutes"))
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateRolledBack)
		Expect(readyOf(d.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", deployv1alpha1.ReasonRolledBack),
			HaveField("Message", ContainSubstring("target staging: pods of web-1 not Ready"))))
		Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		Expect(kstatusOf(d)).To(Equal(status.FailedStatus))
		Expect(d.Status.Targets).To(ContainElement(And(HaveField("Name", "prod"), HaveField("State", deployv1alpha1.StateCancelled))))
		Expect(rolloutCount(ctx, ns)).To(Equal(1))
	}, SpecTimeout(time.Minute))

	It("ends REJECTED when a Judgment rejects the approval; the target never starts", func(ctx SpecContext) {
		ns := newNamespace(ctx, "staging", "prod")
		createDeployment(ctx, ns, "web-1", twoTargets)
		rolloutOf(ctx, ns, "web-1-staging")
		execute(ctx, ns, "web-1-staging", phase(rolloutv1alpha1.PhaseSucceeded, ""))
		waitForState(ctx, ns, "web-1", deployv1alpha1.StateAwaitingApproval)
		j := judge(ctx, ns, "not-today", jspec("web-1", "prod", "beforeDeployment[0]", deployv1alpha1.DecisionReject), admin)
		Expect(readyOf(j.Status.Conditions)).To(HaveField("Reason", deployv1alpha1.ReasonApplied))
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateRejected)
		Expect(readyOf(d.Status.Conditions)).To(And(HaveField("Reason", deployment.ReasonGateRejected),
			HaveField("Message", ContainSubstring("target prod: beforeDeployment[0] rejected by judgment not-today"))))
		Expect(kstatusOf(d)).To(Equal(status.FailedStatus))
		Consistently(func() int { return rolloutCount(ctx, ns) }).WithContext(ctx).WithTimeout(short).Should(Equal(1))
	}, SpecTimeout(time.Minute))

	It("cancels: running targets through their Rollout, pending ones at once", func(ctx SpecContext) {
		ns := newNamespace(ctx, "staging", "prod")
		createDeployment(ctx, ns, "web-1", twoTargets)
		rolloutOf(ctx, ns, "web-1-staging")
		execute(ctx, ns, "web-1-staging", func(s *rolloutv1alpha1.RolloutStatus) {
			s.Phase, s.CurrentStep, s.TotalSteps = rolloutv1alpha1.PhaseProgressing, 1, 1
		})
		j := judge(ctx, ns, "stop", jspec("web-1", "", "", deployv1alpha1.DecisionCancel), nil)
		Expect(j.Status.AppliedTo).To(ConsistOf("staging", "prod"))
		Eventually(func() []rolloutv1alpha1.RolloutDecision {
			return rolloutOf(ctx, ns, "web-1-staging").Spec.Decisions
		}).WithContext(ctx).Should(Equal([]rolloutv1alpha1.RolloutDecision{{Name: "stop", Decision: deployv1alpha1.DecisionCancel}}))
		Eventually(func() []deployv1alpha1.TargetStatus { return deploymentOf(ctx, ns, "web-1").Status.Targets }).WithContext(ctx).Should(ContainElements(
			And(HaveField("Name", "prod"), HaveField("State", deployv1alpha1.StateCancelled)),
			And(HaveField("Name", "staging"), HaveField("Message", ContainSubstring("cancel requested by judgment stop"))),
		))
		execute(ctx, ns, "web-1-staging", phase(rolloutv1alpha1.PhaseCancelled, "cancelled; back on the previous version"))
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateCancelled)
		Expect(readyOf(d.Status.Conditions)).To(HaveField("Reason", deployv1alpha1.ReasonCancelled))
		Expect(kstatusOf(d)).To(Equal(status.FailedStatus))
		Expect(rolloutCount(ctx, ns)).To(Equal(1))

		By("refusing any Judgment on the finished deployment")
		late := judge(ctx, ns, "too-late", jspec("web-1", "", "", deployv1alpha1.DecisionCancel), nil)
		Expect(readyOf(late.Status.Conditions)).To(And(HaveField("Reason", deployv1alpha1.ReasonNotApplicable),
			HaveField("Message", ContainSubstring("has finished (CANCELLED)"))))
	}, SpecTimeout(time.Minute))

	It("rolls a running target back on a rollback Judgment", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		createDeployment(ctx, ns, "web-1", oneTarget)
		rolloutOf(ctx, ns, "web-1-prod")
		execute(ctx, ns, "web-1-prod", func(s *rolloutv1alpha1.RolloutStatus) {
			s.Phase, s.CurrentStep, s.TotalSteps = rolloutv1alpha1.PhasePaused, 2, 4
		})
		waitForState(ctx, ns, "web-1", deployv1alpha1.StatePaused)
		judge(ctx, ns, "undo", jspec("web-1", "prod", "", deployv1alpha1.DecisionRollback), nil)
		Eventually(func() []rolloutv1alpha1.RolloutDecision {
			return rolloutOf(ctx, ns, "web-1-prod").Spec.Decisions
		}).WithContext(ctx).Should(Equal([]rolloutv1alpha1.RolloutDecision{{Name: "undo", Decision: deployv1alpha1.DecisionRollback}}))
		execute(ctx, ns, "web-1-prod", phase(rolloutv1alpha1.PhaseRolledBack, "rolled back by judgment undo"))
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateRolledBack)
		Expect(readyOf(d.Status.Conditions).Message).To(ContainSubstring("rolled back by judgment undo"))
	}, SpecTimeout(time.Minute))

	It("skips a timed beforeDeployment pause on a skip Judgment", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		createDeployment(ctx, ns, "web-1", oneTarget, func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["prod"] = deployv1alpha1.Target{Account: "prod", Strategy: "canary", Constraints: &deployv1alpha1.Constraints{
				BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: ptrTo[int32](2), Unit: deployv1alpha1.Hours}}}}}
		})
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StatePaused)
		Expect(d.Status.Targets).To(ConsistOf(HaveField("Message", ContainSubstring("paused by beforeDeployment[0] until"))))
		Expect(rolloutCount(ctx, ns)).To(Equal(0))
		j := judge(ctx, ns, "no-wait", jspec("web-1", "prod", "", deployv1alpha1.DecisionSkip), nil)
		Expect(j.Status.AppliedTo).To(Equal([]string{"prod/beforeDeployment[0]"}))
		rolloutOf(ctx, ns, "web-1-prod")
		waitForState(ctx, ns, "web-1", deployv1alpha1.StateRunning)
	}, SpecTimeout(time.Minute))

	It("rejects a second deployment of the application while one is in flight", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		createDeployment(ctx, ns, "web-a", oneTarget)
		waitForState(ctx, ns, "web-a", deployv1alpha1.StateRunning)
		createDeployment(ctx, ns, "web-b", oneTarget)
		d := waitForState(ctx, ns, "web-b", deployv1alpha1.StateRejected)
		Expect(d.Status.BlockedBy).To(Equal("web-a"))
		Expect(readyOf(d.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", deployv1alpha1.ReasonRejected),
			HaveField("Message", ContainSubstring("deployment web-a of application web is in progress"))))
		Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		Consistently(func() int { return rolloutCount(ctx, ns) }).WithContext(ctx).WithTimeout(short).Should(Equal(1))

		By("not holding back another application")
		createDeployment(ctx, ns, "api-a", oneTarget, func(s *deployv1alpha1.DeploymentSpec) { s.Application = "api" })
		rolloutOf(ctx, ns, "api-a-prod")
	}, SpecTimeout(time.Minute))

	It("queues with enqueueOne, replaces an older queued one, and starts the newest when the first finishes", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		enqueue := func(s *deployv1alpha1.DeploymentSpec) {
			s.DeploymentConfig = &deployv1alpha1.DeploymentConfig{IfDeploymentInProgress: &deployv1alpha1.IfDeploymentInProgress{Strategy: deployv1alpha1.EnqueueOneInProgress}}
		}
		createDeployment(ctx, ns, "web-a", oneTarget)
		waitForState(ctx, ns, "web-a", deployv1alpha1.StateRunning)
		createDeployment(ctx, ns, "web-b", oneTarget, enqueue)
		b := waitForState(ctx, ns, "web-b", deployv1alpha1.StateQueued)
		Expect(b.Status.BlockedBy).To(Equal("web-a"))
		Expect(readyOf(b.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionUnknown), HaveField("Reason", deployv1alpha1.ReasonQueued)))
		Expect(kstatusOf(b)).To(Equal(status.InProgressStatus))

		createDeployment(ctx, ns, "web-c", oneTarget, enqueue)
		c := waitForState(ctx, ns, "web-c", deployv1alpha1.StateQueued)
		Expect(c.Status.BlockedBy).To(Equal("web-a"))
		b = waitForState(ctx, ns, "web-b", deployv1alpha1.StateRejected)
		Expect(b.Status.ReplacedBy).To(Equal("web-c"))
		Expect(readyOf(b.Status.Conditions)).To(HaveField("Reason", deployment.ReasonReplaced))
		Expect(rolloutCount(ctx, ns)).To(Equal(1))

		execute(ctx, ns, "web-a-prod", phase(rolloutv1alpha1.PhaseSucceeded, ""))
		waitForState(ctx, ns, "web-a", deployv1alpha1.StateSucceeded)
		rolloutOf(ctx, ns, "web-c-prod")
		c = waitForState(ctx, ns, "web-c", deployv1alpha1.StateRunning)
		Expect(c.Status.BlockedBy).To(BeEmpty())
		Expect(deploymentOf(ctx, ns, "web-b").Status.State).To(Equal(deployv1alpha1.StateRejected), "a replaced deployment never runs")
		Expect(rolloutCount(ctx, ns)).To(Equal(2))
	}, SpecTimeout(time.Minute))

	It("fails a target whose agent is not connected when the timeout passes, and cancels its Rollout", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		setAgent(ctx, ns, "prod", false)
		createDeployment(ctx, ns, "web-1", oneTarget, func(s *deployv1alpha1.DeploymentSpec) {
			s.DeploymentConfig = &deployv1alpha1.DeploymentConfig{Timeout: &deployv1alpha1.Timeout{Duration: 2, Unit: deployv1alpha1.Minutes}}
		})
		ro := rolloutOf(ctx, ns, "web-1-prod")
		Expect(ro.Spec.Timeout).To(HaveValue(Equal(deployv1alpha1.Timeout{Duration: 2, Unit: deployv1alpha1.Minutes})))
		Eventually(func(g Gomega) {
			d := deploymentOf(ctx, ns, "web-1")
			g.Expect(d.Status.State).To(Equal(deployv1alpha1.StateRunning))
			g.Expect(d.Status.Targets).To(ConsistOf(HaveField("Message", ContainSubstring("agent prod is not connected"))))
			g.Expect(readyOf(d.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", deployv1alpha1.ReasonAgentUnreachable)))
			g.Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.ReconcilingCondition)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())

		By("following the agent's connection")
		setAgent(ctx, ns, "prod", true)
		Eventually(func(g Gomega) {
			d := deploymentOf(ctx, ns, "web-1")
			g.Expect(d.Status.Targets).To(ConsistOf(HaveField("Message", Not(ContainSubstring("not connected")))))
			g.Expect(readyOf(d.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionUnknown), HaveField("Reason", meta.ProgressingReason)))
		}).WithContext(ctx).Should(Succeed())
		setAgent(ctx, ns, "prod", false)
		Eventually(func() string {
			return readyOf(deploymentOf(ctx, ns, "web-1").Status.Conditions).Reason
		}).WithContext(ctx).Should(Equal(deployv1alpha1.ReasonAgentUnreachable))

		By("moving the clock past the timeout")
		clock.Advance(3 * time.Minute)
		poke(ctx, ns, "web-1") // instead of waiting for the requeue at the deadline
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateFailed)
		Expect(readyOf(d.Status.Conditions)).To(And(HaveField("Reason", deployv1alpha1.ReasonTimedOut),
			HaveField("Message", And(ContainSubstring("target prod: did not finish within 2 minutes"), ContainSubstring("agent prod is not connected")))))
		Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		Expect(rolloutOf(ctx, ns, "web-1-prod").Spec.Decisions).To(Equal([]rolloutv1alpha1.RolloutDecision{
			{Name: deployment.TimeoutDecision, Decision: deployv1alpha1.DecisionCancel}}))
	}, SpecTimeout(time.Minute))

	DescribeTable("stalls on a spec the schema lets through, naming the field, and creates nothing",
		func(ctx SpecContext, deployFile string, mutate func(*deployv1alpha1.DeploymentSpec), want []string) {
			ns := newNamespace(ctx, "staging", "prod")
			createDeployment(ctx, ns, "web-1", deployFile, mutate)
			d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateFailed)
			ready := readyOf(d.Status.Conditions)
			Expect(ready).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", meta.InvalidSpecReason)))
			for _, w := range want {
				Expect(ready.Message).To(ContainSubstring(w))
			}
			Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.StalledCondition)).To(BeTrue())
			Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
			Expect(kstatusOf(d)).To(Equal(status.FailedStatus))
			Consistently(func() int { return rolloutCount(ctx, ns) }).WithContext(ctx).WithTimeout(short).Should(Equal(0))
		},
		Entry("a dependsOn cycle and an unknown query", SpecTimeout(time.Minute), twoTargets, func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"prod"}}}
			s.Strategies["canary"].Canary.Steps[1] = deployv1alpha1.CanaryStep{Analysis: &deployv1alpha1.AnalysisStep{
				Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"errorRate"}}}
		}, []string{
			"spec.targets.prod.constraints.dependsOn: cycle prod → staging → prod",
			`spec.strategies.canary.canary.steps[1].analysis.queries: unknown query "errorRate"; spec.analysis defines no queries`,
		}),
		Entry("a bare ReplicaSet", SpecTimeout(time.Minute), oneTarget, func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Inline = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\n"
		}, []string{"spec.manifests[0].inline: document 1 (ReplicaSet web): kind ReplicaSet is not supported"}),
		Entry("a constraint webhook gate through another agent than the target's", SpecTimeout(time.Minute), oneTarget, func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://ci.internal/run", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent, AgentIdentifier: "dmz"}}
			s.Targets["prod"] = deployv1alpha1.Target{Account: "prod", Namespace: "web", Strategy: "canary", Constraints: &deployv1alpha1.Constraints{
				BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}}}
		}, []string{`spec.targets.prod.constraints.beforeDeployment[0].runWebhook: webhook "smoke" names agentIdentifier "dmz", but the target's own agent (account "prod") calls beforeDeployment gates`}),
	)

	It("refuses Judgments that match nothing", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		j := judge(ctx, ns, "orphan", jspec("no-such-deployment", "", "", deployv1alpha1.DecisionApprove), nil)
		Expect(readyOf(j.Status.Conditions)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", deployv1alpha1.ReasonNotApplicable),
			HaveField("Message", ContainSubstring("Deployment no-such-deployment does not exist in namespace "+ns))))
		Expect(apimeta.IsStatusConditionTrue(j.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		Expect(kstatusOf(j)).To(Equal(status.FailedStatus))

		createDeployment(ctx, ns, "web-1", oneTarget)
		rolloutOf(ctx, ns, "web-1-prod")
		nothing := judge(ctx, ns, "approve-nothing", jspec("web-1", "", "", deployv1alpha1.DecisionApprove), nil)
		Expect(readyOf(nothing.Status.Conditions)).To(And(HaveField("Reason", deployv1alpha1.ReasonNotApplicable),
			HaveField("Message", ContainSubstring("nothing of deployment web-1 waits for an approval"))))
		Eventually(func() []string {
			var reasons []string
			for _, e := range eventsAbout(ctx, ns, "Judgment", "approve-nothing") {
				reasons = append(reasons, e.Reason)
			}
			return reasons
		}).WithContext(ctx).Should(ContainElement(judgment.EventJudgmentRefused))
		Expect(rolloutOf(ctx, ns, "web-1-prod").Spec.Decisions).To(BeEmpty())
	}, SpecTimeout(time.Minute))

	It("does not let a Deployment created again under the same name inherit the old one's Judgments", func(ctx SpecContext) {
		ns := newNamespace(ctx, "staging", "prod")
		createDeployment(ctx, ns, "web-1", twoTargets)
		rolloutOf(ctx, ns, "web-1-staging")
		execute(ctx, ns, "web-1-staging", phase(rolloutv1alpha1.PhaseSucceeded, ""))
		waitForState(ctx, ns, "web-1", deployv1alpha1.StateAwaitingApproval)
		j := judge(ctx, ns, "approve-prod", jspec("web-1", "prod", "", deployv1alpha1.DecisionApprove), admin)
		Expect(j.Status.AppliedTo).To(Equal([]string{"prod/beforeDeployment[0]"}))
		rolloutOf(ctx, ns, "web-1-prod")
		old := deploymentOf(ctx, ns, "web-1")
		Expect(j.OwnerReferences).To(ConsistOf(HaveField("UID", old.UID)))

		// envtest runs no garbage collector: remove what it would have removed.
		Expect(k8sClient.Delete(ctx, old)).To(Succeed())
		Expect(k8sClient.DeleteAllOf(ctx, &rolloutv1alpha1.Rollout{}, client.InNamespace(ns))).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-1"}, &deployv1alpha1.Deployment{})
		}).WithContext(ctx).ShouldNot(Succeed())
		createDeployment(ctx, ns, "web-1", twoTargets)
		rolloutOf(ctx, ns, "web-1-staging")
		execute(ctx, ns, "web-1-staging", phase(rolloutv1alpha1.PhaseSucceeded, ""))
		d := waitForState(ctx, ns, "web-1", deployv1alpha1.StateAwaitingApproval)
		Expect(d.Status.PendingApprovals).To(ConsistOf(HaveField("Gate", "beforeDeployment[0]")))
		Consistently(func() int { return rolloutCount(ctx, ns) }).WithContext(ctx).WithTimeout(short).Should(Equal(1))
	}, SpecTimeout(time.Minute))
})

func ptrTo[T any](v T) *T { return &v }
