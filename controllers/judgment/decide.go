package judgment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

// Verdict is the Judgment controller's decision on a Judgment.
type Verdict struct {
	// Reason is deployv1alpha1.ReasonApplied (accepted), ReasonNotApplicable or ReasonForbidden.
	Reason string
	// AppliedTo are the bindings ("target" or "target/gate") of an accepted Judgment.
	AppliedTo []string
	// Message explains the verdict.
	Message string
}

// Accepted reports whether the Judgment was accepted.
func (v Verdict) Accepted() bool { return v.Reason == deployv1alpha1.ReasonApplied }

// Inputs are what Decide reads.
type Inputs struct {
	// Deployment is the Deployment the Judgment names; nil when it does not exist.
	Deployment *deployv1alpha1.Deployment
	// Rollouts are the Rollouts the Deployment owns.
	Rollouts []rolloutv1alpha1.Rollout
	// Accepted are the Judgments accepted for the Deployment before this one.
	Accepted []deployv1alpha1.Judgment
	// Now is the current time.
	Now time.Time
}

// Decide judges a Judgment against what its Deployment is doing now, as the Deployment controller
// plans it (deployment.PlanTargets with the Judgments accepted so far):
//
//   - approve and reject match approvals that wait (constraint gates untilApproved and Rollouts in
//     AwaitingApproval), skip matches timed pauses that run; narrowed by spec.target and spec.gate.
//     Failing that, a decision naming a target whose Rollout runs (and no constraint gate, or one
//     the Rollout runs itself) is passed to that Rollout for its step spec.gate, or for whatever
//     step waits next when empty.
//   - rollback matches targets whose Rollout runs.
//   - cancel matches every target that is not final (all selected targets of a deployment that
//     has not started).
//
// Approving or rejecting a pause with requiresRoles needs an author who holds one of them, or an
// admin; it is all or nothing. Nothing matching → NotApplicable; a missing role → Forbidden.
func Decide(j *deployv1alpha1.Judgment, in Inputs) Verdict {
	d := in.Deployment
	name := j.Spec.DeploymentName
	if d == nil {
		return notApplicable("Deployment %s does not exist in namespace %s", name, j.Namespace)
	}
	if d.Status.State.IsFinal() {
		return notApplicable("deployment %s has finished (%s); a finished deployment does not change: start a new one", name, d.Status.State)
	}
	if errs := deployment.Validate(&d.Spec); len(errs) > 0 {
		return notApplicable("deployment %s has an invalid spec; it does not run", name)
	}
	selected := deployment.SelectedTargets(&d.Spec)
	if t := j.Spec.Target; t != "" && !slices.Contains(selected, t) {
		return notApplicable("deployment %s has no target %q; its targets are %s", name, t, strings.Join(selected, ", "))
	}
	if d.Status.StartedAt == nil {
		if j.Spec.Decision != deployv1alpha1.DecisionCancel {
			return notApplicable("deployment %s has not started (%s); only cancel applies to it", name, orDefault(string(d.Status.State), "new"))
		}
		return bind(j, targets(selected, j.Spec.Target), "")
	}

	plan := deployment.PlanTargets(deployment.Input{Deployment: d, Rollouts: in.Rollouts, Judgments: in.Accepted, Now: in.Now})
	switch j.Spec.Decision {
	case deployv1alpha1.DecisionCancel:
		var open []string
		for _, t := range plan.Targets {
			if !t.Status.State.IsFinal() {
				open = append(open, t.Status.Name)
			}
		}
		if ts := targets(open, j.Spec.Target); len(ts) > 0 {
			return bind(j, ts, "")
		}
		return notApplicable("nothing of deployment %s is left to cancel%s", name, on(j.Spec.Target, ""))
	case deployv1alpha1.DecisionRollback:
		// A failed callback of a constraint webhook: it fails that gate.
		if w, ok := waitingCallback(plan, j.Spec.Target, j.Spec.Gate); ok {
			return accepted(j, []string{w.Binding.String()})
		}
		if ts := targets(running(plan), j.Spec.Target); len(ts) > 0 {
			return bind(j, ts, j.Spec.Gate)
		}
		return notApplicable("no target of deployment %s is running%s; a finished target cannot be rolled back: redeploy instead", name, on(j.Spec.Target, ""))
	default:
		return decideWait(j, in, plan)
	}
}

// decideWait judges an approve, reject or skip.
func decideWait(j *deployv1alpha1.Judgment, in Inputs, plan deployment.Plan) Verdict {
	author := AuthorOf(j)
	wantApproval := j.Spec.Decision != deployv1alpha1.DecisionSkip
	var matches []deployment.WaitingGate
	for _, w := range plan.Waiting {
		if w.Approval != wantApproval || (j.Spec.Target != "" && w.Target != j.Spec.Target) || (j.Spec.Gate != "" && w.Gate != j.Spec.Gate) {
			continue
		}
		if w.Approval && w.Until != nil && !in.Now.Before(w.Until.Time) {
			continue // expired
		}
		matches = append(matches, w)
	}
	if len(matches) == 0 {
		t := j.Spec.Target
		if t == "" || (deployment.IsConstraintGate(j.Spec.Gate) && !runsInRollout(in.Rollouts, t, j.Spec.Gate)) || !slices.Contains(running(plan), t) {
			what := "an approval"
			if !wantApproval {
				what = "a timed pause to skip"
			}
			return notApplicable("nothing of deployment %s waits for %s%s", j.Spec.DeploymentName, what, on(t, j.Spec.Gate))
		}
		if by := decidedOnRollout(in.Rollouts, plan, t, j.Spec.Gate); by != "" {
			return notApplicable("%s of target %s was decided already, by judgment %s", j.Spec.Gate, t, by)
		}
		if wantApproval {
			if roles := rolesAhead(in.Rollouts, t, j.Spec.Gate); !author.MayDecide(roles) {
				return forbidden("%s holds none of the roles %s that the approvals of target %s require", author, strings.Join(roles, ", "), t)
			}
		}
		return bind(j, []string{t}, j.Spec.Gate)
	}
	var appliedTo []string
	for _, w := range matches {
		if wantApproval && !author.MayDecide(w.RequiresRoles) {
			return forbidden("%s holds none of the roles %s that %s requires", author, strings.Join(w.RequiresRoles, ", "), w.Binding)
		}
		appliedTo = append(appliedTo, w.Binding.String())
	}
	return accepted(j, appliedTo)
}

