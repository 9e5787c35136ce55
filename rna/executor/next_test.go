package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// the plan of the canary 25 → 50 → pause until approved → (100).
var canaryPlan = PlanSteps(canary(weightStep(25), weightStep(50), approvalStep()), false)

// running is a workload of 10 replicas replacing ReplicaSet/stable, at step (started at since),
// with its new version at newSpec replicas (newReady Ready) and the stable one at stableSpec.
func running(step int32, since time.Time, newSpec, newReady, stableSpec int32, handled ...string) WorkloadView {
	v := WorkloadView{
		Name: "app", Version: "app-new",
		Stable: ObjectRef{Kind: KindReplicaSet, Name: "app-old"}, StableReplicas: 10, FullReplicas: 10,
		New:            &VersionObservation{Ref: ObjectRef{Kind: KindReplicaSet, Name: "app-new"}, Version: "app-new", SpecReplicas: newSpec, Replicas: newSpec, ReadyReplicas: newReady, Synced: true},
		StableObserved: &VersionObservation{Ref: ObjectRef{Kind: KindReplicaSet, Name: "app-old"}, Version: "app-old", SpecReplicas: stableSpec, Replicas: stableSpec, ReadyReplicas: stableSpec, Synced: true},
	}
	v.State = &WorkloadState{StartedAt: t0, Step: step, StepStartedAt: since, Decisions: handled, Stable: v.Stable, StableReplicas: 10, FullReplicas: 10, Role: roleCanary}
	return v
}

func input(now time.Time, plan []Step, decisions []rolloutv1alpha1.RolloutDecision, views ...WorkloadView) ExecutionInput {
	return ExecutionInput{Now: now, StartedAt: t0, Plan: plan, Timeout: 30 * time.Second, Decisions: decisions, Workloads: views}
}

