package executor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// Steps of a blue/green execution.
const (
	// DeployNewVersion runs the new version at full replicas beside the stable one and waits until
	// it is Ready. The preview Services select it at once.
	DeployNewVersion StepKind = "deployNewVersion"
	// RedirectTrafficAfter runs the redirectTrafficAfter conditions, in parallel; once all passed
	// the active Services are switched to the new version.
	RedirectTrafficAfter StepKind = "redirectTrafficAfter"
	// ShutDownOldVersionAfter runs the shutDownOldVersionAfter conditions, in parallel, while the
	// active Services select the new version; once all passed the old version is removed.
	ShutDownOldVersionAfter StepKind = "shutDownOldVersionAfter"
)

// BlueGreenPlan is the plan of a blue/green execution.
type BlueGreenPlan struct {
	// Steps are DeployNewVersion, RedirectTrafficAfter (weight 0) and ShutDownOldVersionAfter
	// (weight 100: the active Services select the new version); a first deployment has only
	// DeployNewVersion, at weight 100.
	Steps []Step
	// Redirect are the redirectTrafficAfter conditions.
	Redirect []Condition
	// ShutDown are the shutDownOldVersionAfter conditions.
	ShutDown []Condition
}

// PlanBlueGreen plans a blue/green strategy. after are the Rollout's afterDeployment gates (see
// AfterDeploymentConditions): they join the shutDownOldVersionAfter conditions and run in parallel
// with them, after the active Services were switched and before the old version is removed. A
// first deployment (nothing stable runs) has no strategy conditions: the new version gets the
// active Services as soon as it is Ready; with afterDeployment gates, a second step
// (ShutDownOldVersionAfter, weight 100) then runs them before the Rollout succeeds.
func PlanBlueGreen(bg *deployv1alpha1.BlueGreenStrategy, firstDeployment bool, after []Condition) BlueGreenPlan {
	if firstDeployment || bg == nil {
		plan := BlueGreenPlan{Steps: []Step{{Index: -1, Kind: DeployNewVersion, Weight: 100}}}
		if len(after) > 0 {
			plan.Steps = append(plan.Steps, Step{Index: -1, Kind: ShutDownOldVersionAfter, Weight: 100})
			plan.ShutDown = slices.Clone(after)
		}
		return plan
	}
	plan := BlueGreenPlan{Steps: []Step{
		{Index: -1, Kind: DeployNewVersion},
		{Index: -1, Kind: RedirectTrafficAfter},
		{Index: -1, Kind: ShutDownOldVersionAfter, Weight: 100},
	}}
	for i, c := range bg.RedirectTrafficAfter {
		plan.Redirect = append(plan.Redirect, Condition{Gate: conditionGate(RedirectTrafficAfter, i), Kind: ConditionKindOf(c), Spec: c})
	}
	for i, c := range bg.ShutDownOldVersionAfter {
		plan.ShutDown = append(plan.ShutDown, Condition{Gate: conditionGate(ShutDownOldVersionAfter, i), Kind: ConditionKindOf(c), Spec: c})
	}
	plan.ShutDown = append(plan.ShutDown, after...)
	return plan
}

// conditionGate names the i-th condition of a group: redirectTrafficAfter[i].
func conditionGate(group StepKind, i int) string { return string(group) + "[" + strconv.Itoa(i) + "]" }

// group returns the conditions a step runs.
func (p BlueGreenPlan) group(kind StepKind) []Condition {
	switch kind {
	case RedirectTrafficAfter:
		return p.Redirect
	case ShutDownOldVersionAfter:
		return p.ShutDown
	}
	return nil
}

// stepOf returns the 1-based step that runs a gate, or 0 when no condition has that gate.
func (p BlueGreenPlan) stepOf(gate string) int32 {
	for i, s := range p.Steps {
		if slices.ContainsFunc(p.group(s.Kind), func(c Condition) bool { return c.Gate == gate }) {
			return int32(i + 1)
		}
	}
	return 0
}

// BlueGreenServices returns the active and preview Services of a blue/green strategy: the
// strategy's own, then those of the trafficManagement kubernetes blocks, each name once.
func BlueGreenServices(bg *deployv1alpha1.BlueGreenStrategy, traffic []deployv1alpha1.TrafficManagement) (active, preview []string) {
	add := func(list []string, name string) []string {
		if name == "" || slices.Contains(list, name) {
			return list
		}
		return append(list, name)
	}
	if bg != nil {
		active, preview = add(active, bg.ActiveService), add(preview, bg.PreviewService)
	}
	for _, tm := range traffic {
		for _, k := range tm.Kubernetes {
			active, preview = add(active, k.ActiveService), add(preview, k.PreviewService)
		}
	}
	return active, preview
}

