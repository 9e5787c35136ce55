package executor

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// beforeDeploymentPrefix starts the gate name of a target's beforeDeployment gate.
const beforeDeploymentPrefix = "beforeDeployment["

// BeforeDeploymentGate is the gate name of the beforeDeployment gate at index i: beforeDeployment[i].
func BeforeDeploymentGate(i int32) string {
	return beforeDeploymentPrefix + strconv.Itoa(int(i)) + "]"
}

// BeforeDeploymentConditions returns a Rollout's beforeDeployment webhook gates as runWebhook
// conditions named by their gate, in the order of their index.
func BeforeDeploymentConditions(webhooks []rolloutv1alpha1.BeforeDeploymentWebhook) []Condition {
	sorted := make([]*rolloutv1alpha1.BeforeDeploymentWebhook, len(webhooks))
	for i := range webhooks {
		sorted[i] = &webhooks[i]
	}
	slices.SortStableFunc(sorted, func(a, b *rolloutv1alpha1.BeforeDeploymentWebhook) int { return cmp.Compare(a.Index, b.Index) })
	out := make([]Condition, 0, len(sorted))
	for _, w := range sorted {
		out = append(out, Condition{Gate: BeforeDeploymentGate(w.Index), Kind: ConditionRunWebhook,
			Spec: deployv1alpha1.BlueGreenCondition{RunWebhook: &w.RunWebhook}})
	}
	return out
}

// BeforeDeploymentAction is what a Rollout's beforeDeployment gates come to in one pass.
type BeforeDeploymentAction struct {
	// Passed is true once every gate passed: the strategy may start.
	Passed bool
	// Outcome is OutcomeRollBack when a gate failed (or a rollback decision came), OutcomeCancel on a
	// cancel decision, else OutcomeWait while gates run. Unset when Passed.
	Outcome Outcome
	// Message says what waits, or why the gates failed.
	Message string
	// WebhookDue is the call due now, if any (one per pass).
	WebhookDue *WebhookDue
	// WebhookUpdates are call records the gates changed (a callback's verdict, a timeout).
	WebhookUpdates []deployv1alpha1.WebhookCall
	// RequeueAfter is when to look again at the latest (zero: when something changes).
	RequeueAfter time.Duration
}

// NextBeforeDeploymentAction decides what a Rollout's beforeDeployment webhook gates do now, before
// anything is applied. They all start at since (the Rollout's creation) and run in parallel
// through the webhook runner, as runWebhook conditions do: a call, retries, then the callback, whose
// Judgment on the gate (approve) passes it; the call records in the status are their memory. A
// rollback or cancel decision ends them at once, as does a failed gate (failed calls, a reject on
// the gate, no callback in time). Decisions naming other gates are left for the strategy.
func NextBeforeDeploymentAction(ctx context.Context, in ExecutionInput, gates []Condition, since time.Time, runners ConditionRunners) BeforeDeploymentAction {
	byGate := map[string]*rolloutv1alpha1.RolloutDecision{}
	for i := range in.Decisions {
		d := &in.Decisions[i]
		switch d.Decision {
		case deployv1alpha1.DecisionRollback, deployv1alpha1.DecisionCancel:
			out := BeforeDeploymentAction{Outcome: OutcomeRollBack, Message: "rolled back by decision " + d.Name + " before the deployment" + reasonSuffix(d.Reason)}
			if d.Decision == deployv1alpha1.DecisionCancel {
				out.Outcome, out.Message = OutcomeCancel, "cancelled by decision "+d.Name+" before the deployment"
			}
			for _, c := range gates {
				if call := FindWebhookCall(in.WebhookCalls, c.Gate); call != nil && call.Phase == deployv1alpha1.WebhookAwaitingCallback && (d.Gate == "" || d.Gate == c.Gate) {
					u := *call.DeepCopy()
					u.Phase, u.Message = deployv1alpha1.WebhookFailed, d.Reason
					out.WebhookUpdates = append(out.WebhookUpdates, u)
				}
			}
			return out
		case deployv1alpha1.DecisionApprove, deployv1alpha1.DecisionReject:
			if slices.ContainsFunc(gates, func(c Condition) bool { return c.Gate == d.Gate }) && byGate[d.Gate] == nil {
				byGate[d.Gate] = d
			}
		}
	}
	act := Action{State: ExecutionState{Step: 1, StepStartedAt: since}, Step: Step{Index: -1, Kind: "gates"}}
	done := runGroup(ctx, &act, in, gates, byGate, runners, "beforeDeployment")
	out := BeforeDeploymentAction{Passed: done, WebhookDue: act.WebhookDue, WebhookUpdates: act.WebhookUpdates, RequeueAfter: act.RequeueAfter}
	if !done {
		out.Outcome = act.Outcome
		if out.Outcome == OutcomeAwaitingApproval {
			out.Outcome = OutcomeWait // a callback, not a person's approval
		}
		msg, waiting := strings.CutPrefix(act.Message, "beforeDeployment: gates: ")
		if waiting {
			msg = "waiting before the deployment: " + msg
		}
		out.Message = strings.Replace(msg, " failed at beforeDeployment: ", " failed before the deployment: ", 1)
	}
	return out
}