func TestNextAction(t *testing.T) {
	notCreated := running(1, t0, 0, 0, 10)
	notCreated.New, notCreated.State = nil, nil
	finalizing := running(4, t0, 10, 10, 0)
	finalizing.State.Role = roleStable
	first := WorkloadView{Name: "app", Version: "app-new", FullReplicas: 4,
		New:   &VersionObservation{Version: "app-new", SpecReplicas: 4, Replicas: 4, ReadyReplicas: 4, Synced: true},
		State: &WorkloadState{Step: 1, StepStartedAt: t0, FullReplicas: 4}}
	stableGone := running(2, t0, 5, 5, 5)
	stableGone.StableObserved = nil
	unsynced := running(1, t0, 3, 3, 7)
	unsynced.New.Synced = false
	lagging := running(2, t0.Add(time.Second), 5, 5, 5)
	ahead := running(3, t0.Add(2*time.Second), 5, 5, 5)
	ahead.Name, ahead.Version = "api", "api-new"
	now := t0.Add(5 * time.Second)

	tests := []struct {
		name       string
		in         ExecutionInput
		outcome    Outcome
		step       int32
		stepSince  time.Time
		splits     []Split
		message    string
		waitingFor string
		requeue    time.Duration
		acted      []string
		handled    []string
	}{
		{name: "a new execution starts at step 1 and creates the new version",
			in: input(now, canaryPlan, nil, notCreated), outcome: OutcomeWait, step: 1, stepSince: t0, splits: []Split{{3, 7}},
			message: "step 1/4: weight 25%: waiting for new version app-new to be created", requeue: 25 * time.Second},
		{name: "new pods not Ready yet",
			in: input(now, canaryPlan, nil, running(1, t0, 3, 1, 7)), outcome: OutcomeWait, step: 1, stepSince: t0, splits: []Split{{3, 7}},
			message: "step 1/4: weight 25%: waiting for new version app-new: 1/3 Ready", requeue: 25 * time.Second},
		{name: "a ReplicaSet whose controller is behind is not Ready",
			in: input(now, canaryPlan, nil, unsynced), outcome: OutcomeWait, step: 1, stepSince: t0, splits: []Split{{3, 7}},
			message: "step 1/4: weight 25%: waiting for new version app-new: 3/3 Ready", requeue: 25 * time.Second},
		{name: "the stable version still runs its old share",
			in: input(now, canaryPlan, nil, running(1, t0, 3, 3, 10)), outcome: OutcomeWait, step: 1, stepSince: t0, splits: []Split{{3, 7}},
			message: "step 1/4: weight 25%: waiting for stable version app-old to run 7 pods (10 now)", requeue: 25 * time.Second},
		{name: "Ready at 25%: on to 50%",
			in: input(now, canaryPlan, nil, running(1, t0, 3, 3, 7)), outcome: OutcomeWait, step: 2, stepSince: now, splits: []Split{{5, 5}},
			message: "step 2/4: weight 50%: waiting for new version app-new: 3/5 Ready", requeue: 30 * time.Second},
		{name: "Ready at 50%: on to the approval",
			in: input(now, canaryPlan, nil, running(2, t0, 5, 5, 5)), outcome: OutcomeAwaitingApproval, step: 3, stepSince: now, splits: []Split{{5, 5}},
			message: "step 3/4: weight 50%: waiting for approval of steps[2]", waitingFor: "steps[2]"},
		{name: "approved: on to 100%",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("ok", "steps[2]", approve)}, running(3, t0, 5, 5, 5)),
			outcome: OutcomeWait, step: 4, stepSince: now, splits: []Split{{10, 0}}, acted: []string{"ok"}, handled: []string{"ok"},
			message: "step 4/4: weight 100%: waiting for new version app-new: 5/10 Ready", requeue: 30 * time.Second},
		{name: "an approval acted on before is not acted on again",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("ok", "", approve)}, running(4, t0, 10, 8, 0, "ok")),
			outcome: OutcomeWait, step: 4, stepSince: t0, splits: []Split{{10, 0}}, handled: []string{"ok"},
			message: "step 4/4: weight 100%: waiting for new version app-new: 8/10 Ready", requeue: 25 * time.Second},
		{name: "Ready at 100%: finalize",
			in: input(now, canaryPlan, nil, running(4, t0, 10, 10, 0)), outcome: OutcomeFinalize, step: 4, stepSince: t0, splits: []Split{{10, 0}},
			message: "the new version runs at 100%"},
		{name: "Ready at 100%: too late for a rollback",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("back", "", rollback)}, running(4, t0, 10, 10, 0)),
			outcome: OutcomeFinalize, step: 4, stepSince: t0, splits: []Split{{10, 0}}, message: "the new version runs at 100%"},
		{name: "finalizing goes on whatever happens",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("back", "", rollback)}, finalizing),
			outcome: OutcomeFinalize, step: 4, stepSince: t0, splits: []Split{{10, 0}}, message: "the new version runs at 100%"},
		{name: "not Ready within the timeout: roll back",
			in: input(t0.Add(31*time.Second), canaryPlan, nil, running(1, t0, 3, 1, 7)), outcome: OutcomeRollBack, step: 1, stepSince: t0, splits: []Split{{3, 7}},
			message: "new version app-new not Ready within 30s: 1/3 Ready"},
		{name: "the timeout counts from the step's start",
			in: input(t0.Add(50*time.Second), canaryPlan, nil, running(2, t0.Add(40*time.Second), 5, 1, 5)), outcome: OutcomeWait, step: 2, stepSince: t0.Add(40 * time.Second), splits: []Split{{5, 5}},
			message: "step 2/4: weight 50%: waiting for new version app-new: 1/5 Ready", requeue: 20 * time.Second},
		{name: "stable not down within the timeout: roll back",
			in: input(t0.Add(time.Minute), canaryPlan, nil, running(1, t0, 3, 3, 10)), outcome: OutcomeRollBack, step: 1, stepSince: t0, splits: []Split{{3, 7}},
			message: "stable version app-old not down to 7 pods within 30s: 10 pods"},
		{name: "reject: roll back",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("no", "", reject)}, running(3, t0, 5, 5, 5)),
			outcome: OutcomeRollBack, step: 3, stepSince: t0, splits: []Split{{5, 5}}, acted: []string{"no"}, handled: []string{"no"},
			message: "rejected by decision no at steps[2]"},
		{name: "rollback decision while waiting for Ready",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("back", "", rollback)}, running(2, t0, 5, 2, 5)),
			outcome: OutcomeRollBack, step: 2, stepSince: t0, splits: []Split{{5, 5}}, acted: []string{"back"},
			message: "rolled back by decision back at step 2/4"},
		{name: "cancel decision during the approval",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("stop", "", cancel)}, running(3, t0, 5, 5, 5)),
			outcome: OutcomeCancel, step: 3, stepSince: t0, splits: []Split{{5, 5}}, acted: []string{"stop"},
			message: "cancelled by decision stop at step 3/4"},
		{name: "an approval while nothing waits is discarded",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("early", "", approve)}, running(1, t0, 3, 1, 7)),
			outcome: OutcomeWait, step: 1, stepSince: t0, splits: []Split{{3, 7}}, handled: []string{"early"},
			message: "step 1/4: weight 25%: waiting for new version app-new: 1/3 Ready", requeue: 25 * time.Second},
		{name: "an approval for a later gate waits for it and acts there",
			in:      input(now, canaryPlan, []rolloutv1alpha1.RolloutDecision{decision("pre", "steps[2]", approve)}, running(2, t0, 5, 5, 5)),
			outcome: OutcomeWait, step: 4, stepSince: now, splits: []Split{{10, 0}}, acted: []string{"pre"}, handled: []string{"pre"},
			message: "step 4/4: weight 100%: waiting for new version app-new: 5/10 Ready", requeue: 30 * time.Second},
		{name: "a timed pause waits",
			in:      input(t0.Add(20*time.Second), PlanSteps(canary(weightStep(50), timedStep(1, "minutes")), false), nil, running(2, t0, 5, 5, 5)),
			outcome: OutcomePaused, step: 2, stepSince: t0, splits: []Split{{5, 5}}, waitingFor: "steps[1]", requeue: 40 * time.Second,
			message: "step 2/3: weight 50%: paused for 1m, until 2026-11-30T12:01:00Z"},
		{name: "a timed pause ends",
			in:      input(t0.Add(61*time.Second), PlanSteps(canary(weightStep(50), timedStep(1, "minutes")), false), nil, running(2, t0, 5, 5, 5)),
			outcome: OutcomeWait, step: 3, stepSince: t0.Add(61 * time.Second), splits: []Split{{10, 0}}, requeue: 30 * time.Second,
			message: "step 3/3: weight 100%: waiting for new version app-new: 5/10 Ready"},
		{name: "a skip ends a timed pause early",
			in:      input(now, PlanSteps(canary(weightStep(50), timedStep(1, "hours")), false), []rolloutv1alpha1.RolloutDecision{decision("s", "", skip)}, running(2, t0, 5, 5, 5)),
			outcome: OutcomeWait, step: 3, stepSince: now, splits: []Split{{10, 0}}, acted: []string{"s"}, handled: []string{"s"}, requeue: 30 * time.Second,
			message: "step 3/3: weight 100%: waiting for new version app-new: 5/10 Ready"},
		{name: "a pause at the very start is at weight 0",
			in:      input(now, PlanSteps(canary(approvalStep(), weightStep(50)), false), nil, running(1, t0, 0, 0, 10)),
			outcome: OutcomeAwaitingApproval, step: 1, stepSince: t0, splits: []Split{{0, 10}}, waitingFor: "steps[0]",
			message: "step 1/3: weight 0%: waiting for approval of steps[0]"},
		{name: "a first deployment runs the new version at full replicas",
			in: input(now, PlanSteps(canary(weightStep(25)), true), nil, first), outcome: OutcomeFinalize, step: 1, stepSince: t0, splits: []Split{{4, 0}},
			message: "the new version runs at 100%"},
		{name: "a stable version that vanished leaves everything to the new one",
			in: input(now, canaryPlan, nil, stableGone), outcome: OutcomeWait, step: 2, stepSince: t0, splits: []Split{{10, 0}}, requeue: 25 * time.Second,
			message: "step 2/4: weight 50%: waiting for new version app-new: 5/10 Ready"},
		{name: "workloads go together from the furthest step",
			in: input(now, canaryPlan, nil, lagging, ahead), outcome: OutcomeAwaitingApproval, step: 3, stepSince: t0.Add(2 * time.Second), splits: []Split{{5, 5}, {5, 5}},
			waitingFor: "steps[2]", message: "step 3/4: weight 50%: waiting for approval of steps[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			act := NextAction(tt.in)
			g.Expect(act.Outcome).To(Equal(tt.outcome), act.Message)
			g.Expect(act.Message).To(Equal(tt.message))
			g.Expect(act.State.Step).To(Equal(tt.step))
			g.Expect(act.State.StepStartedAt).To(Equal(tt.stepSince))
			g.Expect(act.Splits).To(Equal(tt.splits))
			g.Expect(act.WaitingFor).To(Equal(tt.waitingFor))
			g.Expect(act.RequeueAfter).To(Equal(tt.requeue))
			var acted []string
			for _, d := range act.Acted {
				acted = append(acted, d.Name)
			}
			g.Expect(acted).To(Equal(tt.acted))
			g.Expect(act.State.Decisions).To(Equal(tt.handled))
		})
	}
}

func TestNextActionWalksTheWholeCanary(t *testing.T) {
	g := NewWithT(t)
	// Feed each action back as the cluster would after the writes and the pods turned Ready.
	view := running(1, t0, 0, 0, 10)
	now := t0
	var weights []int32
	var decisions []rolloutv1alpha1.RolloutDecision
	for range 10 {
		now = now.Add(time.Second)
		act := NextAction(input(now, canaryPlan, decisions, view))
		weights = append(weights, act.Step.Weight)
		if act.Outcome == OutcomeFinalize {
			break
		}
		if act.Outcome == OutcomeAwaitingApproval {
			decisions = append(decisions, decision("ok", act.WaitingFor, approve))
		}
		s := act.Splits[0]
		view = running(act.State.Step, act.State.StepStartedAt, s.New, s.New, s.Stable, act.State.Decisions...)
	}
	g.Expect(weights).To(Equal([]int32{25, 50, 50, 100, 100}), "wait at 25, wait at 50, approval at 50, wait at 100, finalize")
}