// blueGreenSplits are the replicas of each workload: the new version at full replicas, the stable
// one at what it ran before the Rollout.
func (in *ExecutionInput) blueGreenSplits() []Split {
	out := make([]Split, len(in.Workloads))
	for i, w := range in.Workloads {
		out[i] = Split{New: max(w.FullReplicas, 0)}
		if !w.Stable.IsZero() && w.StableObserved != nil {
			out[i].Stable = w.StableReplicas
		}
	}
	return out
}

// NextBlueGreenAction decides what a running blue/green execution does now. It continues from the
// state kept on the new versions: DeployNewVersion waits until the new version runs full replicas,
// all Ready (or rolls back once the timeout has passed since the start); RedirectTrafficAfter and
// then ShutDownOldVersionAfter run their conditions in parallel through runners, all starting when
// the step starts, and go on once every one passed; a failed condition (a rejected approval, a
// failed analysis) rolls back. Rollback and cancel decisions end it at any step until it
// finalizes. Decisions for a condition of a later step wait until that step runs; one with an
// empty gate goes to the condition that waits (an approval first); others are discarded.
func NextBlueGreenAction(ctx context.Context, in ExecutionInput, plan BlueGreenPlan, runners ConditionRunners) (act Action) {
	states := make([]*WorkloadState, len(in.Workloads))
	finalizing := false
	for i := range in.Workloads {
		states[i] = in.Workloads[i].State
		if s := states[i]; s != nil && s.Role == roleStable {
			finalizing = true
		}
	}
	state, ok := combineStates(states)
	if !ok {
		state = ExecutionState{Step: 1, StepStartedAt: in.StartedAt}
	}
	last := int32(len(plan.Steps))
	state.Step = min(max(state.Step, 1), last)
	act = Action{State: state, Splits: in.blueGreenSplits()}
	act.State.Decisions = slices.Clone(state.Decisions)
	act.State.Passed = slices.Clone(state.Passed)
	defer func() { act.Conditions = conditionStatuses(plan, act) }()
	if finalizing {
		act.State.Step, act.Step = last, plan.Steps[last-1]
		act.Outcome, act.Message = OutcomeFinalize, "the new version receives all traffic"
		return act
	}

	for range len(plan.Steps) + 1 {
		step := plan.Steps[act.State.Step-1]
		act.Step = step
		prefix := fmt.Sprintf("step %d/%d", act.State.Step, last)
		m := matchConditionDecisions(in.Decisions, act.State.Decisions, plan, act.State.Step, act.State.Passed)
		act.State.Decisions = append(act.State.Decisions, m.Discard...)
		act.Discarded = append(act.Discarded, m.Discard...)
		if d := m.Terminal; d != nil {
			act.Acted = append(act.Acted, ActedDecision{RolloutDecision: *d, Step: act.State.Step})
			if d.Decision == deployv1alpha1.DecisionCancel {
				act.Outcome, act.Message = OutcomeCancel, fmt.Sprintf("cancelled by decision %s at %s", d.Name, prefix)
			} else {
				act.Outcome, act.Message = OutcomeRollBack, fmt.Sprintf("rolled back by decision %s at %s%s", d.Name, prefix, reasonSuffix(d.Reason))
			}
			for _, c := range plan.group(step.Kind) {
				if c.Spec.RunWebhook != nil {
					in.terminalOnWebhook(&act, Step{Index: -1, Kind: RunWebhook, Webhook: c.Spec.RunWebhook, ConditionGate: c.Gate}, d.Gate, d.Reason)
				}
			}
			return act
		}

		switch step.Kind {
		case DeployNewVersion:
			ready, why := in.ready(act.Splits)
			if !ready {
				elapsed := in.Now.Sub(act.State.StepStartedAt)
				if elapsed >= in.Timeout {
					act.Outcome, act.Message = OutcomeRollBack, why.notReady(in.Timeout)
					return act
				}
				act.Outcome = OutcomeWait
				what := "deploying the new version beside the stable one"
				if last == 1 {
					what = "deploying the first version"
				}
				act.Message = fmt.Sprintf("%s: %s: waiting for %s", prefix, what, why.waiting())
				act.RequeueAfter = in.Timeout - elapsed
				return act
			}
		default:
			if done := runGroup(ctx, &act, in, plan.group(step.Kind), m.ByGate, runners, prefix); !done {
				return act
			}
		}
		if act.State.Step == last {
			act.Outcome, act.Message = OutcomeFinalize, "the new version receives all traffic"
			return act
		}
		act.State.Step++
		act.State.StepStartedAt = in.Now
		act.Started = append(act.Started, plan.Steps[act.State.Step-1])
	}
	return act
}

