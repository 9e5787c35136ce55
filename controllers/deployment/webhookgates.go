package deployment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/internal/webhookcall"
)

// gateFailed is a constraint webhook that failed: its callback said so, every attempt of its call
// failed, or no callback came in time.
const gateFailed gateVerdict = 100

// inFlightGrace is how long an attempt recorded as made but not answered is waited for: the call's
// timeout and a margin. After that the attempt counts as failed (the controller stopped during it).
const inFlightGrace = webhookcall.Timeout + 5*time.Second

// ReasonWebhookFailed means a constraint webhook of a target failed.
const ReasonWebhookFailed = "WebhookFailed"

// DueWebhookCall is a call of a constraint webhook gate that is due now. The Deployment controller
// makes it from the control plane (networkMode direct) and records it in the target's
// status.webhooks.
type DueWebhookCall struct {
	// Target and Gate name the gate, such as prod and beforeDeployment[0].
	Target, Gate string
	// Step is the gate's runWebhook (its name and context).
	Step *deployv1alpha1.RunWebhookStep
	// Webhook is the webhook it names.
	Webhook deployv1alpha1.Webhook
	// Attempt is the 1-based attempt.
	Attempt int32
	// Start is when the gates began, for {{armory.startTime*}}.
	Start time.Time
	// ReplicaSetName is the target's new version, for afterDeployment gates.
	ReplicaSetName string
}

// evalWebhookGates runs the runWebhook gates of one kind of a target (nil entries are gates of
// other kinds), all in parallel from start. Each is called at once, and again after a failed
// attempt (after webhookcall.Backoff) up to its retryCount more times; once a call succeeded it
// waits for the callback: an approve on the gate (a successful callback) passes it, a rollback or
// reject (a failed callback) fails it with the Judgment's reason; no callback within the webhook's
// timeout fails it. With disableCallback a successful call passes it. It returns the verdict, the
// gates' call records (from prev, updated) and the calls due now.
func evalWebhookGates(target, kind string, steps []*deployv1alpha1.RunWebhookStep, specs []deployv1alpha1.Webhook, start time.Time,
	decisions map[string][]gateDecision, prev []deployv1alpha1.WebhookCall, now time.Time) (gatesResult, []deployv1alpha1.WebhookCall, []DueWebhookCall) {
	res := gatesResult{verdict: gatePassed, passedAt: start}
	var records []deployv1alpha1.WebhookCall
	var due []DueWebhookCall
	var failed, waiting []string
	for i, step := range steps {
		if step == nil {
			continue
		}
		gate := GateName(kind, i)
		spec := findWebhook(specs, step.Name)
		if spec == nil {
			failed = append(failed, fmt.Sprintf("%s: webhook %q is not in spec.webhooks", gate, step.Name))
			continue
		}
		rec := deployv1alpha1.WebhookCall{Gate: gate, Name: step.Name}
		if p := findCall(prev, gate); p != nil {
			rec = *p.DeepCopy()
		}
		decs := slices.Clone(decisions[gate])
		slices.SortStableFunc(decs, func(a, b gateDecision) int { return a.at.Compare(b.at) })
		if rec.Phase == deployv1alpha1.WebhookCalling && rec.Attempts > 0 {
			// A callback may come back while an attempt is in flight (or before its answer is
			// recorded): it decides as if the call had been answered.
			if _, ok := firstCallback(decs); ok {
				rec.Phase = deployv1alpha1.WebhookAwaitingCallback
			} else {
				res.waiting = append(res.waiting, WaitingGate{Binding: Binding{Target: target, Gate: gate}, Approval: true, Callback: true,
					Since: rec.CalledAt})
			}
		}
		inFlight := rec.Phase == deployv1alpha1.WebhookCalling && rec.Attempts > 0 && rec.Message == "" && rec.CalledAt != nil
		switch rec.Phase {
		case "", deployv1alpha1.WebhookCalling:
			nextAt := start
			if rec.CalledAt != nil {
				nextAt = rec.CalledAt.Add(webhookcall.Backoff(rec.Attempts))
			}
			switch {
			case inFlight && now.Before(rec.CalledAt.Add(inFlightGrace)):
				// Its answer is not recorded yet.
				res.wake = earliest(res.wake, rec.CalledAt.Add(inFlightGrace))
				waiting = append(waiting, fmt.Sprintf("calling webhook %s of %s", step.Name, gate))
			case rec.Attempts >= spec.RetryCount+1:
				if inFlight {
					rec.Message = "no answer recorded"
				}
				rec.Phase = deployv1alpha1.WebhookFailed
				failed = append(failed, fmt.Sprintf("webhook %s of %s failed after %d attempts: %s", step.Name, gate, rec.Attempts, rec.Message))
			case rec.Attempts == 0 || !now.Before(nextAt):
				due = append(due, DueWebhookCall{Target: target, Gate: gate, Step: step, Webhook: *spec, Attempt: rec.Attempts + 1, Start: start})
				waiting = append(waiting, fmt.Sprintf("calling webhook %s of %s", step.Name, gate))
			default:
				res.wake = earliest(res.wake, nextAt)
				waiting = append(waiting, fmt.Sprintf("retrying webhook %s of %s at %s", step.Name, gate, nextAt.UTC().Format(time.RFC3339)))
			}
		case deployv1alpha1.WebhookAwaitingCallback:
			calledAt := start
			if rec.CalledAt != nil {
				calledAt = rec.CalledAt.Time
			}
			deadline := calledAt.Add(webhookcall.CallbackTimeout(spec))
			decided := false
			for _, d := range decs {
				if !d.at.Before(deadline) {
					break
				}
				switch d.decision {
				case deployv1alpha1.DecisionApprove:
					rec.Phase, rec.Message, decided = deployv1alpha1.WebhookSucceeded, d.reason, true
					res.passedAt = later(res.passedAt, d.at)
				case deployv1alpha1.DecisionReject, deployv1alpha1.DecisionRollback:
					rec.Phase, rec.Message, decided = deployv1alpha1.WebhookFailed, d.reason, true
					failed = append(failed, fmt.Sprintf("webhook %s of %s failed by %s%s", step.Name, gate, d.by(), suffix(d.reason)))
				default:
					continue
				}
				break
			}
			switch {
			case decided:
			case !now.Before(deadline):
				rec.Phase = deployv1alpha1.WebhookTimedOut
				rec.Message = fmt.Sprintf("no callback within %s", formatWait(webhookcall.CallbackTimeout(spec)))
				failed = append(failed, fmt.Sprintf("webhook %s of %s: %s", step.Name, gate, rec.Message))
			default:
				res.wake = earliest(res.wake, deadline)
				res.waiting = append(res.waiting, WaitingGate{Binding: Binding{Target: target, Gate: gate}, Approval: true, Callback: true,
					Since: timePtr(calledAt), Until: timePtr(deadline)})
				waiting = append(waiting, fmt.Sprintf("waiting for the callback of webhook %s of %s", step.Name, gate))
			}
		case deployv1alpha1.WebhookSucceeded:
			if rec.CalledAt != nil {
				res.passedAt = later(res.passedAt, rec.CalledAt.Time)
			}
		default:
			failed = append(failed, fmt.Sprintf("webhook %s of %s %s: %s", step.Name, gate, strings.ToLower(string(rec.Phase)), rec.Message))
		}
		records = append(records, rec)
	}
	switch {
	case len(failed) > 0:
		res = gatesResult{verdict: gateFailed, message: strings.Join(failed, "; ")}
	case len(waiting) > 0:
		res.verdict, res.message, res.passedAt = gateWaiting, strings.Join(waiting, "; "), time.Time{}
	}
	return res, records, due
}

