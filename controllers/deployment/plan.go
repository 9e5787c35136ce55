package deployment

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// Names of the decisions the Deployment controller itself appends to a Rollout. They contain a
// colon, which no Judgment name can, so they never clash with a Judgment's decision.
const (
	// TimeoutDecision cancels a Rollout that its agent did not start within deploymentConfig.timeout
	// of its creation; once started, the executor enforces the timeout itself (see startedByAgent).
	TimeoutDecision = "aurora:timeout"
	// InvalidSpecDecision cancels a running Rollout when its Deployment's spec became invalid.
	InvalidSpecDecision = "aurora:invalid-spec"
)

// Input is everything the planner reads. The planner is a pure function of it: the Deployment's
// previous status is its only memory (when each target started, when its Rollout finished, since
// when an approval waits), and everything else is derived again on every call.
type Input struct {
	// Deployment is the deployment, its spec valid, with the status last written.
	Deployment *deployv1alpha1.Deployment
	// Rollouts are the Rollouts the deployment owns.
	Rollouts []rolloutv1alpha1.Rollout
	// Judgments are the accepted Judgments of the deployment (see Accepted).
	Judgments []deployv1alpha1.Judgment
	// Agents maps agent identifiers to whether they are connected (see AgentConnectivity); nil
	// leaves agents out of the messages.
	Agents map[string]bool
	// Now is the current time.
	Now time.Time
}

// Plan is what a deployment should do now and how its targets stand.
type Plan struct {
	// Targets are the selected targets (after targetFilters), dependencies first.
	Targets []TargetPlan
	// Create are the Rollouts to create: targets whose dependencies and beforeDeployment gates
	// passed.
	Create []*rolloutv1alpha1.Rollout
	// Decisions are the decisions to append to existing Rollouts.
	Decisions []PlannedDecision
	// Waiting are the gates and steps that wait for a Judgment now.
	Waiting []WaitingGate
	// Wake is when the plan changes by itself (a pause ends, an approval expires, a target times
	// out); zero if never.
	Wake time.Time
	// WebhookCalls are the calls of constraint webhook gates due now (webhookgates.go).
	WebhookCalls []DueWebhookCall
}

// TargetPlan is how one target stands.
type TargetPlan struct {
	// Status is the target's entry in the Deployment's status.targets. Its state is empty while
	// the target waits for its dependencies.
	Status deployv1alpha1.TargetStatus
	// Reason is the condition reason the target gives its Deployment: why it failed, or
	// AgentUnreachable while its agent is not connected.
	Reason string
	// Running is true while the target's Rollout exists and is not final.
	Running bool
}

// PlannedDecision is a decision to append to a target's Rollout.
type PlannedDecision struct {
	// Target is the deploy file target.
	Target string
	// Rollout is the Rollout's name.
	Rollout string
	// Decision is the entry to append to the Rollout's spec.decisions.
	Decision rolloutv1alpha1.RolloutDecision
}

// PlanTargets plans a deployment whose spec is valid and which has left the queue. Targets start
// in dependency order: a target starts when every (selected) dependency SUCCEEDED, which includes
// its afterDeployment gates; then its beforeDeployment gates run, from the time it became ready
// (status.targets[].startedAt); when they pass, its Rollout is created. A target whose dependency
// ended otherwise is CANCELLED without starting. A running target's state follows its Rollout's
// phase; once the Rollout succeeded, its afterDeployment gates run from the Rollout's end
// (status.targets[].finishedAt). A Rollout that its agent has not started within
// deploymentConfig.timeout of its creation (the agent is unreachable, say) is cancelled
// (TimeoutDecision) and its target FAILED (TimedOut), unless the executor reports later that it
// had succeeded before the deadline. Once started, the executor enforces the timeout itself, in
// the target cluster, and rolls back there.
//
// Accepted Judgments act through their bindings: decisions on constraint gates decide the gates;
// every other decision (on a strategy step, rollback, cancel) is appended to the target's running
// Rollout once, named after the Judgment; a cancel stops a target that has no running Rollout.
func PlanTargets(in Input) Plan {
	p := &planner{in: in, prev: map[string]deployv1alpha1.TargetStatus{}, rollouts: map[string]*rolloutv1alpha1.Rollout{}}
	for _, ts := range in.Deployment.Status.Targets {
		p.prev[ts.Name] = ts
	}
	for i := range in.Rollouts {
		ro := &in.Rollouts[i]
		if _, seen := p.rollouts[ro.Spec.Target]; !seen {
			p.rollouts[ro.Spec.Target] = ro
		}
	}
	p.decisions = decisionsByTarget(in.Judgments)
	done := map[string]TargetPlan{}
	for _, name := range TopologicalOrder(&in.Deployment.Spec) {
		tp := p.target(name, done)
		done[name] = tp
		p.plan.Targets = append(p.plan.Targets, tp)
	}
	return p.plan
}