// runGroup runs the conditions of the current step that have not passed. It reports true once all
// passed; otherwise it sets the action's outcome: a rollback when one failed, else waiting for an
// approval, a timed pause or a running condition.
func runGroup(ctx context.Context, act *Action, in ExecutionInput, conds []Condition, byGate map[string]*rolloutv1alpha1.RolloutDecision, runners ConditionRunners, prefix string) bool {
	var waiting []string
	var approval, paused string
	act.running = map[string]ConditionOutcome{}
	for _, c := range conds {
		if slices.Contains(act.State.Passed, c.Gate) {
			continue
		}
		runner := runners[c.Kind]
		if runner == nil {
			act.Outcome, act.Message = OutcomeRollBack, fmt.Sprintf("%s: %s conditions are not supported yet", c.Gate, c.Kind)
			return false
		}
		d := byGate[c.Gate]
		out := runner.Run(ConditionInput{Context: ctx, Condition: c, Since: act.State.StepStartedAt, Now: in.Now, Decision: d, Execution: &in})
		act.WebhookUpdates = append(act.WebhookUpdates, out.WebhookUpdates...)
		if act.AnalysisDue == nil && act.WebhookDue == nil {
			// one call per pass; the next pass (right after it) makes the next one due
			act.AnalysisDue, act.WebhookDue = out.AnalysisDue, out.WebhookDue
		} else if out.AnalysisDue != nil || out.WebhookDue != nil {
			act.RequeueAfter = requeueMargin
		}
		if out.ActedOn && d != nil {
			act.Acted = append(act.Acted, ActedDecision{RolloutDecision: *d, Step: act.State.Step})
			act.State.Decisions = append(act.State.Decisions, d.Name)
		}
		act.running[c.Gate] = out
		switch out.State {
		case rolloutv1alpha1.ConditionPassed:
			act.State.Passed = append(act.State.Passed, c.Gate)
			continue
		case rolloutv1alpha1.ConditionFailed:
			act.Outcome, act.Message = OutcomeRollBack, fmt.Sprintf("%s failed at %s: %s", c.Gate, prefix, out.Message)
			if d != nil && out.ActedOn && d.Decision == deployv1alpha1.DecisionReject {
				act.Message = fmt.Sprintf("rejected by decision %s at %s", d.Name, c.Gate)
			}
			return false
		case rolloutv1alpha1.ConditionAwaitingApproval:
			if approval == "" {
				approval = c.Gate
			}
		case rolloutv1alpha1.ConditionPaused:
			if paused == "" {
				paused = c.Gate
			}
		}
		waiting = append(waiting, c.Gate+" "+out.Message)
		if r := out.RequeueAfter; r > 0 && (act.RequeueAfter == 0 || r < act.RequeueAfter) {
			act.RequeueAfter = r
		}
	}
	if len(waiting) == 0 {
		return true
	}
	switch {
	case approval != "":
		act.Outcome, act.WaitingFor = OutcomeAwaitingApproval, approval
	case paused != "":
		act.Outcome, act.WaitingFor = OutcomePaused, paused
	default:
		act.Outcome = OutcomeWait
	}
	act.Message = fmt.Sprintf("%s: %s: %s", prefix, act.Step.Kind, strings.Join(waiting, "; "))
	return false
}

// conditionMatch is what the decisions of a Rollout mean for a blue/green step.
type conditionMatch struct {
	// Terminal is the first pending rollback or cancel decision.
	Terminal *rolloutv1alpha1.RolloutDecision
	// ByGate are the pending decisions that fall to a condition of the step, by its gate.
	ByGate map[string]*rolloutv1alpha1.RolloutDecision
	// Discard are pending decisions that can never act.
	Discard []string
}

// matchConditionDecisions matches the pending decisions (not in handled) against the step the
// execution is at. A decision naming a condition of the step goes to it when the condition can act
// on it and has not passed; one naming a condition of a later step waits; one with an empty gate
// goes to the first condition of the step that waits for an approval (approve, reject) or for its
// time (skip, or approve when no approval waits). Everything else is discarded.
func matchConditionDecisions(decisions []rolloutv1alpha1.RolloutDecision, handled []string, plan BlueGreenPlan, step int32, passed []string) conditionMatch {
	m := conditionMatch{ByGate: map[string]*rolloutv1alpha1.RolloutDecision{}}
	conds := plan.group(plan.Steps[step-1].Kind)
	open := func(c Condition) bool { return !slices.Contains(passed, c.Gate) && m.ByGate[c.Gate] == nil }
	for i := range decisions {
		d := &decisions[i]
		if slices.Contains(handled, d.Name) {
			continue
		}
		switch d.Decision {
		case deployv1alpha1.DecisionRollback, deployv1alpha1.DecisionCancel:
			if m.Terminal == nil {
				m.Terminal = d
			}
			continue
		case deployv1alpha1.DecisionApprove, deployv1alpha1.DecisionSkip, deployv1alpha1.DecisionReject:
		default:
			m.Discard = append(m.Discard, d.Name)
			continue
		}
		if d.Gate == "" {
			if c, ok := emptyGateTarget(conds, d.Decision, open); ok {
				m.ByGate[c.Gate] = d
			} else {
				m.Discard = append(m.Discard, d.Name)
			}
			continue
		}
		at := plan.stepOf(d.Gate)
		switch {
		case at > step:
			// for a later step: keep it until the execution gets there
		case at == step:
			i := slices.IndexFunc(conds, func(c Condition) bool { return c.Gate == d.Gate })
			if c := conds[i]; open(c) && acceptsDecision(c, d.Decision) {
				m.ByGate[c.Gate] = d
			} else {
				m.Discard = append(m.Discard, d.Name)
			}
		default:
			m.Discard = append(m.Discard, d.Name)
		}
	}
	return m
}

