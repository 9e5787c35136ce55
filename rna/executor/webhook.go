package executor

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/webhookcall"
)

// Outcomes of a runWebhook step.
const (
	// OutcomeCallingWebhook calls the webhook now (Action.WebhookDue) or waits to retry it.
	OutcomeCallingWebhook Outcome = "CallingWebhook"
	// OutcomeAwaitingCallback waits for the receiver's callback (a Judgment on the step's gate).
	OutcomeAwaitingCallback Outcome = "AwaitingCallback"
)

// DefaultWebhookTimeout is how long a runWebhook step waits for its callback when the webhook sets
// no timeout: 24 hours, as in Armory.
const DefaultWebhookTimeout = webhookcall.DefaultCallbackTimeout

// WebhookDue is a call of a runWebhook step that is due now.
type WebhookDue struct {
	// Gate is the step, such as steps[1].
	Gate string
	// Step is the runWebhook step (its name and context).
	Step *deployv1alpha1.RunWebhookStep
	// Webhook is the webhook it names.
	Webhook deployv1alpha1.Webhook
	// Attempt is the 1-based attempt.
	Attempt int32
}

// WebhookTimeout is how long a webhook's step waits for the callback.
func WebhookTimeout(w *deployv1alpha1.Webhook) time.Duration { return webhookcall.CallbackTimeout(w) }

// WebhookBackoff is the wait after failed attempt n (1-based) before the next: 1s, 2s, 4s, … up
// to 30s.
func WebhookBackoff(n int32) time.Duration { return webhookcall.Backoff(n) }

// FindWebhookCall returns the recorded call of gate, or nil.
func FindWebhookCall(calls []deployv1alpha1.WebhookCall, gate string) *deployv1alpha1.WebhookCall {
	for i := range calls {
		if calls[i].Gate == gate {
			return &calls[i]
		}
	}
	return nil
}