// mergeGates combines the results of a target's pause gates and webhook gates of one kind: a
// failed, rejected or expired gate decides; else any waiting gate waits; else they passed when the
// last did.
func mergeGates(a, b gatesResult) gatesResult {
	for _, v := range []gateVerdict{gateFailed, gateRejected, gateExpired} {
		switch {
		case a.verdict == v && b.verdict == v:
			return gatesResult{verdict: v, message: a.message + "; " + b.message}
		case a.verdict == v:
			return a
		case b.verdict == v:
			return b
		}
	}
	if a.verdict == gateWaiting || b.verdict == gateWaiting {
		out := gatesResult{verdict: gateWaiting, waiting: append(slices.Clone(a.waiting), b.waiting...), wake: earliest(a.wake, b.wake)}
		var msgs []string
		for _, g := range []gatesResult{a, b} {
			if g.verdict == gateWaiting && g.message != "" {
				msgs = append(msgs, g.message)
			}
		}
		out.message = strings.Join(msgs, "; ")
		return out
	}
	return gatesResult{verdict: gatePassed, passedAt: later(a.passedAt, b.passedAt)}
}

// constraintGates evaluates a target's gates of one kind (pauses and webhooks) from start, keeps
// the webhooks' call records in the target's status and plans the calls due now.
func (p *planner) constraintGates(tp *TargetPlan, t deployv1alpha1.Target, kind string, start time.Time, decs *targetDecisions, replicaSet string) gatesResult {
	pauses, hooks := beforePauses(t), beforeWebhooks(&p.in.Deployment.Spec, t)
	if kind == AfterDeploymentGate {
		pauses, hooks = afterPauses(t), afterWebhooks(&p.in.Deployment.Spec, t)
	}
	g := evalGates(tp.Status.Name, kind, pauses, start, decs.gates, p.in.Now)
	w, records, due := evalWebhookGates(tp.Status.Name, kind, hooks, p.in.Deployment.Spec.Webhooks, start, decs.gates, p.prev[tp.Status.Name].Webhooks, p.in.Now)
	for _, r := range records {
		tp.Status.Webhooks = recordCall(tp.Status.Webhooks, r)
	}
	for i := range due {
		due[i].ReplicaSetName = replicaSet
	}
	p.plan.WebhookCalls = append(p.plan.WebhookCalls, due...)
	return mergeGates(g, w)
}

