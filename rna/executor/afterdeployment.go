package executor

import (
	"cmp"
	"slices"
	"strconv"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// afterDeploymentPrefix starts the gate name of a target's afterDeployment gate.
const afterDeploymentPrefix = "afterDeployment["

// AfterDeploymentGate is the gate name of the afterDeployment gate at index i: afterDeployment[i].
func AfterDeploymentGate(i int32) string {
	return afterDeploymentPrefix + strconv.Itoa(int(i)) + "]"
}

// AfterDeploymentSteps returns the steps that run a Rollout's afterDeployment gates once the strategy
// reached 100%, in the order of their index in constraints.afterDeployment: analysis gates become
// analysis steps and remoteNetworkAgent webhook gates runWebhook steps, at weight 100, named by
// their gate. A failing one acts as a failing step of its kind does: an analysis follows its
// rollBackMode (automatic rolls back, manual waits for a Judgment on the gate); a webhook rolls
// back when its calls fail, its callback reports failure or no callback comes in time.
func AfterDeploymentSteps(analyses []rolloutv1alpha1.AfterDeploymentAnalysis, webhooks []rolloutv1alpha1.AfterDeploymentWebhook) []Step {
	gates := afterDeploymentGates(analyses, webhooks)
	out := make([]Step, 0, len(gates))
	for _, g := range gates {
		s := Step{Index: -1, Weight: 100, ConditionGate: g.gate}
		if g.analysis != nil {
			s.Kind, s.Analysis = RunAnalysis, g.analysis
		} else {
			s.Kind, s.Webhook = RunWebhook, g.webhook
		}
		out = append(out, s)
	}
	return out
}

// AfterDeploymentConditions returns a blue/green Rollout's afterDeployment gates as conditions, in
// the order of their index: they run beside the shutDownOldVersionAfter conditions, once the
// active Services select the new version and while the old version still runs, so that a failing
// gate rolls back to it (see PlanBlueGreen).
func AfterDeploymentConditions(analyses []rolloutv1alpha1.AfterDeploymentAnalysis, webhooks []rolloutv1alpha1.AfterDeploymentWebhook) []Condition {
	gates := afterDeploymentGates(analyses, webhooks)
	out := make([]Condition, 0, len(gates))
	for _, g := range gates {
		spec := deployv1alpha1.BlueGreenCondition{Analysis: g.analysis, RunWebhook: g.webhook}
		out = append(out, Condition{Gate: g.gate, Kind: ConditionKindOf(spec), Spec: spec})
	}
	return out
}

// afterDeploymentGate is one afterDeployment gate the executor runs: an analysis or a webhook.
type afterDeploymentGate struct {
	index    int32
	gate     string
	analysis *deployv1alpha1.AnalysisStep
	webhook  *deployv1alpha1.RunWebhookStep
}

// afterDeploymentGates merges a Rollout's afterDeployment analysis and webhook gates in the order
// of their index (an analysis first on a tie, which the Deployment controller never makes).
func afterDeploymentGates(analyses []rolloutv1alpha1.AfterDeploymentAnalysis, webhooks []rolloutv1alpha1.AfterDeploymentWebhook) []afterDeploymentGate {
	out := make([]afterDeploymentGate, 0, len(analyses)+len(webhooks))
	for i := range analyses {
		a := &analyses[i]
		out = append(out, afterDeploymentGate{index: a.Index, gate: AfterDeploymentGate(a.Index), analysis: &a.Analysis})
	}
	for i := range webhooks {
		w := &webhooks[i]
		out = append(out, afterDeploymentGate{index: w.Index, gate: AfterDeploymentGate(w.Index), webhook: &w.RunWebhook})
	}
	slices.SortStableFunc(out, func(a, b afterDeploymentGate) int { return cmp.Compare(a.index, b.index) })
	return out
}

// parseAfterDeploymentGate returns the index an afterDeployment gate names ("afterDeployment[1]"
// → 1), or -1 when it names none.
func parseAfterDeploymentGate(gate string) int { return parseIndexedGate(gate, afterDeploymentPrefix) }