// planner holds the state of one PlanTargets call.
type planner struct {
	in        Input
	prev      map[string]deployv1alpha1.TargetStatus
	rollouts  map[string]*rolloutv1alpha1.Rollout
	decisions map[string]*targetDecisions
	plan      Plan
}

// target plans one target; done holds its dependencies' plans.
func (p *planner) target(name string, done map[string]TargetPlan) TargetPlan {
	d := p.in.Deployment
	t := d.Spec.Targets[name]
	prev := p.prev[name]
	tp := TargetPlan{Status: deployv1alpha1.TargetStatus{Name: name, Account: t.Account, Namespace: t.Namespace,
		StartedAt: prev.StartedAt, FinishedAt: prev.FinishedAt}}
	decs := p.decisions[name]
	if decs == nil {
		decs = &targetDecisions{gates: map[string][]gateDecision{}}
	}
	if ro := p.rollouts[name]; ro != nil {
		p.withRollout(&tp, t, ro, decs)
		return tp
	}
	if c := decs.cancel; c != nil {
		p.stop(&tp, deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled, "cancelled by "+c.by())
		return tp
	}
	var waitingFor []string
	for _, dep := range p.deps(name) {
		dp := done[dep]
		switch {
		case dp.Status.State == deployv1alpha1.StateSucceeded:
		case dp.Status.State.IsFinal():
			p.stop(&tp, deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled,
				fmt.Sprintf("not started: %s ended %s", dep, dp.Status.State))
			return tp
		default:
			waitingFor = append(waitingFor, dep)
		}
	}
	if len(waitingFor) > 0 {
		tp.Status.StartedAt = nil
		tp.Status.Message = "waiting for " + strings.Join(waitingFor, ", ")
		return tp
	}
	if tp.Status.StartedAt == nil {
		tp.Status.StartedAt = timePtr(p.in.Now)
	}
	g := p.constraintGates(&tp, t, BeforeDeploymentGate, tp.Status.StartedAt.Time, decs, "")
	switch g.verdict {
	case gateFailed:
		p.stop(&tp, deployv1alpha1.StateFailed, ReasonWebhookFailed, g.message)
	case gateRejected:
		p.stop(&tp, deployv1alpha1.StateRejected, ReasonGateRejected, g.message)
	case gateExpired:
		p.stop(&tp, deployv1alpha1.StateCancelled, ReasonApprovalExpired, g.message)
	case gateWaiting:
		p.wait(&tp, g)
	case gatePassed:
		ro := desiredRollout(d, name)
		p.plan.Create = append(p.plan.Create, ro)
		tp.Running = true
		tp.Status.State = deployv1alpha1.StateRunning
		tp.Status.RolloutName = ro.Name
		tp.Status.Message = fmt.Sprintf("creating Rollout %s", ro.Name)
		p.agentNote(&tp)
		p.wakeAt(p.in.Now.Add(timeoutOf(&d.Spec).Get()))
	}
	return tp
}

