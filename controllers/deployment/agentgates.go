package deployment

import (
	"fmt"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// agentGates refuses the constraint webhook gates with networkMode remoteNetworkAgent whose webhook
// names another agent (agentIdentifier) than the target's: the target's own agent calls them, from
// its Rollout (beforeDeployment gates before it applies anything, afterDeployment gates once the
// strategy reached 100%).
func agentGates(spec *deployv1alpha1.DeploymentSpec) []string {
	var errs []string
	for _, name := range sortedKeys(spec.Targets) {
		t := spec.Targets[name]
		if t.Constraints == nil {
			continue
		}
		path := "spec.targets." + name + ".constraints"
		check := func(kind string, i int, step *deployv1alpha1.RunWebhookStep) {
			if step == nil || !viaAgent(spec, step.Name) {
				return
			}
			if w := findWebhook(spec.Webhooks, step.Name); w != nil && w.AgentIdentifier != "" && w.AgentIdentifier != t.Account {
				errs = append(errs, fmt.Sprintf("%s.%s[%d].runWebhook: webhook %q names agentIdentifier %q, but the target's own agent (account %q) calls %s gates; "+
					"leave agentIdentifier out or set it to %q", path, kind, i, step.Name, w.AgentIdentifier, t.Account, kind, t.Account))
			}
		}
		for i, g := range t.Constraints.BeforeDeployment {
			check(BeforeDeploymentGate, i, g.RunWebhook)
		}
		for i, g := range t.Constraints.AfterDeployment {
			check(AfterDeploymentGate, i, g.RunWebhook)
		}
	}
	return errs
}
