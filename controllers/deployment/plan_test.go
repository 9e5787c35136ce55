package deployment

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// targetState matches a TargetPlan's state, reason and a substring of its message.
func targetState(name string, state deployv1alpha1.DeploymentState, reason, message string) types.GomegaMatcher {
	return And(
		HaveField("Status.Name", name),
		HaveField("Status.State", state),
		HaveField("Reason", reason),
		HaveField("Status.Message", ContainSubstring(message)),
	)
}

func names(ros []*rolloutv1alpha1.Rollout) []string {
	var out []string
	for _, ro := range ros {
		out = append(out, ro.Spec.Target)
	}
	return out
}

func withTargetStatus(name string, started, finished *time.Time) func(*deployv1alpha1.Deployment) {
	return func(d *deployv1alpha1.Deployment) {
		ts := deployv1alpha1.TargetStatus{Name: name}
		if started != nil {
			ts.StartedAt = timePtr(*started)
		}
		if finished != nil {
			ts.FinishedAt = timePtr(*finished)
		}
		d.Status.Targets = append(d.Status.Targets, ts)
	}
}

func TestPlanTargets(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	pt := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	d := newDeployment()

	tests := []struct {
		name      string
		d         *deployv1alpha1.Deployment
		rollouts  func(*deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout
		judgments func(*deployv1alpha1.Deployment) []deployv1alpha1.Judgment
		agents    map[string]bool
		now       time.Time
		check     func(g Gomega, p Plan)
	}{
		{
			name: "targets without dependencies start together; dependants wait",
			d: newDeployment(func(d *deployv1alpha1.Deployment) {
				d.Spec.Targets["qa"] = deployv1alpha1.Target{Account: "qa", Strategy: "rolling"}
			}),
			now: t0,
			check: func(g Gomega, p Plan) {
				g.Expect(names(p.Create)).To(ConsistOf("qa", "staging"))
				g.Expect(p.Targets).To(HaveLen(3))
				g.Expect(p.Targets[2]).To(targetState("prod", "", "", "waiting for staging"))
				g.Expect(p.Targets[2].Status.StartedAt).To(BeNil())
				g.Expect(p.Targets[1]).To(targetState("staging", deployv1alpha1.StateRunning, "", "creating Rollout web-1-staging"))
				g.Expect(p.Wake).To(Equal(at(30 * time.Minute)))
				g.Expect(summarize(p.Targets).state).To(Equal(deployv1alpha1.StateRunning))
			},
		},
		{
			name: "a dependency succeeded: the beforeDeployment approval waits",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			now: at(time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Create).To(BeEmpty())
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateSucceeded, "", "succeeded"))
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateAwaitingApproval, "", "waiting for approval of beforeDeployment[0]"))
				g.Expect(p.Waiting).To(ConsistOf(And(
					HaveField("Binding", Binding{Target: "prod", Gate: "beforeDeployment[0]"}),
					HaveField("Approval", true), HaveField("ByExecutor", false),
					HaveField("RequiresRoles", []string{"release-manager"}),
					HaveField("Since.Time", at(time.Minute)), HaveField("Until", BeNil()))))
				g.Expect(p.Wake).To(BeZero())
				g.Expect(summarize(p.Targets).state).To(Equal(deployv1alpha1.StateAwaitingApproval))
			},
		},
		{
			name: "an approve releases the gate: the Rollout is created",
			d:    newDeployment(withTargetStatus("prod", pt(time.Minute), nil)),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "ok", deployv1alpha1.DecisionApprove, at(2*time.Minute), "prod/beforeDeployment[0]")}
			},
			now: at(3 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(names(p.Create)).To(ConsistOf("prod"))
				g.Expect(p.Waiting).To(BeEmpty())
				g.Expect(p.Targets[1].Status.StartedAt.Time).To(Equal(at(time.Minute)))
			},
		},
		{
			name: "a reject ends the target REJECTED and cancels its dependants",
			d: newDeployment(withTargetStatus("prod", pt(time.Minute), nil), func(d *deployv1alpha1.Deployment) {
				d.Spec.Targets["eu"] = deployv1alpha1.Target{Account: "eu", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"prod"}}}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "no", deployv1alpha1.DecisionReject, at(2*time.Minute), "prod/beforeDeployment[0]")}
			},
			now: at(3 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Create).To(BeEmpty())
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateRejected, ReasonGateRejected, "beforeDeployment[0] rejected by judgment no (jane)"))
				g.Expect(p.Targets[2]).To(targetState("eu", deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled, "not started: prod ended REJECTED"))
				s := summarize(p.Targets)
				g.Expect(s.state).To(Equal(deployv1alpha1.StateRejected))
				g.Expect(s.message).To(ContainSubstring("target prod: beforeDeployment[0] rejected"))
			},
		},
		{
			name: "an approval that nobody gave in time expires: CANCELLED",
			d: newDeployment(withTargetStatus("prod", pt(time.Minute), nil), func(d *deployv1alpha1.Deployment) {
				d.Spec.Targets["prod"].Constraints.BeforeDeployment[0].Pause.ApprovalExpiration = &deployv1alpha1.Timeout{Duration: 1, Unit: deployv1alpha1.Hours}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				// applied after the expiry: does not count
				return []deployv1alpha1.Judgment{accepted(d, "late", deployv1alpha1.DecisionApprove, at(62*time.Minute), "prod/beforeDeployment[0]")}
			},
			now: at(63 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Create).To(BeEmpty())
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateCancelled, ReasonApprovalExpired, "approval of beforeDeployment[0] expired at 2025-06-01T13:01:00Z"))
				g.Expect(summarize(p.Targets).state).To(Equal(deployv1alpha1.StateCancelled))
			},
		},
		{
			name: "an approval with an expiry wakes the plan at the expiry",
			d: newDeployment(withTargetStatus("prod", pt(time.Minute), nil), func(d *deployv1alpha1.Deployment) {
				d.Spec.Targets["prod"].Constraints.BeforeDeployment[0].Pause.ApprovalExpiration = &deployv1alpha1.Timeout{Duration: 1, Unit: deployv1alpha1.Hours}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Waiting).To(ConsistOf(HaveField("Until.Time", at(61*time.Minute))))
				g.Expect(p.Wake).To(Equal(at(61 * time.Minute)))
			},
		},
		{
			name: "a timed beforeDeployment pause runs from the target's start",
			d: newDeployment(withTargetStatus("prod", pt(time.Minute), nil), func(d *deployv1alpha1.Deployment) {
				d.Spec.Targets["prod"].Constraints.BeforeDeployment = []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](5), Unit: deployv1alpha1.Minutes}}}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			now: at(3 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Create).To(BeEmpty())
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StatePaused, "", "paused by beforeDeployment[0] until 2025-06-01T12:06:00Z"))
				g.Expect(p.Waiting).To(ConsistOf(And(HaveField("Approval", false), HaveField("Gate", "beforeDeployment[0]"))))
				g.Expect(p.Wake).To(Equal(at(6 * time.Minute)))
				g.Expect(summarize(p.Targets).state).To(Equal(deployv1alpha1.StatePaused))
			},
		},
		{
			name: "a timed pause ends by itself",
			d: newDeployment(withTargetStatus("prod", pt(time.Minute), nil), func(d *deployv1alpha1.Deployment) {
				d.Spec.Targets["prod"].Constraints.BeforeDeployment = []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](5), Unit: deployv1alpha1.Minutes}}}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			now:   at(6 * time.Minute),
			check: func(g Gomega, p Plan) { g.Expect(names(p.Create)).To(ConsistOf("prod")) },
		},
		{
			name: "a skip ends a timed pause early",
			d: newDeployment(withTargetStatus("prod", pt(time.Minute), nil), func(d *deployv1alpha1.Deployment) {
				d.Spec.Targets["prod"].Constraints.BeforeDeployment = []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](5), Unit: deployv1alpha1.Minutes}}}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "go", deployv1alpha1.DecisionSkip, at(2*time.Minute), "prod/beforeDeployment[0]")}
			},
			now:   at(2 * time.Minute),
			check: func(g Gomega, p Plan) { g.Expect(names(p.Create)).To(ConsistOf("prod")) },
		},
		{
			name: "a rolled-back target ends ROLLED_BACK; its dependants never start",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseRolledBack)
				ro.Status.Message = "pods not Ready: image pull failed"
				return []rolloutv1alpha1.Rollout{ro}
			},
			now: at(time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Create).To(BeEmpty())
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateRolledBack, deployv1alpha1.ReasonRolledBack, "image pull failed"))
				g.Expect(p.Targets[0].Status.FinishedAt.Time).To(Equal(at(time.Minute)))
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled, "not started: staging ended ROLLED_BACK"))
				s := summarize(p.Targets)
				g.Expect(s.state).To(Equal(deployv1alpha1.StateRolledBack))
				g.Expect(s.reason).To(Equal(deployv1alpha1.ReasonRolledBack))
			},
		},
		{
			name: "a running target follows its Rollout and reports an unconnected agent",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseProgressing)
				ro.Status.CurrentStep, ro.Status.TotalSteps, ro.Status.Weight = 1, 2, 50
				return []rolloutv1alpha1.Rollout{ro}
			},
			agents: map[string]bool{"prod": true},
			now:    at(time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateRunning, deployv1alpha1.ReasonAgentUnreachable, "step 1/2 at weight 50; agent staging is not connected"))
				g.Expect(p.Targets[0].Status).To(And(HaveField("CurrentStep", int32(1)), HaveField("TotalSteps", int32(2)), HaveField("Weight", int32(50)),
					HaveField("RolloutName", "web-1-staging"), HaveField("StartedAt.Time", t0)))
				g.Expect(p.Targets[0].Running).To(BeTrue())
				g.Expect(p.Wake.IsZero()).To(BeTrue(), "once the executor started the Rollout it enforces the timeout itself")
				s := summarize(p.Targets)
				g.Expect(s.state).To(Equal(deployv1alpha1.StateRunning))
				g.Expect(s.degraded).To(BeTrue())
			},
		},
		{
			name: "a target whose Rollout no agent started within the timeout is cancelled and FAILED",
			d: newDeployment(func(d *deployv1alpha1.Deployment) {
				d.Spec.DeploymentConfig = &deployv1alpha1.DeploymentConfig{Timeout: &deployv1alpha1.Timeout{Duration: 2, Unit: deployv1alpha1.Minutes}}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, "")}
			},
			agents: map[string]bool{"staging": false},
			now:    at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Decisions).To(ConsistOf(PlannedDecision{Target: "staging", Rollout: "web-1-staging",
					Decision: rolloutv1alpha1.RolloutDecision{Name: TimeoutDecision, Decision: deployv1alpha1.DecisionCancel}}))
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateFailed, deployv1alpha1.ReasonTimedOut,
					"did not finish within 2 minutes of Rollout web-1-staging's creation; cancelled; agent staging is not connected"))
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled, "not started: staging ended FAILED"))
				s := summarize(p.Targets)
				g.Expect(s.state).To(Equal(deployv1alpha1.StateFailed))
				g.Expect(s.reason).To(Equal(deployv1alpha1.ReasonTimedOut))
				g.Expect(s.message).To(ContainSubstring("target staging: did not finish"))
			},
		},
		{
			name: "a timed-out target stays FAILED when its Rollout is then cancelled",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseCancelled)
				ro.Spec.Decisions = []rolloutv1alpha1.RolloutDecision{{Name: TimeoutDecision, Decision: deployv1alpha1.DecisionCancel}}
				return []rolloutv1alpha1.Rollout{ro}
			},
			now: at(40 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Decisions).To(BeEmpty())
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateFailed, deployv1alpha1.ReasonTimedOut, "did not finish within 30 minutes"))
			},
		},
		{
			name: "a Rollout that succeeded before its deadline, reported late, is not timed out",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)
				ro.Status.FinishedAt = timePtr(at(29 * time.Minute))
				ro.Spec.Decisions = []rolloutv1alpha1.RolloutDecision{{Name: TimeoutDecision, Decision: deployv1alpha1.DecisionCancel}}
				return []rolloutv1alpha1.Rollout{ro}
			},
			now: at(40 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateSucceeded, "", "succeeded"))
			},
		},
		{
			name: "a canary step waiting for approval is listed with its roles",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "prod", at(time.Minute), rolloutv1alpha1.PhaseAwaitingApproval)
				ro.Status.WaitingFor = "steps[2]"
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded), ro}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateAwaitingApproval, "", "waiting for approval of steps[2]"))
				g.Expect(p.Waiting).To(ConsistOf(And(HaveField("Binding", Binding{Target: "prod", Gate: "steps[2]"}),
					HaveField("ByExecutor", true), HaveField("Approval", true), HaveField("RequiresRoles", []string{"sre"}))))
			},
		},
		{
			name: "an approve of a canary step is appended to the Rollout once",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "prod", at(time.Minute), rolloutv1alpha1.PhaseAwaitingApproval)
				ro.Status.WaitingFor = "steps[2]"
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded), ro}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "lgtm", deployv1alpha1.DecisionApprove, at(2*time.Minute), "prod/steps[2]")}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Decisions).To(ConsistOf(PlannedDecision{Target: "prod", Rollout: "web-1-prod",
					Decision: rolloutv1alpha1.RolloutDecision{Name: "lgtm", Gate: "steps[2]", Decision: deployv1alpha1.DecisionApprove}}))
				g.Expect(p.Waiting).To(BeEmpty())
				g.Expect(p.Targets[1].Status.Message).To(Equal("steps[2] decided by judgment lgtm; waiting for agent prod"))
			},
		},
		{
			name: "a decision the Rollout already has is not appended again",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "prod", at(time.Minute), rolloutv1alpha1.PhaseProgressing)
				ro.Spec.Decisions = []rolloutv1alpha1.RolloutDecision{{Name: "lgtm", Gate: "steps[2]", Decision: deployv1alpha1.DecisionApprove}}
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded), ro}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "lgtm", deployv1alpha1.DecisionApprove, at(2*time.Minute), "prod/steps[2]")}
			},
			now:   at(3 * time.Minute),
			check: func(g Gomega, p Plan) { g.Expect(p.Decisions).To(BeEmpty()) },
		},
		{
			name: "a cancel stops running targets through their Rollout and pending ones at once",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseProgressing)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "stop", deployv1alpha1.DecisionCancel, at(time.Minute), "prod", "staging")}
			},
			now: at(time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Decisions).To(ConsistOf(HaveField("Decision", rolloutv1alpha1.RolloutDecision{Name: "stop", Decision: deployv1alpha1.DecisionCancel})))
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateRunning, "", "cancel requested by judgment stop; waiting for agent staging"))
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled, "cancelled by judgment stop (jane)"))
			},
		},
		{
			name: "a cancelled Rollout ends its target CANCELLED",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseCancelled)
				ro.Spec.Decisions = []rolloutv1alpha1.RolloutDecision{{Name: "stop", Decision: deployv1alpha1.DecisionCancel}}
				return []rolloutv1alpha1.Rollout{ro}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "stop", deployv1alpha1.DecisionCancel, at(time.Minute), "prod", "staging")}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Decisions).To(BeEmpty())
				g.Expect(summarize(p.Targets).state).To(Equal(deployv1alpha1.StateCancelled))
			},
		},
		{
			name: "a rollback goes to the running Rollout",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhasePaused)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "undo", deployv1alpha1.DecisionRollback, at(time.Minute), "staging")}
			},
			now: at(time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Decisions).To(ConsistOf(HaveField("Decision", rolloutv1alpha1.RolloutDecision{Name: "undo", Decision: deployv1alpha1.DecisionRollback})))
				g.Expect(p.Waiting).To(BeEmpty(), "a pause of a Rollout being rolled back waits for nothing")
			},
		},
		{
			name: "a Rollout paused on a timed step can be skipped",
			d:    d,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhasePaused)
				ro.Status.WaitingFor = "steps[1]"
				return []rolloutv1alpha1.Rollout{ro}
			},
			now: at(time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StatePaused, "", "paused at steps[1]"))
				g.Expect(p.Waiting).To(ConsistOf(And(HaveField("Approval", false), HaveField("ByExecutor", true), HaveField("Gate", "steps[1]"))))
			},
		},
		{
			name: "afterDeployment gates run from the Rollout's end, before the dependants",
			d: newDeployment(withTargetStatus("staging", &t0, nil), func(d *deployv1alpha1.Deployment) {
				st := d.Spec.Targets["staging"]
				st.Constraints = &deployv1alpha1.Constraints{AfterDeployment: []deployv1alpha1.AfterDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](5), Unit: deployv1alpha1.Minutes}}}}
				d.Spec.Targets["staging"] = st
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)
				ro.Status.FinishedAt = timePtr(at(time.Minute))
				return []rolloutv1alpha1.Rollout{ro}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StatePaused, "", "paused by afterDeployment[0] until 2025-06-01T12:06:00Z"))
				g.Expect(p.Targets[0].Status.FinishedAt.Time).To(Equal(at(time.Minute)))
				g.Expect(p.Targets[1]).To(targetState("prod", "", "", "waiting for staging"))
				g.Expect(p.Wake).To(Equal(at(6 * time.Minute)))
			},
		},
		{
			name: "afterDeployment gates passed: the dependants start",
			d: newDeployment(withTargetStatus("staging", &t0, pt(time.Minute)), func(d *deployv1alpha1.Deployment) {
				st := d.Spec.Targets["staging"]
				st.Constraints = &deployv1alpha1.Constraints{AfterDeployment: []deployv1alpha1.AfterDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](5), Unit: deployv1alpha1.Minutes}}}}
				d.Spec.Targets["staging"] = st
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			now: at(7 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateSucceeded, "", "succeeded"))
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateAwaitingApproval, "", "beforeDeployment[0]"))
			},
		},
		{
			name: "an afterDeployment analysis gate is the Rollout's: it passed when the Rollout succeeded, the dependants start",
			d:    newDeployment(withTargetStatus("staging", &t0, pt(time.Minute)), withAfterAnalysis("staging")),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateSucceeded, "", "succeeded"))
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateAwaitingApproval, "", "beforeDeployment[0]"))
			},
		},
		{
			name: "an afterDeployment analysis gate that failed the Rollout (rolled back) ends the target; the dependants do not start",
			d:    newDeployment(withTargetStatus("staging", &t0, nil), withAfterAnalysis("staging")),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseRolledBack)
				ro.Status.Message = "analysis of afterDeployment[0] failed: query errors averaged 0.5 above upperLimit 0.1 over 1 runs"
				return []rolloutv1alpha1.Rollout{ro}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateRolledBack, deployv1alpha1.ReasonRolledBack, "analysis of afterDeployment[0] failed"))
				g.Expect(p.Targets[1].Status.State).NotTo(BeElementOf(deployv1alpha1.StateRunning, deployv1alpha1.StateAwaitingApproval, deployv1alpha1.StateSucceeded))
				g.Expect(p.Create).To(BeEmpty())
			},
		},
		{
			name: "an approve of an afterDeployment analysis gate waiting in the Rollout goes to the Rollout",
			d:    newDeployment(withTargetStatus("staging", &t0, nil), withAfterAnalysis("staging")),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseAwaitingApproval)
				ro.Status.WaitingFor = "afterDeployment[0]"
				return []rolloutv1alpha1.Rollout{ro}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "ok", deployv1alpha1.DecisionApprove, at(2*time.Minute), "staging/afterDeployment[0]")}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.Decisions).To(ConsistOf(PlannedDecision{Target: "staging", Rollout: "web-1-staging",
					Decision: rolloutv1alpha1.RolloutDecision{Name: "ok", Gate: "afterDeployment[0]", Decision: deployv1alpha1.DecisionApprove}}))
			},
		},
		{
			name: "a beforeDeployment remoteNetworkAgent webhook gate does not hold the Rollout back: the agent calls it from the Rollout, before applying",
			d: newDeployment(func(d *deployv1alpha1.Deployment) {
				d.Spec.Webhooks = []deployv1alpha1.Webhook{{Name: "freeze", Method: "GET", URITemplate: "https://freeze.internal", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent}}
				st := d.Spec.Targets["staging"]
				st.Constraints = &deployv1alpha1.Constraints{BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "freeze"}}}}
				d.Spec.Targets["staging"] = st
			}),
			now: t0,
			check: func(g Gomega, p Plan) {
				g.Expect(p.WebhookCalls).To(BeEmpty())
				g.Expect(p.Create).To(HaveLen(1))
				g.Expect(p.Create[0].Spec.BeforeDeploymentWebhooks).To(Equal([]rolloutv1alpha1.BeforeDeploymentWebhook{{Index: 0, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "freeze"}}}))
				g.Expect(p.Create[0].Spec.Webhooks).To(ConsistOf(HaveField("Name", "freeze")))
			},
		},
		{
			name: "an afterDeployment remoteNetworkAgent webhook gate is the Rollout's: the controller never calls it, it passed when the Rollout succeeded",
			d: newDeployment(withTargetStatus("staging", &t0, pt(time.Minute)), withAfterAgentWebhook("staging"), func(d *deployv1alpha1.Deployment) {
				d.Status.Targets[0].Webhooks = []deployv1alpha1.WebhookCall{{Gate: "afterDeployment[0]", Name: "smoke", Phase: deployv1alpha1.WebhookSucceeded, Attempts: 1}}
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ro := rollout(d, "staging", t0, rolloutv1alpha1.PhaseSucceeded)
				ro.Status.Webhooks = []deployv1alpha1.WebhookCall{{Gate: "afterDeployment[0]", Name: "smoke", Phase: deployv1alpha1.WebhookSucceeded, Attempts: 1}}
				return []rolloutv1alpha1.Rollout{ro}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.WebhookCalls).To(BeEmpty())
				g.Expect(p.Targets[0]).To(targetState("staging", deployv1alpha1.StateSucceeded, "", "succeeded"))
				g.Expect(p.Targets[0].Status.Webhooks).To(HaveLen(1), "the Rollout's record, once")
				g.Expect(p.Targets[1]).To(targetState("prod", deployv1alpha1.StateAwaitingApproval, "", "beforeDeployment[0]"))
			},
		},
		{
			name: "the callback of an afterDeployment remoteNetworkAgent webhook gate goes to the Rollout",
			d:    newDeployment(withTargetStatus("staging", &t0, nil), withAfterAgentWebhook("staging")),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseProgressing)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "cb", deployv1alpha1.DecisionApprove, at(2*time.Minute), "staging/afterDeployment[0]")}
			},
			now: at(2 * time.Minute),
			check: func(g Gomega, p Plan) {
				g.Expect(p.WebhookCalls).To(BeEmpty())
				g.Expect(p.Decisions).To(ConsistOf(PlannedDecision{Target: "staging", Rollout: "web-1-staging",
					Decision: rolloutv1alpha1.RolloutDecision{Name: "cb", Gate: "afterDeployment[0]", Decision: deployv1alpha1.DecisionApprove}}))
			},
		},
		{
			name: "an approve of an afterDeployment pause gate stays with the controller",
			d: newDeployment(withTargetStatus("staging", &t0, nil), func(d *deployv1alpha1.Deployment) {
				st := d.Spec.Targets["staging"]
				st.Constraints = &deployv1alpha1.Constraints{AfterDeployment: []deployv1alpha1.AfterDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}}}
				d.Spec.Targets["staging"] = st
			}),
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				return []rolloutv1alpha1.Rollout{rollout(d, "staging", t0, rolloutv1alpha1.PhaseProgressing)}
			},
			judgments: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{accepted(d, "ok", deployv1alpha1.DecisionApprove, at(2*time.Minute), "staging/afterDeployment[0]")}
			},
			now:   at(2 * time.Minute),
			check: func(g Gomega, p Plan) { g.Expect(p.Decisions).To(BeEmpty()) },
		},
		{
			name: "targetFilters narrow the targets and drop dependencies on the others",
			d: newDeployment(func(d *deployv1alpha1.Deployment) {
				d.Spec.TargetFilters = []deployv1alpha1.TargetFilter{{IncludeTarget: "prod"}}
			}),
			now: t0,
			check: func(g Gomega, p Plan) {
				g.Expect(p.Targets).To(ConsistOf(targetState("prod", deployv1alpha1.StateAwaitingApproval, "", "beforeDeployment[0]")))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := Input{Deployment: tt.d, Agents: tt.agents, Now: tt.now}
			if tt.rollouts != nil {
				in.Rollouts = tt.rollouts(tt.d)
			}
			if tt.judgments != nil {
				in.Judgments = tt.judgments(tt.d)
			}
			tt.check(g, PlanTargets(in))
		})
	}
}

