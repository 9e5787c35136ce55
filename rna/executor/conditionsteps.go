package executor

import (
	"fmt"
	"strings"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// AnalysisRunner runs analysis conditions with the code of the canary analysis step
// (analysisAction): judgment runs fall due every interval from the start of the condition's group
// and are recorded in status.analysis with the condition's gate; once every run is recorded the
// verdict passes or fails the condition (automatic modes), or waits for an approve (pass) or
// reject (fail) on the gate (manual modes).
type AnalysisRunner struct{}

// Run advances one analysis condition.
func (AnalysisRunner) Run(in ConditionInput) ConditionOutcome {
	a := in.Condition.Spec.Analysis
	if a == nil {
		return ConditionOutcome{State: rolloutv1alpha1.ConditionFailed, Message: "not an analysis condition"}
	}
	step := Step{Index: -1, Kind: RunAnalysis, Analysis: a, ConditionGate: in.Condition.Gate}
	return runAsStep(in, step, func(x *ExecutionInput, act *Action, m DecisionMatch, prefix string) bool {
		return x.analysisAction(act, step, m, prefix)
	})
}

// WebhookRunner runs runWebhook conditions with the code of the canary runWebhook step
// (webhookAction): the webhook is called when the condition's group starts, with
// {{armory.callbackUri}} naming the condition's gate, and retried after failures; the call is
// recorded in status.webhooks with the gate. After a 2xx answer the condition waits for the
// callback: an approve on the gate passes it, a reject fails it, no callback within the webhook's
// timeout fails it; with disableCallback it passes at once.
type WebhookRunner struct{}

// Run advances one runWebhook condition.
func (WebhookRunner) Run(in ConditionInput) ConditionOutcome {
	w := in.Condition.Spec.RunWebhook
	if w == nil {
		return ConditionOutcome{State: rolloutv1alpha1.ConditionFailed, Message: "not a runWebhook condition"}
	}
	step := Step{Index: -1, Kind: RunWebhook, Webhook: w, ConditionGate: in.Condition.Gate}
	return runAsStep(in, step, func(x *ExecutionInput, act *Action, m DecisionMatch, prefix string) bool {
		return x.webhookAction(act, step, m, prefix)
	})
}

// runAsStep runs a condition through the decision of the canary step of its kind and turns the
// step's action into the condition's outcome: going on passes it, a rollback fails it, a wait for
// a judgment awaits approval, anything else runs (a due run or call is handed on).
func runAsStep(in ConditionInput, step Step, decide func(*ExecutionInput, *Action, DecisionMatch, string) bool) ConditionOutcome {
	x := in.Execution
	if x == nil {
		x = &ExecutionInput{}
	}
	x = &ExecutionInput{Now: in.Now, Queries: x.Queries, Analysis: x.Analysis, WebhookSpecs: x.WebhookSpecs, WebhookCalls: x.WebhookCalls}
	act := Action{State: ExecutionState{StepStartedAt: in.Since}}
	m := DecisionMatch{Gate: in.Decision}
	prefix := in.Condition.Gate
	stopped := decide(x, &act, m, prefix)
	out := ConditionOutcome{
		ActedOn: len(act.Acted) > 0, AnalysisDue: act.AnalysisDue, WebhookDue: act.WebhookDue,
		WebhookUpdates: act.WebhookUpdates, RequeueAfter: act.RequeueAfter,
	}
	msg, _ := strings.CutPrefix(act.Message, fmt.Sprintf("%s: weight %d%%: ", prefix, step.Weight))
	out.Message = msg
	switch {
	case !stopped:
		out.State = rolloutv1alpha1.ConditionPassed
		out.Message = passedMessage(x, act.WebhookUpdates, step)
	case act.Outcome == OutcomeRollBack:
		out.State = rolloutv1alpha1.ConditionFailed
	case act.Outcome == OutcomeAwaitingApproval:
		out.State = rolloutv1alpha1.ConditionAwaitingApproval
	default:
		out.State = rolloutv1alpha1.ConditionRunning
	}
	return out
}

// passedMessage says why a condition run as a step passed: the analysis's verdict, or the webhook
// call's record.
func passedMessage(x *ExecutionInput, updates []deployv1alpha1.WebhookCall, step Step) string {
	gate := step.Gate()
	switch step.Kind {
	case RunAnalysis:
		j := JudgeAnalysis(step.Analysis, x.Queries, gate, x.Analysis)
		return "analysis passed: " + j.Message
	case RunWebhook:
		c := FindWebhookCall(updates, gate)
		if c == nil {
			c = FindWebhookCall(x.WebhookCalls, gate)
		}
		if c != nil && c.Message != "" {
			return fmt.Sprintf("webhook %s succeeded: %s", step.Webhook.Name, c.Message)
		}
		return fmt.Sprintf("webhook %s succeeded", step.Webhook.Name)
	}
	return "passed"
}