// passedBeforeCalls returns the call records of the beforeDeployment webhook gates of a target whose
// Rollout exists (so they passed), settled again from the Judgments: a stale status read cannot
// leave one waiting. The records of its afterDeployment gates that this controller calls come along
// as they are (those of the gates the Rollout runs are in the Rollout's status).
func (p *planner) passedBeforeCalls(t deployv1alpha1.Target, target string, decs *targetDecisions, ro *rolloutv1alpha1.Rollout) []deployv1alpha1.WebhookCall {
	prev := p.prev[target]
	start := p.in.Now
	if prev.StartedAt != nil {
		start = prev.StartedAt.Time
	}
	_, records, _ := evalWebhookGates(target, BeforeDeploymentGate, beforeWebhooks(&p.in.Deployment.Spec, t), p.in.Deployment.Spec.Webhooks, start, decs.gates, prev.Webhooks, p.in.Now)
	for _, c := range prev.Webhooks {
		if kind, _, ok := ParseGate(c.Gate); ok && kind == AfterDeploymentGate && !RunsInRollout(ro, c.Gate) {
			records = append(records, c)
		}
	}
	return records
}

// beforeWebhooks returns the beforeDeployment webhook gates this controller calls (networkMode
// direct), by index; nil entries are gates of other kinds or webhooks the Rollout's executor calls
// (remoteNetworkAgent), before it applies anything.
func beforeWebhooks(spec *deployv1alpha1.DeploymentSpec, t deployv1alpha1.Target) []*deployv1alpha1.RunWebhookStep {
	if t.Constraints == nil {
		return nil
	}
	out := make([]*deployv1alpha1.RunWebhookStep, len(t.Constraints.BeforeDeployment))
	for i, g := range t.Constraints.BeforeDeployment {
		if g.RunWebhook != nil && !viaAgent(spec, g.RunWebhook.Name) {
			out[i] = g.RunWebhook
		}
	}
	return out
}

// afterWebhooks returns the afterDeployment webhook gates this controller calls (networkMode
// direct), by index; nil entries are gates of other kinds or webhooks the Rollout's executor calls
// (remoteNetworkAgent), which passed when the Rollout succeeded.
func afterWebhooks(spec *deployv1alpha1.DeploymentSpec, t deployv1alpha1.Target) []*deployv1alpha1.RunWebhookStep {
	if t.Constraints == nil {
		return nil
	}
	out := make([]*deployv1alpha1.RunWebhookStep, len(t.Constraints.AfterDeployment))
	for i, g := range t.Constraints.AfterDeployment {
		if g.RunWebhook != nil && !viaAgent(spec, g.RunWebhook.Name) {
			out[i] = g.RunWebhook
		}
	}
	return out
}

func findWebhook(specs []deployv1alpha1.Webhook, name string) *deployv1alpha1.Webhook {
	for i := range specs {
		if specs[i].Name == name {
			return &specs[i]
		}
	}
	return nil
}

func findCall(calls []deployv1alpha1.WebhookCall, gate string) *deployv1alpha1.WebhookCall {
	for i := range calls {
		if calls[i].Gate == gate {
			return &calls[i]
		}
	}
	return nil
}

// recordCall replaces (or appends) the record of a gate's call.
func recordCall(calls []deployv1alpha1.WebhookCall, c deployv1alpha1.WebhookCall) []deployv1alpha1.WebhookCall {
	out := slices.Clone(calls)
	for i := range out {
		if out[i].Gate == c.Gate {
			out[i] = c
			return out
		}
	}
	return append(out, c)
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// formatWait writes whole hours, minutes or seconds as "24h", "30m", "45s".
func formatWait(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// onlyWebhooks reports whether every waiting gate is a webhook's call or callback: the target is
// then RUNNING rather than PAUSED.
func onlyWebhooks(ws []WaitingGate) bool {
	return !slices.ContainsFunc(ws, func(w WaitingGate) bool { return !w.Callback })
}

// firstCallback returns the first decision that a callback makes (approve, reject or rollback).
func firstCallback(decs []gateDecision) (gateDecision, bool) {
	for _, d := range decs {
		switch d.decision {
		case deployv1alpha1.DecisionApprove, deployv1alpha1.DecisionReject, deployv1alpha1.DecisionRollback:
			return d, true
		}
	}
	return gateDecision{}, false
}