// withRollout plans a target whose Rollout exists.
func (p *planner) withRollout(tp *TargetPlan, t deployv1alpha1.Target, ro *rolloutv1alpha1.Rollout, decs *targetDecisions) {
	st := &tp.Status
	st.RolloutName = ro.Name
	st.CurrentStep, st.TotalSteps, st.Weight = ro.Status.CurrentStep, ro.Status.TotalSteps, ro.Status.Weight
	st.Previews = ro.Status.Previews
	st.Analysis, st.Webhooks = ro.Status.Analysis, append(slices.Clone(ro.Status.Webhooks), p.passedBeforeCalls(t, st.Name, decs, ro)...)
	if st.StartedAt == nil {
		st.StartedAt = ro.CreationTimestamp.DeepCopy()
	}
	timeout := timeoutOf(&p.in.Deployment.Spec)
	deadline := ro.CreationTimestamp.Add(timeout.Get())
	phase := ro.Status.Phase
	succeededInTime := phase == rolloutv1alpha1.PhaseSucceeded && ro.Status.FinishedAt != nil && ro.Status.FinishedAt.Time.Before(deadline)
	if hasDecision(ro, TimeoutDecision) && !succeededInTime {
		p.stop(tp, deployv1alpha1.StateFailed, deployv1alpha1.ReasonTimedOut, p.timedOutMessage(t, ro, timeout))
		return
	}
	if phase.IsFinal() {
		if st.FinishedAt == nil {
			st.FinishedAt = ro.Status.FinishedAt.DeepCopy()
		}
		if st.FinishedAt == nil {
			st.FinishedAt = timePtr(p.in.Now)
		}
		switch phase {
		case rolloutv1alpha1.PhaseSucceeded:
			p.afterGates(tp, t, ro, decs)
		case rolloutv1alpha1.PhaseRolledBack:
			st.State, tp.Reason = deployv1alpha1.StateRolledBack, deployv1alpha1.ReasonRolledBack
			st.Message = orDefault(ro.Status.Message, "rolled back to the previous version")
		case rolloutv1alpha1.PhaseCancelled:
			st.State, tp.Reason = deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled
			st.Message = orDefault(ro.Status.Message, "cancelled; back on the previous version")
		default:
			st.State, tp.Reason = deployv1alpha1.StateFailed, deployv1alpha1.ReasonFailed
			st.Message = orDefault(ro.Status.Message, "failed")
		}
		return
	}

	tp.Running = true
	st.FinishedAt = nil
	// Once the agent's executor runs the Rollout it enforces the timeout itself, per step, in the
	// target cluster (and rolls back there, tunnel or no tunnel); the cloud only bounds how long a
	// Rollout may wait for its agent to pick it up.
	if !startedByAgent(ro) {
		if !p.in.Now.Before(deadline) {
			p.decide(tp, ro, rolloutv1alpha1.RolloutDecision{Name: TimeoutDecision, Decision: deployv1alpha1.DecisionCancel})
			p.stop(tp, deployv1alpha1.StateFailed, deployv1alpha1.ReasonTimedOut, p.timedOutMessage(t, ro, timeout))
			return
		}
		p.wakeAt(deadline)
	}
	for _, dec := range decs.executor {
		p.decide(tp, ro, dec)
	}
	for _, dec := range decs.constraint {
		if RunsInRollout(ro, dec.Gate) {
			p.decide(tp, ro, dec)
		}
	}

	stopping := p.stopRequested(ro)
	switch phase {
	case rolloutv1alpha1.PhasePaused:
		st.State = deployv1alpha1.StatePaused
		gate := ro.Status.WaitingFor
		st.Message = orDefault(ro.Status.Message, "paused at "+orDefault(gate, "a pause"))
		if by := p.decidedBy(ro, gate, deployv1alpha1.DecisionSkip, deployv1alpha1.DecisionApprove); by != "" {
			st.Message = fmt.Sprintf("%s skipped by judgment %s; waiting for agent %s", orDefault(gate, "pause"), by, t.Account)
		} else if stopping == nil {
			p.plan.Waiting = append(p.plan.Waiting, WaitingGate{Binding: Binding{Target: st.Name, Gate: gate},
				ByExecutor: true, Since: p.since(st.Name, gate)})
		}
	case rolloutv1alpha1.PhaseAwaitingApproval:
		st.State = deployv1alpha1.StateAwaitingApproval
		gate := ro.Status.WaitingFor
		st.Message = orDefault(ro.Status.Message, "waiting for approval of "+orDefault(gate, "a pause"))
		if by := p.decidedBy(ro, gate, deployv1alpha1.DecisionApprove, deployv1alpha1.DecisionReject); by != "" {
			st.Message = fmt.Sprintf("%s decided by judgment %s; waiting for agent %s", orDefault(gate, "approval"), by, t.Account)
		} else if stopping == nil {
			w := WaitingGate{Binding: Binding{Target: st.Name, Gate: gate}, Approval: true, ByExecutor: true,
				Since: p.since(st.Name, gate)}
			if pause := PauseAt(&ro.Spec.Strategy, gate); pause != nil {
				w.RequiresRoles = slices.Clone(pause.RequiresRoles)
				if pause.ApprovalExpiration != nil {
					w.Until = timePtr(w.Since.Add(pause.ApprovalExpiration.Get()))
				}
			}
			p.plan.Waiting = append(p.plan.Waiting, w)
		}
	default:
		st.State = deployv1alpha1.StateRunning
		switch {
		case ro.Status.Message != "":
			st.Message = ro.Status.Message
		case phase == "" || phase == rolloutv1alpha1.PhasePending:
			st.Message = fmt.Sprintf("waiting for agent %s to start Rollout %s", t.Account, ro.Name)
		default:
			st.Message = fmt.Sprintf("step %d/%d at weight %d", st.CurrentStep, st.TotalSteps, st.Weight)
		}
	}
	if stopping != nil {
		st.Message = fmt.Sprintf("%s requested by judgment %s; waiting for agent %s", stopping.Decision, stopping.Name, t.Account)
	}
	p.agentNote(tp)
}