func TestTopologicalOrder(t *testing.T) {
	g := NewWithT(t)
	spec := newSpec()
	spec.Targets["eu"] = deployv1alpha1.Target{Account: "eu", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"prod", "staging"}}}
	spec.Targets["dev"] = deployv1alpha1.Target{Account: "dev", Strategy: "rolling"}
	g.Expect(TopologicalOrder(&spec)).To(Equal([]string{"dev", "staging", "prod", "eu"}))

	spec.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"eu"}}}
	g.Expect(TopologicalOrder(&spec)).To(Equal([]string{"dev", "eu", "prod", "staging"}), "a cycle comes last, in name order")
}

func TestAgentConnectivity(t *testing.T) {
	g := NewWithT(t)
	agents := []deployv1alpha1.Agent{
		{Spec: deployv1alpha1.AgentSpec{AgentIdentifier: "prod"}, Status: deployv1alpha1.AgentStatus{Connected: true}},
		{Spec: deployv1alpha1.AgentSpec{AgentIdentifier: "staging"}},
	}
	g.Expect(AgentConnectivity(agents)).To(Equal(map[string]bool{"prod": true, "staging": false}))
}

// withAfterAnalysis gives target an afterDeployment analysis gate (and spec.analysis its query).
func withAfterAgentWebhook(target string) func(*deployv1alpha1.Deployment) {
	return func(d *deployv1alpha1.Deployment) {
		d.Spec.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://ci.internal/run", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent}}
		t := d.Spec.Targets[target]
		t.Constraints = &deployv1alpha1.Constraints{AfterDeployment: []deployv1alpha1.AfterDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}}
		d.Spec.Targets[target] = t
	}
}

func withAfterAnalysis(target string) func(*deployv1alpha1.Deployment) {
	return func(d *deployv1alpha1.Deployment) {
		d.Spec.Analysis = &deployv1alpha1.AnalysisConfig{Queries: []deployv1alpha1.Query{{Name: "errors", UpperLimit: ptr.To(0.1), QueryTemplate: "e"}}}
		t := d.Spec.Targets[target]
		t.Constraints = &deployv1alpha1.Constraints{AfterDeployment: []deployv1alpha1.AfterDeploymentStep{{Analysis: &deployv1alpha1.AnalysisStep{
			Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"errors"}}}}}
		d.Spec.Targets[target] = t
	}
}