// emptyGateTarget picks the condition a decision without a gate falls to: a pause (an analysis or a
// webhook takes only decisions that name its gate).
func emptyGateTarget(conds []Condition, d deployv1alpha1.Decision, open func(Condition) bool) (Condition, bool) {
	untilApproved := func(c Condition) bool { return c.Spec.Pause != nil && c.Spec.Pause.UntilApproved }
	if d == deployv1alpha1.DecisionApprove || d == deployv1alpha1.DecisionReject {
		for _, c := range conds {
			if untilApproved(c) && open(c) {
				return c, true
			}
		}
	}
	for _, c := range conds {
		if c.Spec.Pause != nil && !untilApproved(c) && open(c) && acceptsDecision(c, d) {
			return c, true
		}
	}
	return Condition{}, false
}

// conditionStatuses is the state of every condition after a pass: passed, as the runners left
// them in the running step, or pending.
func conditionStatuses(plan BlueGreenPlan, act Action) []rolloutv1alpha1.StrategyConditionStatus {
	var out []rolloutv1alpha1.StrategyConditionStatus
	for i, s := range plan.Steps {
		for _, c := range plan.group(s.Kind) {
			st := rolloutv1alpha1.StrategyConditionStatus{Gate: c.Gate, Kind: string(c.Kind), State: rolloutv1alpha1.ConditionPending}
			o, ran := act.running[c.Gate]
			switch {
			case ran:
				st.State, st.Message = o.State, o.Message
			case slices.Contains(act.State.Passed, c.Gate):
				st.State = rolloutv1alpha1.ConditionPassed
			case int32(i+1) < act.State.Step || act.Outcome == OutcomeFinalize:
				st.State = rolloutv1alpha1.ConditionPassed
			}
			out = append(out, st)
		}
	}
	return out
}

// keepPassedMessages keeps, in the status after a pass, the message of each condition that passed
// in an earlier pass: a runner says why it passed only in the pass where it ran.
func keepPassedMessages(previous, next *rolloutv1alpha1.BlueGreenStatus) {
	if previous == nil || next == nil {
		return
	}
	for i, c := range next.Conditions {
		if c.State != rolloutv1alpha1.ConditionPassed || c.Message != "" {
			continue
		}
		for _, p := range previous.Conditions {
			if p.Gate == c.Gate && p.State == rolloutv1alpha1.ConditionPassed {
				next.Conditions[i].Message = p.Message
			}
		}
	}
}

// blueGreenStatus is the Rollout's status.blueGreen after a pass.
func blueGreenStatus(act Action, stable, canary string) *rolloutv1alpha1.BlueGreenStatus {
	st := &rolloutv1alpha1.BlueGreenStatus{PreviewVersion: canary, ActiveVersion: stable, Conditions: act.Conditions}
	if act.Step.Weight == 100 || act.Outcome == OutcomeFinalize {
		st.ActiveVersion = canary
	}
	return st
}

// unsupportedConditions returns why a blue/green strategy cannot run: a condition that sets no
// kind, or one of a kind that has no runner yet.
func unsupportedConditions(bg *deployv1alpha1.BlueGreenStrategy, runners ConditionRunners) error {
	plan := PlanBlueGreen(bg, false, nil)
	for _, c := range slices.Concat(plan.Redirect, plan.ShutDown) {
		switch {
		case c.Kind == "":
			return fmt.Errorf("blueGreen.%s sets no condition", c.Gate)
		case runners[c.Kind] == nil:
			return fmt.Errorf("%s conditions are not supported yet (blueGreen.%s)", c.Kind, c.Gate)
		}
	}
	return nil
}

// stepName names a step in events: its gate, "final step" for the setWeight 100 the executor adds,
// "blue/green step" for the steps of a blue/green strategy.
func stepName(s Step) string {
	switch s.Kind {
	case DeployNewVersion, RedirectTrafficAfter, ShutDownOldVersionAfter:
		return "blue/green step"
	}
	return orFinal(s.Gate())
}