// afterGates plans a target whose Rollout succeeded: its afterDeployment gates run from the
// Rollout's end; a cancel applied before they passed stops the target (without rolling it back).
func (p *planner) afterGates(tp *TargetPlan, t deployv1alpha1.Target, ro *rolloutv1alpha1.Rollout, decs *targetDecisions) {
	st := &tp.Status
	pauses := afterPauses(t)
	g := p.constraintGates(tp, t, AfterDeploymentGate, st.FinishedAt.Time, decs, ro.Status.CanaryRevision)
	if c := decs.cancel; c != nil && len(pauses) > 0 && (g.verdict != gatePassed || c.at.Before(g.passedAt)) {
		p.stop(tp, deployv1alpha1.StateCancelled, deployv1alpha1.ReasonCancelled,
			fmt.Sprintf("cancelled by %s after Rollout %s succeeded; the target keeps the new version", c.by(), ro.Name))
		return
	}
	switch g.verdict {
	case gatePassed:
		st.State = deployv1alpha1.StateSucceeded
		st.Message = orDefault(ro.Status.Message, "succeeded")
	case gateFailed:
		p.stop(tp, deployv1alpha1.StateFailed, ReasonWebhookFailed, g.message+"; the target keeps the new version, its dependants do not start")
	case gateRejected:
		p.stop(tp, deployv1alpha1.StateRejected, ReasonGateRejected, g.message+"; the target keeps the new version, its dependants do not start")
	case gateExpired:
		p.stop(tp, deployv1alpha1.StateCancelled, ReasonApprovalExpired, g.message+"; the target keeps the new version, its dependants do not start")
	case gateWaiting:
		p.wait(tp, g)
	}
}

