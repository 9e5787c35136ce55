package executor

import (
	"fmt"
	"slices"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// VersionObservation is what the cluster shows of one version's workload.
type VersionObservation struct {
	// Ref names the workload.
	Ref ObjectRef
	// Version is the version's name, for messages.
	Version string
	// SpecReplicas is the workload's spec.replicas.
	SpecReplicas int32
	// Replicas counts its pods that are not terminating.
	Replicas int32
	// ReadyReplicas counts its Ready pods.
	ReadyReplicas int32
	// Synced is true when its controller observed its latest spec (status.observedGeneration).
	Synced bool
}

// atTarget reports whether the workload runs exactly want pods and, when ready is set, all Ready.
func (o *VersionObservation) atTarget(want int32, ready bool) bool {
	if o == nil {
		return want == 0
	}
	return o.Synced && o.SpecReplicas == want && o.Replicas == want && (!ready || o.ReadyReplicas >= want)
}

// WorkloadView is one workload of an execution as the executor sees it.
type WorkloadView struct {
	// Name is the manifest Deployment's name.
	Name string
	// Version is the new version's name.
	Version string
	// New is the new version's ReplicaSet; nil before it is created.
	New *VersionObservation
	// State is the execution state on New's annotations; nil before it is created.
	State *WorkloadState
	// Stable is the version the new one replaces (from State, or found before State exists).
	Stable ObjectRef
	// StableObserved is the stable workload; nil when Stable is zero or the object is gone.
	StableObserved *VersionObservation
	// StableReplicas is the stable version's replicas before the Rollout.
	StableReplicas int32
	// FullReplicas is the count that weights split.
	FullReplicas int32
}

// ExecutionInput is everything the next action of a running execution depends on.
type ExecutionInput struct {
	// Now is the current time.
	Now time.Time
	// StartedAt is when the execution started; the first step starts then.
	StartedAt time.Time
	// Plan is the execution's steps (PlanSteps).
	Plan []Step
	// Timeout bounds each wait for Ready.
	Timeout time.Duration
	// Decisions are the Rollout's decisions.
	Decisions []rolloutv1alpha1.RolloutDecision
	// Workloads are the workloads, in order.
	Workloads []WorkloadView
	// SplitTraffic is true when a service mesh splits the traffic (trafficManagement smi or istio):
	// the weight then moves traffic, the new version runs the weight's share of full replicas and
	// the stable version keeps its replicas until the end.
	SplitTraffic bool
	// Queries are spec.analysis.queries, for analysis steps.
	Queries []deployv1alpha1.Query
	// Analysis are the recorded runs of analysis steps (status.analysis).
	Analysis []deployv1alpha1.AnalysisRun
	// WebhookSpecs are spec.webhooks, for runWebhook steps.
	WebhookSpecs []deployv1alpha1.Webhook
	// WebhookCalls are the recorded calls of runWebhook steps (status.webhooks).
	WebhookCalls []deployv1alpha1.WebhookCall
}

// FirstDeployment reports whether no workload has a stable version.
func (in *ExecutionInput) FirstDeployment() bool {
	return !slices.ContainsFunc(in.Workloads, func(w WorkloadView) bool { return !w.Stable.IsZero() })
}

// Outcome is where a pass of an execution ends.
type Outcome string

// Outcomes of NextAction.
const (
	// OutcomeWait waits for the pods of the current step to be Ready.
	OutcomeWait Outcome = "Wait"
	// OutcomePaused waits for a timed pause to end.
	OutcomePaused Outcome = "Paused"
	// OutcomeAwaitingApproval waits for a decision on a pause until approved.
	OutcomeAwaitingApproval Outcome = "AwaitingApproval"
	// OutcomeFinalize makes the new version the stable one and ends the execution.
	OutcomeFinalize Outcome = "Finalize"
	// OutcomeRollBack rolls back to the stable version (a timeout, a reject or rollback decision).
	OutcomeRollBack Outcome = "RollBack"
	// OutcomeCancel rolls back because of a cancel decision.
	OutcomeCancel Outcome = "Cancel"
)

// Action is the next action of a running execution.
type Action struct {
	// Outcome is where the pass ends.
	Outcome Outcome
	// State is the execution state to keep on the new versions.
	State ExecutionState
	// Step is the step the execution is at.
	Step Step
	// Splits are the replicas each workload (in input order) runs at Step.
	Splits []Split
	// Message describes the outcome; for a rollback, why.
	Message string
	// WaitingFor is the gate waiting for a decision.
	WaitingFor string
	// RequeueAfter is when to look again at the latest (zero: when something changes).
	RequeueAfter time.Duration
	// Acted are the decisions acted on in this pass.
	Acted []ActedDecision
	// Discarded are the decisions found not applicable in this pass.
	Discarded []string
	// Started are the steps begun in this pass.
	Started []Step
	// Conditions are the states of a blue/green strategy's conditions after the pass.
	Conditions []rolloutv1alpha1.StrategyConditionStatus
	// running are the outcomes of the conditions run in this pass, by gate.
	running map[string]ConditionOutcome
	// AnalysisDue is a judgment run to make now (analysis.go).
	AnalysisDue *AnalysisDue
	// WebhookDue is a webhook call to make now (webhook.go).
	WebhookDue *WebhookDue
	// WebhookUpdates are new records of webhook calls, for status.webhooks.
	WebhookUpdates []deployv1alpha1.WebhookCall
}

// ActedDecision is a decision acted on, and the step it acted at.
type ActedDecision struct {
	rolloutv1alpha1.RolloutDecision
	// Step is the 1-based step the execution was at.
	Step int32
}

// NextAction decides what a running execution does now. It continues from the state kept on the
// new versions (or starts at step 1 at in.StartedAt): rollback and cancel decisions end it at any
// step, except once the last step is Ready (too late: the new version has become the stable one);
// a setWeight step waits until the new version's pods are Ready and the stable version runs its
// share, or rolls back once the timeout has passed since the step began; a timed pause ends after
// its duration or on a skip or approve; a pause until approved ends on approve, or rolls back on
// reject. Each step reached starts at in.Now, and the pass goes on through steps whose conditions
// already hold.
func NextAction(in ExecutionInput) Action {
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
	last := int32(len(in.Plan))
	state.Step = min(max(state.Step, 1), last)
	act := Action{State: state}
	if finalizing {
		state.Step = last
		act.State, act.Step = state, in.Plan[last-1]
		act.Splits = in.splits(act.Step.Weight)
		act.Outcome, act.Message = OutcomeFinalize, "the new version runs at 100%"
		return act
	}

	for range len(in.Plan) + 1 {
		step := in.Plan[act.State.Step-1]
		act.Step = step
		act.Splits = in.splits(step.Weight)
		m := MatchDecisions(in.Decisions, act.State.Decisions, step)
		act.State.Decisions = append(act.State.Decisions, m.Discard...)
		act.Discarded = append(act.Discarded, m.Discard...)
		ready, why := in.ready(act.Splits)
		prefix := fmt.Sprintf("step %d/%d", act.State.Step, last)

		if step.Kind == SetWeight && act.State.Step == last && ready {
			act.Outcome, act.Message = OutcomeFinalize, "the new version runs at 100%"
			return act
		}
		if d := m.Terminal; d != nil {
			act.Acted = append(act.Acted, ActedDecision{RolloutDecision: *d, Step: act.State.Step})
			if d.Decision == deployv1alpha1.DecisionCancel {
				act.Outcome, act.Message = OutcomeCancel, fmt.Sprintf("cancelled by decision %s at %s%s", d.Name, prefix, reasonSuffix(d.Reason))
			} else {
				act.Outcome, act.Message = OutcomeRollBack, fmt.Sprintf("rolled back by decision %s at %s%s", d.Name, prefix, reasonSuffix(d.Reason))
			}
			in.terminalOnWebhook(&act, step, d.Gate, d.Reason)
			return act
		}

		elapsed := in.Now.Sub(act.State.StepStartedAt)
		switch step.Kind {
		case SetWeight:
			if !ready {
				if elapsed >= in.Timeout {
					act.Outcome = OutcomeRollBack
					act.Message = why.notReady(in.Timeout)
					return act
				}
				act.Outcome = OutcomeWait
				act.Message = fmt.Sprintf("%s: weight %d%%: waiting for %s", prefix, step.Weight, why.waiting())
				act.RequeueAfter = in.Timeout - elapsed
				return act
			}
		case PauseFor:
			if d := m.Gate; d != nil {
				act.Acted = append(act.Acted, ActedDecision{RolloutDecision: *d, Step: act.State.Step})
				act.State.Decisions = append(act.State.Decisions, d.Name)
			} else if elapsed < step.Duration {
				act.Outcome, act.WaitingFor = OutcomePaused, step.Gate()
				until := act.State.StepStartedAt.Add(step.Duration).UTC().Format(time.RFC3339)
				act.Message = fmt.Sprintf("%s: weight %d%%: paused for %s, until %s", prefix, step.Weight, formatDuration(step.Duration), until)
				act.RequeueAfter = step.Duration - elapsed
				return act
			}
		case PauseUntilApproved:
			d := m.Gate
			if d == nil {
				act.Outcome, act.WaitingFor = OutcomeAwaitingApproval, step.Gate()
				act.Message = fmt.Sprintf("%s: weight %d%%: waiting for approval of %s", prefix, step.Weight, step.Gate())
				return act
			}
			act.Acted = append(act.Acted, ActedDecision{RolloutDecision: *d, Step: act.State.Step})
			act.State.Decisions = append(act.State.Decisions, d.Name)
			if d.Decision == deployv1alpha1.DecisionReject {
				act.Outcome = OutcomeRollBack
				act.Message = fmt.Sprintf("rejected by decision %s at %s", d.Name, step.Gate())
				return act
			}
		case RunAnalysis:
			if in.analysisAction(&act, step, m, prefix) {
				return act
			}
		case RunWebhook:
			if in.webhookAction(&act, step, m, prefix) {
				return act
			}
		}
		if act.State.Step == last {
			// Only a last step that is a pause gets here: the weight it holds is final.
			act.Outcome, act.Message = OutcomeFinalize, "the new version runs at 100%"
			return act
		}
		act.State.Step++
		act.State.StepStartedAt = in.Now
		act.Started = append(act.Started, in.Plan[act.State.Step-1])
	}
	return act
}

// splits returns each workload's replicas at weight.
func (in *ExecutionInput) splits(weight int32) []Split {
	out := make([]Split, len(in.Workloads))
	for i, w := range in.Workloads {
		hasStable := !w.Stable.IsZero() && w.StableObserved != nil
		out[i] = SplitReplicas(w.FullReplicas, weight, hasStable)
		if in.SplitTraffic && hasStable {
			out[i].Stable = w.StableReplicas
		}
	}
	return out
}

// notReadyReason says which version is not where a step wants it.
type notReadyReason struct {
	version  string
	stable   bool
	missing  bool
	ready    int32
	replicas int32
	want     int32
}

func (r notReadyReason) waiting() string {
	switch {
	case r.missing:
		return fmt.Sprintf("new version %s to be created", r.version)
	case r.stable:
		return fmt.Sprintf("stable version %s to run %d pods (%d now)", r.version, r.want, r.replicas)
	}
	return fmt.Sprintf("new version %s: %d/%d Ready", r.version, r.ready, r.want)
}

func (r notReadyReason) notReady(timeout time.Duration) string {
	within := formatDuration(timeout)
	switch {
	case r.missing:
		return fmt.Sprintf("new version %s not created within %s", r.version, within)
	case r.stable:
		return fmt.Sprintf("stable version %s not down to %d pods within %s: %d pods", r.version, r.want, within, r.replicas)
	}
	return fmt.Sprintf("new version %s not Ready within %s: %d/%d Ready", r.version, within, r.ready, r.want)
}

// ready reports whether every workload runs its split: the new version's pods all Ready, the
// stable version at its share (its pods need not be Ready: a broken stable must not block its
// replacement). Otherwise it says what is missing.
func (in *ExecutionInput) ready(splits []Split) (bool, notReadyReason) {
	for i, w := range in.Workloads {
		s := splits[i]
		if w.New == nil {
			return false, notReadyReason{version: w.Version, missing: true, want: s.New}
		}
		if !w.New.atTarget(s.New, true) {
			return false, notReadyReason{version: w.Version, ready: w.New.ReadyReplicas, replicas: w.New.Replicas, want: s.New}
		}
		if w.StableObserved != nil && !w.StableObserved.atTarget(s.Stable, false) {
			return false, notReadyReason{version: w.StableObserved.Version, stable: true, replicas: w.StableObserved.Replicas, want: s.Stable}
		}
	}
	return true, notReadyReason{}
}

// formatDuration writes whole hours, minutes or seconds as "2h", "30m", "45s".
func formatDuration(d time.Duration) string {
	switch {
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d > 0 && d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
