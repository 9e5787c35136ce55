package executor

import (
	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// DecisionMatch is what the decisions of a Rollout mean for the step it is at.
type DecisionMatch struct {
	// Terminal is the first pending rollback or cancel decision: it applies whatever the step.
	Terminal *rolloutv1alpha1.RolloutDecision
	// Gate is the first pending decision that acts on the step: approve or skip a timed pause,
	// approve or reject a pause until approved.
	Gate *rolloutv1alpha1.RolloutDecision
	// Discard are pending decisions that can never act: one for a step already passed or one that
	// is not a pause, one whose gate is empty and arrives when nothing waits, or one of a kind that
	// does not apply to the pause it names. They are marked as handled without effect.
	Discard []string
}

// MatchDecisions matches the pending decisions (not in handled) against step, the step the
// execution is at. A decision with an empty gate is for whatever waits when it arrives: while a
// setWeight step runs nothing waits, so it is discarded rather than kept for a later pause. A
// decision naming a later step waits until the execution gets there.
func MatchDecisions(decisions []rolloutv1alpha1.RolloutDecision, handled []string, step Step) DecisionMatch {
	done := make(map[string]bool, len(handled))
	for _, n := range handled {
		done[n] = true
	}
	var m DecisionMatch
	for i := range decisions {
		d := &decisions[i]
		if done[d.Name] {
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
		if after := parseAfterDeploymentGate(d.Gate); after >= 0 {
			matchAfterDeployment(&m, d, after, step)
			continue
		}
		target := parseGate(d.Gate)
		switch {
		case d.Gate != "" && target < 0:
			m.Discard = append(m.Discard, d.Name) // a gate that names no canary step
		case d.Gate != "" && target > step.Index && step.Index >= 0:
			// for a later step: keep it until the execution gets there
		case d.Gate != "" && target != step.Index, !step.TakesDecisions():
			m.Discard = append(m.Discard, d.Name)
		case !appliesTo(d.Decision, step.Kind):
			m.Discard = append(m.Discard, d.Name)
		case m.Gate == nil:
			m.Gate = d
		}
	}
	return m
}

// matchAfterDeployment matches a decision naming afterDeployment[after]: it waits while the
// execution is before that gate (at a strategy step or an earlier gate), acts on it when the
// execution is there, and is discarded once the gate is passed or when it does not apply.
func matchAfterDeployment(m *DecisionMatch, d *rolloutv1alpha1.RolloutDecision, after int, step Step) {
	current := parseAfterDeploymentGate(step.ConditionGate)
	switch {
	case current < after:
		// a later gate: keep it until the execution gets there
	case current > after, !appliesTo(d.Decision, step.Kind):
		m.Discard = append(m.Discard, d.Name)
	case m.Gate == nil:
		m.Gate = d
	}
}

// appliesTo reports whether a decision acts on a pause of the given kind.
func appliesTo(d deployv1alpha1.Decision, kind StepKind) bool {
	switch kind {
	case PauseFor:
		return d == deployv1alpha1.DecisionSkip || d == deployv1alpha1.DecisionApprove
	case PauseUntilApproved, RunAnalysis, RunWebhook:
		return d == deployv1alpha1.DecisionApprove || d == deployv1alpha1.DecisionReject
	}
	return false
}
