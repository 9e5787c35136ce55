package deployment

import (
	"fmt"
	"strings"
	"time"

	"github.com/aurora-cd/aurora/api/meta"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// summary is what a deployment's targets come to.
type summary struct {
	state   deployv1alpha1.DeploymentState
	reason  string
	message string
	// degraded is true while a running target's agent is not connected.
	degraded bool
}

// summarize turns the targets' states into the deployment's status word, by this precedence:
//
// Once every target is final (SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK or REJECTED):
//  1. FAILED if any target FAILED (its Rollout failed, or it timed out);
//  2. else ROLLED_BACK if any target ROLLED_BACK;
//  3. else REJECTED if a Judgment rejected a target's constraint gate;
//  4. else CANCELLED if any target was cancelled (a Judgment, an expired approval, or a
//     dependency that did not succeed);
//  5. else SUCCEEDED.
//
// While any target is not final:
//  1. AWAITING_APPROVAL if any target waits for an approval (a gate or a canary pause);
//  2. else PAUSED if any target waits for a timed pause;
//  3. else RUNNING.
//
// The reason and message come from the first target (dependencies first) in the winning state.
func summarize(targets []TargetPlan) summary {
	if len(targets) == 0 {
		return summary{state: deployv1alpha1.StateSucceeded, reason: meta.SucceededReason, message: "no target selected"}
	}
	first := func(s deployv1alpha1.DeploymentState) *TargetPlan {
		for i := range targets {
			if targets[i].Status.State == s {
				return &targets[i]
			}
		}
		return nil
	}
	final := true
	for _, t := range targets {
		if !t.Status.State.IsFinal() {
			final = false
		}
	}
	if final {
		for _, s := range []deployv1alpha1.DeploymentState{deployv1alpha1.StateFailed, deployv1alpha1.StateRolledBack,
			deployv1alpha1.StateRejected, deployv1alpha1.StateCancelled} {
			if t := first(s); t != nil {
				return summary{state: s, reason: t.Reason, message: fmt.Sprintf("target %s: %s", t.Status.Name, t.Status.Message)}
			}
		}
		return summary{state: deployv1alpha1.StateSucceeded, reason: meta.SucceededReason,
			message: fmt.Sprintf("%s targets succeeded", progress(targets))}
	}

	var sum summary
	switch {
	case first(deployv1alpha1.StateAwaitingApproval) != nil:
		t := first(deployv1alpha1.StateAwaitingApproval)
		sum = summary{state: deployv1alpha1.StateAwaitingApproval, reason: deployv1alpha1.ReasonAwaitingApproval,
			message: fmt.Sprintf("target %s: %s", t.Status.Name, t.Status.Message)}
	case first(deployv1alpha1.StatePaused) != nil:
		t := first(deployv1alpha1.StatePaused)
		sum = summary{state: deployv1alpha1.StatePaused, reason: ReasonPaused,
			message: fmt.Sprintf("target %s: %s", t.Status.Name, t.Status.Message)}
	default:
		var running []string
		for _, t := range targets {
			if t.Status.State == deployv1alpha1.StateRunning {
				running = append(running, fmt.Sprintf("%s (%s)", t.Status.Name, t.Status.Message))
			}
		}
		sum = summary{state: deployv1alpha1.StateRunning, reason: meta.ProgressingReason,
			message: fmt.Sprintf("%s targets succeeded; running: %s", progress(targets), strings.Join(running, ", "))}
	}
	for _, t := range targets {
		if !t.Status.State.IsFinal() && t.Reason == deployv1alpha1.ReasonAgentUnreachable {
			sum.degraded = true
			sum.reason = deployv1alpha1.ReasonAgentUnreachable
			sum.message = fmt.Sprintf("target %s: %s", t.Status.Name, t.Status.Message)
			break
		}
	}
	return sum
}

// progress is "succeeded/total".
func progress(targets []TargetPlan) string {
	done := 0
	for _, t := range targets {
		if t.Status.State == deployv1alpha1.StateSucceeded {
			done++
		}
	}
	return fmt.Sprintf("%d/%d", done, len(targets))
}

// applyPlan writes a plan into a running deployment's status: state word, targets, targetProgress
// ("succeeded/total"), pendingApprovals, finishedAt, conditions and observedGeneration. Reconciling
// (Ready Unknown) while not final, Ready=False with Reconciling while an agent is unreachable,
// Ready=True when SUCCEEDED, Stalled and Ready=False when it ended otherwise.
func applyPlan(d *deployv1alpha1.Deployment, plan *Plan, now time.Time) {
	st := &d.Status
	st.Targets = make([]deployv1alpha1.TargetStatus, 0, len(plan.Targets))
	for _, t := range plan.Targets {
		st.Targets = append(st.Targets, t.Status)
	}
	st.TargetProgress = progress(plan.Targets)
	st.PendingApprovals = nil
	for _, w := range plan.Waiting {
		if w.Approval && !w.Callback {
			st.PendingApprovals = append(st.PendingApprovals, deployv1alpha1.PendingApproval{Target: w.Target, Gate: w.Gate,
				RequiresRoles: w.RequiresRoles, Since: w.Since, ExpiresAt: w.Until})
		}
	}
	sum := summarize(plan.Targets)
	setState(d, sum, now)
}

// setState writes a deployment's status word, finishedAt, conditions and observedGeneration.
func setState(d *deployv1alpha1.Deployment, sum summary, now time.Time) {
	st := &d.Status
	st.State = sum.state
	st.ObservedGeneration = d.Generation
	switch {
	case sum.state == deployv1alpha1.StateSucceeded:
		meta.MarkReady(d, orDefault(sum.reason, meta.SucceededReason), sum.message)
	case sum.state.IsFinal():
		meta.MarkStalled(d, orDefault(sum.reason, deployv1alpha1.ReasonFailed), sum.message)
	case sum.degraded:
		meta.MarkNotReady(d, sum.reason, sum.message)
	default:
		meta.MarkReconciling(d, orDefault(sum.reason, meta.ProgressingReason), sum.message)
	}
	if sum.state.IsFinal() {
		if st.FinishedAt == nil {
			st.FinishedAt = timePtr(now)
		}
		st.PendingApprovals = nil
	}
}