// wait records a target waiting at its gates.
func (p *planner) wait(tp *TargetPlan, g gatesResult) {
	tp.Status.State = deployv1alpha1.StatePaused
	switch {
	case awaitsApproval(g.waiting):
		tp.Status.State = deployv1alpha1.StateAwaitingApproval
	case onlyWebhooks(g.waiting):
		tp.Status.State = deployv1alpha1.StateRunning
	}
	tp.Status.Message = g.message
	p.plan.Waiting = append(p.plan.Waiting, g.waiting...)
	p.wakeAt(g.wake)
}

// stop ends a target in a final state.
func (p *planner) stop(tp *TargetPlan, state deployv1alpha1.DeploymentState, reason, message string) {
	tp.Status.State, tp.Reason, tp.Status.Message = state, reason, message
	tp.Running = false
	if tp.Status.FinishedAt == nil {
		tp.Status.FinishedAt = timePtr(p.in.Now)
	}
}

// decide appends a decision to a running Rollout unless the Rollout (or this plan) has it.
func (p *planner) decide(tp *TargetPlan, ro *rolloutv1alpha1.Rollout, dec rolloutv1alpha1.RolloutDecision) {
	if hasDecision(ro, dec.Name) || slices.ContainsFunc(p.plan.Decisions, func(pd PlannedDecision) bool {
		return pd.Rollout == ro.Name && pd.Decision.Name == dec.Name
	}) {
		return
	}
	p.plan.Decisions = append(p.plan.Decisions, PlannedDecision{Target: tp.Status.Name, Rollout: ro.Name, Decision: dec})
}

// decidedBy returns the name of a decision (on the Rollout or planned) for gate with one of the
// given decisions; "" if none.
func (p *planner) decidedBy(ro *rolloutv1alpha1.Rollout, gate string, decisions ...deployv1alpha1.Decision) string {
	for _, d := range p.allDecisions(ro) {
		if d.Gate == gate && slices.Contains(decisions, d.Decision) {
			return d.Name
		}
	}
	return ""
}

// stopRequested returns the first rollback or cancel decision of a Rollout (on it or planned).
func (p *planner) stopRequested(ro *rolloutv1alpha1.Rollout) *rolloutv1alpha1.RolloutDecision {
	for _, d := range p.allDecisions(ro) {
		if d.Decision == deployv1alpha1.DecisionRollback || d.Decision == deployv1alpha1.DecisionCancel {
			return &d
		}
	}
	return nil
}

// allDecisions returns a Rollout's decisions and those this plan appends to it.
func (p *planner) allDecisions(ro *rolloutv1alpha1.Rollout) []rolloutv1alpha1.RolloutDecision {
	all := slices.Clone(ro.Spec.Decisions)
	for _, pd := range p.plan.Decisions {
		if pd.Rollout == ro.Name {
			all = append(all, pd.Decision)
		}
	}
	return all
}

// since returns when a gate began waiting, as the last status recorded it.
func (p *planner) since(target, gate string) *metav1.Time {
	for _, pa := range p.in.Deployment.Status.PendingApprovals {
		if pa.Target == target && pa.Gate == gate && pa.Since != nil {
			return pa.Since.DeepCopy()
		}
	}
	return timePtr(p.in.Now)
}

// agentNote adds to a running target's message that its agent is not connected.
func (p *planner) agentNote(tp *TargetPlan) {
	if p.in.Agents == nil || p.in.Agents[tp.Status.Account] {
		return
	}
	tp.Status.Message += fmt.Sprintf("; agent %s is not connected", tp.Status.Account)
	tp.Reason = deployv1alpha1.ReasonAgentUnreachable
}

func (p *planner) timedOutMessage(t deployv1alpha1.Target, ro *rolloutv1alpha1.Rollout, timeout deployv1alpha1.Timeout) string {
	msg := fmt.Sprintf("did not finish within %d %s of Rollout %s's creation; cancelled", timeout.Duration, timeout.Unit, ro.Name)
	if p.in.Agents != nil && !p.in.Agents[t.Account] {
		msg += fmt.Sprintf("; agent %s is not connected", t.Account)
	}
	return msg
}

