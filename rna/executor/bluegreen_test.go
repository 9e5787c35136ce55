package executor

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func approvalCondition() deployv1alpha1.BlueGreenCondition {
	return deployv1alpha1.BlueGreenCondition{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}
}

func timedCondition(seconds int32) deployv1alpha1.BlueGreenCondition {
	return deployv1alpha1.BlueGreenCondition{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To(seconds), Unit: deployv1alpha1.Seconds}}
}

// the blue/green of the tests: an approval and a 10s pause before the switch, a 20s pause before
// the old version goes.
var bgStrategy = &deployv1alpha1.BlueGreenStrategy{
	ActiveService: "app", PreviewService: "app-preview",
	RedirectTrafficAfter:    []deployv1alpha1.BlueGreenCondition{approvalCondition(), timedCondition(10)},
	ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{timedCondition(20)},
}

// blueGreen is a workload of 10 replicas beside ReplicaSet/app-old (10 replicas), at step
// (started at since), its new version with newReady Ready pods.
func blueGreen(step int32, since time.Time, newSpec, newReady int32, passed ...string) WorkloadView {
	v := running(step, since, newSpec, newReady, 10)
	v.State.Passed = passed
	return v
}

func TestPlanBlueGreen(t *testing.T) {
	g := NewWithT(t)
	plan := PlanBlueGreen(bgStrategy, false, nil)
	g.Expect(plan.Steps).To(Equal([]Step{
		{Index: -1, Kind: DeployNewVersion}, {Index: -1, Kind: RedirectTrafficAfter}, {Index: -1, Kind: ShutDownOldVersionAfter, Weight: 100},
	}))
	g.Expect(plan.Redirect).To(HaveLen(2))
	g.Expect(plan.Redirect[0].Gate).To(Equal("redirectTrafficAfter[0]"))
	g.Expect(plan.Redirect[1].Gate).To(Equal("redirectTrafficAfter[1]"))
	g.Expect(plan.ShutDown[0].Gate).To(Equal("shutDownOldVersionAfter[0]"))
	g.Expect(plan.ShutDown[0].Kind).To(Equal(ConditionPause))
	g.Expect(plan.stepOf("shutDownOldVersionAfter[0]")).To(BeEquivalentTo(3))
	g.Expect(plan.stepOf("steps[0]")).To(BeEquivalentTo(0))

	first := PlanBlueGreen(bgStrategy, true, nil)
	g.Expect(first.Steps).To(Equal([]Step{{Index: -1, Kind: DeployNewVersion, Weight: 100}}), "a first deployment gets the active Service at once")
	g.Expect(first.Redirect).To(BeEmpty())
	g.Expect(stepName(plan.Steps[1])).To(Equal("blue/green step"))
	g.Expect(stepName(Step{Index: 2, Kind: PauseFor})).To(Equal("steps[2]"))
	g.Expect(stepName(Step{Index: -1, Kind: SetWeight})).To(Equal("final step"))

	firstVersion := WorkloadView{Name: "app", Version: "app-new", FullReplicas: 4}
	act := NextBlueGreenAction(context.Background(), input(t0.Add(time.Second), first.Steps, nil, firstVersion), first, DefaultConditionRunners())
	g.Expect(act.Outcome).To(Equal(OutcomeWait))
	g.Expect(act.Message).To(Equal("step 1/1: deploying the first version: waiting for new version app-new to be created"))
	g.Expect(act.Splits).To(Equal([]Split{{New: 4}}))
}