// webhookAction decides a runWebhook step (NextAction's part). The webhook is called when the step
// starts, and again after a failed attempt (non-2xx or no answer) after WebhookBackoff, up to
// retryCount more times; when every attempt failed, the Rollout rolls back. A call that succeeded
// waits for the callback: an approve on the step's gate (a successful callback) goes on, a
// rollback (a failed callback) or reject rolls back, with the callback's message; no callback
// within the webhook's timeout rolls back. With disableCallback the step goes on once a call
// succeeded. Action.WebhookUpdates carries the new record of the call. It reports whether the pass
// ends at this step.
func (in *ExecutionInput) webhookAction(act *Action, step Step, m DecisionMatch, prefix string) bool {
	gate, name := step.Gate(), step.Webhook.Name
	var spec *deployv1alpha1.Webhook
	for i := range in.WebhookSpecs {
		if in.WebhookSpecs[i].Name == name {
			spec = &in.WebhookSpecs[i]
		}
	}
	if spec == nil {
		act.Outcome = OutcomeRollBack
		act.Message = fmt.Sprintf("%s: webhook %q is not in spec.webhooks", gate, name)
		return true
	}
	call := FindWebhookCall(in.WebhookCalls, gate)
	update := func(phase deployv1alpha1.WebhookPhase, msg string) {
		u := deployv1alpha1.WebhookCall{Gate: gate, Name: name, Phase: phase, Message: msg}
		if call != nil {
			u.Attempts, u.StatusCode, u.CalledAt = call.Attempts, call.StatusCode, call.CalledAt
		}
		act.WebhookUpdates = append(act.WebhookUpdates, u)
	}
	attempts := spec.RetryCount + 1
	switch {
	case call == nil || call.Phase == deployv1alpha1.WebhookCalling || call.Phase == "":
		done := int32(0)
		due := act.State.StepStartedAt
		if call != nil {
			done = call.Attempts
			if call.CalledAt != nil {
				due = call.CalledAt.Add(WebhookBackoff(done))
			}
		}
		if done >= attempts {
			why := fmt.Sprintf("webhook %s of %s failed after %d attempts: %s", name, gate, done, call.Message)
			update(deployv1alpha1.WebhookFailed, call.Message)
			act.Outcome, act.Message = OutcomeRollBack, why
			return true
		}
		act.Outcome = OutcomeCallingWebhook
		if done == 0 || !in.Now.Before(due) {
			act.WebhookDue = &WebhookDue{Gate: gate, Step: step.Webhook, Webhook: *spec, Attempt: done + 1}
			act.Message = fmt.Sprintf("%s: weight %d%%: calling webhook %s (attempt %d/%d)", prefix, step.Weight, name, done+1, attempts)
			return true
		}
		act.Message = fmt.Sprintf("%s: weight %d%%: webhook %s failed (%s); attempt %d/%d at %s", prefix, step.Weight, name,
			call.Message, done+1, attempts, due.UTC().Format(time.RFC3339))
		act.RequeueAfter = due.Sub(in.Now)
		return true
	case call.Phase == deployv1alpha1.WebhookSucceeded:
		return false
	case call.Phase == deployv1alpha1.WebhookAwaitingCallback:
		if d := m.Gate; d != nil {
			act.Acted = append(act.Acted, ActedDecision{RolloutDecision: *d, Step: act.State.Step})
			act.State.Decisions = append(act.State.Decisions, d.Name)
			if d.Decision == deployv1alpha1.DecisionReject {
				update(deployv1alpha1.WebhookFailed, d.Reason)
				act.Outcome = OutcomeRollBack
				act.Message = fmt.Sprintf("webhook %s of %s failed: rejected by decision %s%s", name, gate, d.Name, reasonSuffix(d.Reason))
				return true
			}
			update(deployv1alpha1.WebhookSucceeded, d.Reason)
			return false
		}
		calledAt := act.State.StepStartedAt
		if call.CalledAt != nil {
			calledAt = call.CalledAt.Time
		}
		timeout := WebhookTimeout(spec)
		if elapsed := in.Now.Sub(calledAt); elapsed >= timeout {
			why := fmt.Sprintf("webhook %s of %s: no callback within %s", name, gate, formatDuration(timeout))
			update(deployv1alpha1.WebhookTimedOut, why)
			act.Outcome, act.Message = OutcomeRollBack, why
			return true
		}
		act.Outcome, act.WaitingFor = OutcomeAwaitingCallback, gate
		until := calledAt.Add(timeout)
		act.Message = fmt.Sprintf("%s: weight %d%%: waiting for the callback of webhook %s, until %s", prefix, step.Weight, name, until.UTC().Format(time.RFC3339))
		act.RequeueAfter = until.Sub(in.Now)
		return true
	}
	act.Outcome = OutcomeRollBack
	act.Message = fmt.Sprintf("webhook %s of %s %s: %s", name, gate, strings.ToLower(string(call.Phase)), call.Message)
	return true
}

// terminalOnWebhook records on a waiting webhook call the rollback decision that ends it (a failed
// callback), with the decision's reason.
func (in *ExecutionInput) terminalOnWebhook(act *Action, step Step, gate, reason string) {
	if step.Kind != RunWebhook || (gate != "" && gate != step.Gate()) {
		return
	}
	call := FindWebhookCall(in.WebhookCalls, step.Gate())
	if call == nil || call.Phase != deployv1alpha1.WebhookAwaitingCallback {
		return
	}
	u := *call.DeepCopy()
	u.Phase, u.Message = deployv1alpha1.WebhookFailed, reason
	act.WebhookUpdates = append(act.WebhookUpdates, u)
}

// recordWebhookCall replaces (or appends) the record of a call in calls.
func recordWebhookCall(calls []deployv1alpha1.WebhookCall, c deployv1alpha1.WebhookCall) []deployv1alpha1.WebhookCall {
	for i := range calls {
		if calls[i].Gate == c.Gate {
			calls[i] = c
			return calls
		}
	}
	return append(calls, c)
}

func timeRef(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