func (p *planner) wakeAt(t time.Time) { p.plan.Wake = earliest(p.plan.Wake, t) }

// deps returns a target's selected dependencies in name order.
func (p *planner) deps(name string) []string {
	sel := SelectedTargets(&p.in.Deployment.Spec)
	var out []string
	for _, d := range sortedDeps(&p.in.Deployment.Spec, name) {
		if slices.Contains(sel, d) {
			out = append(out, d)
		}
	}
	return out
}

// targetDecisions are the accepted decisions bound to one target.
type targetDecisions struct {
	// gates are the decisions on constraint gates, by gate name.
	gates map[string][]gateDecision
	// executor are the decisions to pass to the target's Rollout, in the order applied.
	executor []rolloutv1alpha1.RolloutDecision
	// constraint are the decisions on constraint gates as Rollout decisions, in the order applied:
	// those on afterDeployment analysis gates go to the Rollout, whose executor runs them.
	constraint []rolloutv1alpha1.RolloutDecision
	// cancel is the first cancel applied to the target, if any.
	cancel *gateDecision
}

// decisionsByTarget sorts the bindings of accepted Judgments by target, in the order applied.
func decisionsByTarget(judgments []deployv1alpha1.Judgment) map[string]*targetDecisions {
	js := slices.Clone(judgments)
	slices.SortStableFunc(js, func(a, b deployv1alpha1.Judgment) int {
		if c := appliedAt(&a).Compare(appliedAt(&b)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	out := map[string]*targetDecisions{}
	for i := range js {
		j := &js[i]
		gd := gateDecision{judgment: j.Name, author: j.Spec.Author, decision: j.Spec.Decision, at: appliedAt(j), reason: j.Spec.Reason}
		for _, s := range j.Status.AppliedTo {
			b := ParseBinding(s)
			td := out[b.Target]
			if td == nil {
				td = &targetDecisions{gates: map[string][]gateDecision{}}
				out[b.Target] = td
			}
			switch {
			case j.Spec.Decision == deployv1alpha1.DecisionCancel:
				if td.cancel == nil {
					c := gd
					td.cancel = &c
				}
				td.executor = appendDecision(td.executor, rolloutv1alpha1.RolloutDecision{Name: j.Name, Gate: b.Gate, Decision: j.Spec.Decision, Reason: j.Spec.Reason})
			case IsConstraintGate(b.Gate):
				td.gates[b.Gate] = append(td.gates[b.Gate], gd)
				td.constraint = appendDecision(td.constraint, rolloutv1alpha1.RolloutDecision{Name: j.Name, Gate: b.Gate, Decision: j.Spec.Decision, Reason: j.Spec.Reason})
			default:
				td.executor = appendDecision(td.executor, rolloutv1alpha1.RolloutDecision{Name: j.Name, Gate: b.Gate, Decision: j.Spec.Decision, Reason: j.Spec.Reason})
			}
		}
	}
	return out
}

// appendDecision appends a decision unless one of its name is there already (a Rollout's
// decisions are a map keyed by name).
func appendDecision(list []rolloutv1alpha1.RolloutDecision, d rolloutv1alpha1.RolloutDecision) []rolloutv1alpha1.RolloutDecision {
	if slices.ContainsFunc(list, func(x rolloutv1alpha1.RolloutDecision) bool { return x.Name == d.Name }) {
		return list
	}
	return append(list, d)
}

func appliedAt(j *deployv1alpha1.Judgment) time.Time {
	if j.Status.AppliedAt != nil {
		return j.Status.AppliedAt.Time
	}
	return j.CreationTimestamp.Time
}

func hasDecision(ro *rolloutv1alpha1.Rollout, name string) bool {
	return slices.ContainsFunc(ro.Spec.Decisions, func(d rolloutv1alpha1.RolloutDecision) bool { return d.Name == name })
}

// SelectedTargets returns the targets a deployment deploys to, in name order: all of them, or
// those its targetFilters include.
func SelectedTargets(spec *deployv1alpha1.DeploymentSpec) []string {
	if len(spec.TargetFilters) == 0 {
		return sortedKeys(spec.Targets)
	}
	var out []string
	for _, f := range spec.TargetFilters {
		if _, ok := spec.Targets[f.IncludeTarget]; ok && !slices.Contains(out, f.IncludeTarget) {
			out = append(out, f.IncludeTarget)
		}
	}
	slices.Sort(out)
	return out
}

// TopologicalOrder returns the selected targets, each after its selected dependencies, ties in
// name order. Dependencies on targets left out by targetFilters are dropped. Targets on a cycle
// (which Validate refuses) come last, in name order.
func TopologicalOrder(spec *deployv1alpha1.DeploymentSpec) []string {
	sel := SelectedTargets(spec)
	indegree := map[string]int{}
	dependants := map[string][]string{}
	for _, name := range sel {
		indegree[name] += 0
		for _, d := range sortedDeps(spec, name) {
			if slices.Contains(sel, d) {
				indegree[name]++
				dependants[d] = append(dependants[d], name)
			}
		}
	}
	var order, ready []string
	for _, name := range sel {
		if indegree[name] == 0 {
			ready = append(ready, name)
		}
	}
	for len(ready) > 0 {
		slices.Sort(ready)
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, m := range dependants[n] {
			if indegree[m]--; indegree[m] == 0 {
				ready = append(ready, m)
			}
		}
	}
	for _, name := range sel {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	return order
}

// timeoutOf returns deploymentConfig.timeout or DefaultTimeout.
func timeoutOf(spec *deployv1alpha1.DeploymentSpec) deployv1alpha1.Timeout {
	if spec.DeploymentConfig != nil && spec.DeploymentConfig.Timeout != nil {
		return *spec.DeploymentConfig.Timeout
	}
	return DefaultTimeout
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AgentConnectivity maps each agent's identifier to whether it is connected now, for Input.Agents.
// An account with no Agent is absent from the map, so it counts as not connected.
func AgentConnectivity(agents []deployv1alpha1.Agent) map[string]bool {
	out := make(map[string]bool, len(agents))
	for _, a := range agents {
		id := orDefault(a.Spec.AgentIdentifier, a.Name)
		out[id] = out[id] || a.Status.Connected
	}
	return out
}

// startedByAgent reports whether the target's agent applied the Rollout and its executor started it.
func startedByAgent(ro *rolloutv1alpha1.Rollout) bool {
	return ro.Status.AppliedGeneration > 0 || (ro.Status.Phase != "" && ro.Status.Phase != rolloutv1alpha1.PhasePending)
}

// RunsInRollout reports whether a constraint gate is one the Rollout's executor runs: an
// afterDeployment analysis gate or a remoteNetworkAgent webhook gate (before or after).
func RunsInRollout(ro *rolloutv1alpha1.Rollout, gate string) bool {
	return slices.ContainsFunc(ro.Spec.BeforeDeploymentWebhooks, func(w rolloutv1alpha1.BeforeDeploymentWebhook) bool {
		return GateName(BeforeDeploymentGate, int(w.Index)) == gate
	}) || slices.ContainsFunc(ro.Spec.AfterDeployment, func(a rolloutv1alpha1.AfterDeploymentAnalysis) bool {
		return GateName(AfterDeploymentGate, int(a.Index)) == gate
	}) || slices.ContainsFunc(ro.Spec.AfterDeploymentWebhooks, func(w rolloutv1alpha1.AfterDeploymentWebhook) bool {
		return GateName(AfterDeploymentGate, int(w.Index)) == gate
	})
}