// runsInRollout reports whether a constraint gate of a target is one its Rollout's executor runs
// (an afterDeployment analysis or remoteNetworkAgent webhook gate): a decision on it, such as the
// webhook's callback, goes to the Rollout as a decision on a step does.
func runsInRollout(rollouts []rolloutv1alpha1.Rollout, target, gate string) bool {
	return slices.ContainsFunc(rollouts, func(ro rolloutv1alpha1.Rollout) bool {
		return ro.Spec.Target == target && deployment.RunsInRollout(&ro, gate)
	})
}

// decidedOnRollout returns the name of the decision (approve, reject or skip) for gate that a
// target's Rollout has or is about to get from an accepted Judgment; "" if none or if gate is
// empty.
func decidedOnRollout(rollouts []rolloutv1alpha1.Rollout, plan deployment.Plan, target, gate string) string {
	if gate == "" {
		return ""
	}
	var decisions []rolloutv1alpha1.RolloutDecision
	for _, ro := range rollouts {
		if ro.Spec.Target == target {
			decisions = append(decisions, ro.Spec.Decisions...)
		}
	}
	for _, pd := range plan.Decisions {
		if pd.Target == target {
			decisions = append(decisions, pd.Decision)
		}
	}
	for _, d := range decisions {
		if d.Gate == gate && d.Decision != deployv1alpha1.DecisionRollback && d.Decision != deployv1alpha1.DecisionCancel {
			return d.Name
		}
	}
	return ""
}

// rolesAhead returns the roles every approval of a running target's Rollout could require: the
// pause at gate, or, with no gate, every pause untilApproved of its strategy.
func rolesAhead(rollouts []rolloutv1alpha1.Rollout, target, gate string) []string {
	for _, ro := range rollouts {
		if ro.Spec.Target != target {
			continue
		}
		if gate != "" {
			if p := deployment.PauseAt(&ro.Spec.Strategy, gate); p != nil && p.UntilApproved {
				return p.RequiresRoles
			}
			return nil
		}
		var roles []string
		for _, g := range strategyGates(&ro.Spec.Strategy) {
			if p := deployment.PauseAt(&ro.Spec.Strategy, g); p != nil && p.UntilApproved {
				for _, r := range p.RequiresRoles {
					if !slices.Contains(roles, r) {
						roles = append(roles, r)
					}
				}
			}
		}
		return roles
	}
	return nil
}

// strategyGates names every step and condition of a strategy.
func strategyGates(s *deployv1alpha1.Strategy) []string {
	var out []string
	if s.Canary != nil {
		for i := range s.Canary.Steps {
			out = append(out, deployment.GateName(deployment.StepsGate, i))
		}
	}
	if s.BlueGreen != nil {
		for i := range s.BlueGreen.RedirectTrafficAfter {
			out = append(out, deployment.GateName(deployment.RedirectTrafficAfterGate, i))
		}
		for i := range s.BlueGreen.ShutDownOldVersionAfter {
			out = append(out, deployment.GateName(deployment.ShutDownOldVersionAfterGate, i))
		}
	}
	return out
}

// running returns the targets whose Rollout runs.
func running(plan deployment.Plan) []string {
	var out []string
	for _, t := range plan.Targets {
		if t.Running {
			out = append(out, t.Status.Name)
		}
	}
	return out
}

// targets narrows names to target when it is set.
func targets(names []string, target string) []string {
	if target == "" {
		return names
	}
	if slices.Contains(names, target) {
		return []string{target}
	}
	return nil
}

func bind(j *deployv1alpha1.Judgment, targets []string, gate string) Verdict {
	var out []string
	for _, t := range targets {
		out = append(out, deployment.Binding{Target: t, Gate: gate}.String())
	}
	return accepted(j, out)
}

func accepted(j *deployv1alpha1.Judgment, appliedTo []string) Verdict {
	return Verdict{Reason: deployv1alpha1.ReasonApplied, AppliedTo: appliedTo,
		Message: fmt.Sprintf("%s applied to %s", j.Spec.Decision, strings.Join(appliedTo, ", "))}
}

func notApplicable(format string, args ...any) Verdict {
	return Verdict{Reason: deployv1alpha1.ReasonNotApplicable, Message: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) Verdict {
	return Verdict{Reason: deployv1alpha1.ReasonForbidden, Message: fmt.Sprintf(format, args...)}
}

// on says which target and gate a message is about.
func on(target, gate string) string {
	switch {
	case target == "":
		return ""
	case gate == "":
		return " on target " + target
	default:
		return fmt.Sprintf(" at %s of target %s", gate, target)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// waitingCallback returns the constraint webhook gate of target that waits for its callback, when
// gate names one.
func waitingCallback(plan deployment.Plan, target, gate string) (deployment.WaitingGate, bool) {
	if target == "" || !deployment.IsConstraintGate(gate) {
		return deployment.WaitingGate{}, false
	}
	for _, w := range plan.Waiting {
		if w.Callback && w.Target == target && w.Gate == gate {
			return w, true
		}
	}
	return deployment.WaitingGate{}, false
}
