package executor

import (
	"strconv"
	"strings"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// afterDeploymentPrefix starts the gate name of a target's afterDeployment gate.
const afterDeploymentPrefix = "afterDeployment["

// AfterDeploymentGate is the gate name of the afterDeployment gate at index i: afterDeployment[i].
func AfterDeploymentGate(i int32) string {
	return afterDeploymentPrefix + strconv.Itoa(int(i)) + "]"
}

// AfterDeploymentSteps returns the steps that run a Rollout's afterDeployment analysis gates, in
// order, once the strategy reached 100%: analysis steps at weight 100 named by their gate. A
// failing one follows its rollBackMode, as an analysis step does: automatic rolls back, manual
// waits for a Judgment on the gate.
func AfterDeploymentSteps(gates []rolloutv1alpha1.AfterDeploymentAnalysis) []Step {
	out := make([]Step, 0, len(gates))
	for i := range gates {
		g := &gates[i]
		out = append(out, Step{Index: -1, Kind: RunAnalysis, Weight: 100, Analysis: &g.Analysis, ConditionGate: AfterDeploymentGate(g.Index)})
	}
	return out
}

// parseAfterDeploymentGate returns the index an afterDeployment gate names ("afterDeployment[1]"
// → 1), or -1 when it names none.
func parseAfterDeploymentGate(gate string) int {
	inner, ok := strings.CutPrefix(gate, afterDeploymentPrefix)
	if !ok {
		return -1
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(inner)
	if err != nil || i < 0 {
		return -1
	}
	return i
}