func TestNextBlueGreenAction(t *testing.T) {
	plan := PlanBlueGreen(bgStrategy, false, nil)
	notCreated := blueGreen(1, t0, 0, 0)
	notCreated.New, notCreated.State = nil, nil
	finalizing := blueGreen(3, t0, 10, 10)
	finalizing.State.Role = roleStable
	now := t0.Add(5 * time.Second)
	decision := func(name, gate string, d deployv1alpha1.Decision) rolloutv1alpha1.RolloutDecision {
		return rolloutv1alpha1.RolloutDecision{Name: name, Gate: gate, Decision: d}
	}
	in := func(now time.Time, decisions []rolloutv1alpha1.RolloutDecision, v WorkloadView) ExecutionInput {
		return input(now, plan.Steps, decisions, v)
	}
	full := []Split{{New: 10, Stable: 10}}

	tests := []struct {
		name       string
		in         ExecutionInput
		outcome    Outcome
		step       int32
		weight     int32
		message    string
		waitingFor string
		requeue    time.Duration
		acted      []string
		handled    []string
		passed     []string
		states     map[string]rolloutv1alpha1.ConditionState
	}{
		{name: "a new execution runs the new version at full replicas beside the stable one",
			in: in(now, nil, notCreated), outcome: OutcomeWait, step: 1,
			message: "step 1/3: deploying the new version beside the stable one: waiting for new version app-new to be created", requeue: 25 * time.Second,
			states: map[string]rolloutv1alpha1.ConditionState{"redirectTrafficAfter[0]": rolloutv1alpha1.ConditionPending, "shutDownOldVersionAfter[0]": rolloutv1alpha1.ConditionPending}},
		{name: "new pods not Ready yet",
			in: in(now, nil, blueGreen(1, t0, 10, 4)), outcome: OutcomeWait, step: 1,
			message: "step 1/3: deploying the new version beside the stable one: waiting for new version app-new: 4/10 Ready", requeue: 25 * time.Second},
		{name: "not Ready within the timeout: roll back",
			in: in(t0.Add(31*time.Second), nil, blueGreen(1, t0, 10, 4)), outcome: OutcomeRollBack, step: 1,
			message: "new version app-new not Ready within 30s: 4/10 Ready"},
		{name: "Ready: the redirectTrafficAfter conditions start together; the approval comes first",
			in: in(now, nil, blueGreen(1, t0, 10, 10)), outcome: OutcomeAwaitingApproval, step: 2, waitingFor: "redirectTrafficAfter[0]", requeue: 10 * time.Second,
			message: "step 2/3: redirectTrafficAfter: redirectTrafficAfter[0] waiting for approval; redirectTrafficAfter[1] paused for 10s, until 2026-11-30T12:00:15Z",
			states:  map[string]rolloutv1alpha1.ConditionState{"redirectTrafficAfter[0]": rolloutv1alpha1.ConditionAwaitingApproval, "redirectTrafficAfter[1]": rolloutv1alpha1.ConditionPaused, "shutDownOldVersionAfter[0]": rolloutv1alpha1.ConditionPending}},
		{name: "the timed pause ends while the approval still waits",
			in: in(t0.Add(11*time.Second), nil, blueGreen(2, t0, 10, 10)), outcome: OutcomeAwaitingApproval, step: 2, waitingFor: "redirectTrafficAfter[0]",
			message: "step 2/3: redirectTrafficAfter: redirectTrafficAfter[0] waiting for approval", passed: []string{"redirectTrafficAfter[1]"},
			states: map[string]rolloutv1alpha1.ConditionState{"redirectTrafficAfter[0]": rolloutv1alpha1.ConditionAwaitingApproval, "redirectTrafficAfter[1]": rolloutv1alpha1.ConditionPassed}},
		{name: "approved while the timed pause runs: it still waits for the pause",
			in:      in(now, []rolloutv1alpha1.RolloutDecision{decision("ok", "redirectTrafficAfter[0]", deployv1alpha1.DecisionApprove)}, blueGreen(2, t0, 10, 10)),
			outcome: OutcomePaused, step: 2, waitingFor: "redirectTrafficAfter[1]", requeue: 5 * time.Second, acted: []string{"ok"}, handled: []string{"ok"},
			message: "step 2/3: redirectTrafficAfter: redirectTrafficAfter[1] paused for 10s, until 2026-11-30T12:00:10Z", passed: []string{"redirectTrafficAfter[0]"}},
		{name: "both passed: switch the active Service and start the shutDownOldVersionAfter pause",
			in:      in(t0.Add(11*time.Second), []rolloutv1alpha1.RolloutDecision{decision("ok", "", deployv1alpha1.DecisionApprove)}, blueGreen(2, t0, 10, 10)),
			outcome: OutcomePaused, step: 3, weight: 100, waitingFor: "shutDownOldVersionAfter[0]", requeue: 20 * time.Second, acted: []string{"ok"}, handled: []string{"ok"},
			message: "step 3/3: shutDownOldVersionAfter: shutDownOldVersionAfter[0] paused for 20s, until 2026-11-30T12:00:31Z",
			passed:  []string{"redirectTrafficAfter[1]", "redirectTrafficAfter[0]"}},
		{name: "the shutDownOldVersionAfter pause ends: finalize",
			in:      in(t0.Add(20*time.Second), nil, blueGreen(3, t0, 10, 10, "redirectTrafficAfter[0]", "redirectTrafficAfter[1]")),
			outcome: OutcomeFinalize, step: 3, weight: 100, message: "the new version receives all traffic",
			passed: []string{"redirectTrafficAfter[0]", "redirectTrafficAfter[1]", "shutDownOldVersionAfter[0]"},
			states: map[string]rolloutv1alpha1.ConditionState{"redirectTrafficAfter[0]": rolloutv1alpha1.ConditionPassed, "shutDownOldVersionAfter[0]": rolloutv1alpha1.ConditionPassed}},
		{name: "a rejected approval rolls back before the switch",
			in:      in(now, []rolloutv1alpha1.RolloutDecision{decision("no", "redirectTrafficAfter[0]", deployv1alpha1.DecisionReject)}, blueGreen(2, t0, 10, 10)),
			outcome: OutcomeRollBack, step: 2, acted: []string{"no"}, handled: []string{"no"},
			message: "rejected by decision no at redirectTrafficAfter[0]",
			states:  map[string]rolloutv1alpha1.ConditionState{"redirectTrafficAfter[0]": rolloutv1alpha1.ConditionFailed}},
		{name: "a rollback decision after the switch rolls back",
			in:      in(now, []rolloutv1alpha1.RolloutDecision{decision("rb", "", deployv1alpha1.DecisionRollback)}, blueGreen(3, t0, 10, 10, "redirectTrafficAfter[0]", "redirectTrafficAfter[1]")),
			outcome: OutcomeRollBack, step: 3, weight: 100, acted: []string{"rb"}, message: "rolled back by decision rb at step 3/3", passed: []string{"redirectTrafficAfter[0]", "redirectTrafficAfter[1]"}},
		{name: "a cancel decision cancels",
			in:      in(now, []rolloutv1alpha1.RolloutDecision{decision("c", "", deployv1alpha1.DecisionCancel)}, blueGreen(1, t0, 10, 4)),
			outcome: OutcomeCancel, step: 1, acted: []string{"c"}, message: "cancelled by decision c at step 1/3"},
		{name: "a pre-approval of a later condition waits; an approval while nothing waits and one for a canary step are discarded",
			in:      in(now, []rolloutv1alpha1.RolloutDecision{decision("later", "shutDownOldVersionAfter[0]", deployv1alpha1.DecisionSkip), decision("any", "", deployv1alpha1.DecisionApprove), decision("step", "steps[1]", deployv1alpha1.DecisionApprove)}, blueGreen(1, t0, 10, 4)),
			outcome: OutcomeWait, step: 1, handled: []string{"any", "step"}, requeue: 25 * time.Second,
			message: "step 1/3: deploying the new version beside the stable one: waiting for new version app-new: 4/10 Ready"},
		{name: "a skip for a pause until approved, and a decision for a passed condition, are discarded",
			in:      in(now, []rolloutv1alpha1.RolloutDecision{decision("skip", "redirectTrafficAfter[0]", deployv1alpha1.DecisionSkip), decision("again", "redirectTrafficAfter[1]", deployv1alpha1.DecisionSkip)}, blueGreen(2, t0, 10, 10, "redirectTrafficAfter[1]")),
			outcome: OutcomeAwaitingApproval, step: 2, waitingFor: "redirectTrafficAfter[0]", handled: []string{"skip", "again"},
			message: "step 2/3: redirectTrafficAfter: redirectTrafficAfter[0] waiting for approval", passed: []string{"redirectTrafficAfter[1]"}},
		{name: "a finalizing execution only goes forward, whatever the decisions",
			in:      in(now, []rolloutv1alpha1.RolloutDecision{decision("rb", "", deployv1alpha1.DecisionRollback)}, finalizing),
			outcome: OutcomeFinalize, step: 3, weight: 100, message: "the new version receives all traffic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			act := NextBlueGreenAction(context.Background(), tt.in, plan, DefaultConditionRunners())
			g.Expect(act.Outcome).To(Equal(tt.outcome))
			g.Expect(act.Message).To(Equal(tt.message))
			g.Expect(act.State.Step).To(Equal(tt.step))
			g.Expect(act.Step.Weight).To(Equal(tt.weight))
			g.Expect(act.Splits).To(Equal(full), "the stable version keeps its replicas beside the new one at full")
			g.Expect(act.WaitingFor).To(Equal(tt.waitingFor))
			g.Expect(act.RequeueAfter).To(Equal(tt.requeue))
			var acted []string
			for _, d := range act.Acted {
				acted = append(acted, d.Name)
			}
			g.Expect(acted).To(Equal(tt.acted))
			g.Expect(act.State.Decisions).To(ConsistOf(tt.handled))
			g.Expect(act.State.Passed).To(ConsistOf(tt.passed))
			states := map[string]rolloutv1alpha1.ConditionState{}
			for _, c := range act.Conditions {
				states[c.Gate] = c.State
			}
			for gate, want := range tt.states {
				g.Expect(states).To(HaveKeyWithValue(gate, want), gate)
			}
		})
	}
}