// isBeforeDeploymentGate reports whether a decision's gate names a beforeDeployment gate.
func isBeforeDeploymentGate(gate string) bool { return strings.HasPrefix(gate, beforeDeploymentPrefix) }

// ReasonBeforeDeploymentFailed: Stalled, a beforeDeployment gate failed (or a rollback decision came
// while they ran); nothing was applied.
const ReasonBeforeDeploymentFailed = "BeforeDeploymentFailed"

// beforeDeployment runs the Rollout's beforeDeployment webhook gates until they all passed, before
// the strategy starts and before anything is applied: it makes the call due, records it, and keeps
// the Rollout Progressing while they wait. It reports true while the pass must end there (the gates
// wait, or one failed and the Rollout ended Failed, or Cancelled on a cancel).
func (x *execution) beforeDeployment(ctx context.Context, gates []Condition) (stage, bool) {
	in := ExecutionInput{Now: x.now, Decisions: x.rollout.Spec.Decisions}
	x.stepInputs(&in)
	since := x.rollout.CreationTimestamp.Time
	act := NextBeforeDeploymentAction(ctx, in, gates, since, DefaultConditionRunners())
	x.recordWebhookUpdates(act.WebhookUpdates)
	if act.Passed {
		return stage{}, false
	}
	st := &x.rollout.Status
	switch act.Outcome {
	case OutcomeCancel:
		x.log.Info("Cancelled before the deployment", "reason", act.Message)
		x.r.event(x.rollout, corev1.EventTypeWarning, ReasonCancelled, "Cancel", act.Message)
		setFinished(x.rollout, rolloutv1alpha1.PhaseCancelled, act.Message, x.now)
		return stage{}, true
	case OutcomeRollBack:
		x.log.Info("A beforeDeployment gate failed; nothing was applied", "reason", act.Message)
		x.r.event(x.rollout, corev1.EventTypeWarning, ReasonBeforeDeploymentFailed, "Refuse", act.Message)
		setFinished(x.rollout, rolloutv1alpha1.PhaseFailed, act.Message, x.now)
		meta.MarkStalled(x.rollout, ReasonBeforeDeploymentFailed, act.Message)
		return stage{}, true
	}
	st.Phase, st.Message, st.WaitingFor = rolloutv1alpha1.PhaseProgressing, act.Message, ""
	meta.MarkReconciling(x.rollout, meta.ProgressingReason, act.Message)
	if due := act.WebhookDue; due != nil {
		call := x.callWebhook(ctx, due, since)
		st.Webhooks = recordWebhookCall(st.Webhooks, call)
		return stage{result: ctrl.Result{RequeueAfter: requeueMargin}}, true
	}
	return stage{result: ctrl.Result{RequeueAfter: x.requeue(act.RequeueAfter)}}, true
}

// strategyDecisions are the Rollout's decisions without those on its beforeDeployment gates, which
// the gates took before the strategy started.
func strategyDecisions(decisions []rolloutv1alpha1.RolloutDecision) []rolloutv1alpha1.RolloutDecision {
	return slices.DeleteFunc(slices.Clone(decisions), func(d rolloutv1alpha1.RolloutDecision) bool { return isBeforeDeploymentGate(d.Gate) })
}