func TestUnsupportedConditions(t *testing.T) {
	g := NewWithT(t)
	g.Expect(unsupportedConditions(bgStrategy, DefaultConditionRunners())).To(Succeed())
	withAnalysis := &deployv1alpha1.BlueGreenStrategy{ActiveService: "app", RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{
		approvalCondition(), {Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"q"}}}}}
	g.Expect(unsupportedConditions(withAnalysis, DefaultConditionRunners())).To(Succeed())
	g.Expect(unsupportedConditions(withAnalysis, ConditionRunners{ConditionPause: PauseRunner{}})).To(MatchError("analysis conditions are not supported yet (blueGreen.redirectTrafficAfter[1])"))
	withWebhook := &deployv1alpha1.BlueGreenStrategy{ActiveService: "app", ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "w"}}}}
	g.Expect(unsupportedConditions(withWebhook, DefaultConditionRunners())).To(Succeed())
	g.Expect(unsupportedConditions(withWebhook, ConditionRunners{})).To(MatchError("runWebhook conditions are not supported yet (blueGreen.shutDownOldVersionAfter[0])"))
	g.Expect(unsupportedConditions(&deployv1alpha1.BlueGreenStrategy{RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{{}}}, DefaultConditionRunners())).
		To(MatchError("blueGreen.redirectTrafficAfter[0] sets no condition"))
}

func TestBlueGreenServices(t *testing.T) {
	g := NewWithT(t)
	active, preview := BlueGreenServices(&deployv1alpha1.BlueGreenStrategy{ActiveService: "app"}, []deployv1alpha1.TrafficManagement{
		{Kubernetes: []deployv1alpha1.KubernetesTrafficManagement{{ActiveService: "app", PreviewService: "app-preview"}, {ActiveService: "api"}}},
	})
	g.Expect(active).To(Equal([]string{"app", "api"}))
	g.Expect(preview).To(Equal([]string{"app-preview"}))
}

func TestKeepPassedMessages(t *testing.T) {
	previous := &rolloutv1alpha1.BlueGreenStatus{Conditions: []rolloutv1alpha1.StrategyConditionStatus{
		{Gate: "redirectTrafficAfter[0]", State: rolloutv1alpha1.ConditionAwaitingApproval, Message: "waiting for approval"},
		{Gate: "redirectTrafficAfter[1]", State: rolloutv1alpha1.ConditionPassed, Message: "preview links to app for 30m"},
	}}
	next := &rolloutv1alpha1.BlueGreenStatus{Conditions: []rolloutv1alpha1.StrategyConditionStatus{
		{Gate: "redirectTrafficAfter[0]", State: rolloutv1alpha1.ConditionPassed},
		{Gate: "redirectTrafficAfter[1]", State: rolloutv1alpha1.ConditionPassed},
	}}
	keepPassedMessages(previous, next)
	if got := next.Conditions[1].Message; got != "preview links to app for 30m" {
		t.Errorf("the passed condition's message = %q, want it kept", got)
	}
	if got := next.Conditions[0].Message; got != "" {
		t.Errorf("a condition that was not passed before got message %q", got)
	}
	keepPassedMessages(nil, next) // a first pass has no previous status
}
