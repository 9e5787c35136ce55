package deployment

import (
	"fmt"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// unsupportedGates refuses the constraint gates that nothing can run: beforeDeployment runWebhook
// gates whose webhook has networkMode remoteNetworkAgent, and afterDeployment ones whose webhook
// names another agent (agentIdentifier) than the target's, which calls them. The Deployment controller calls
// beforeDeployment webhooks from the control plane (direct), and the agent's executor runs only
// what a Rollout carries, which does not exist before these gates passed. (afterDeployment
// remoteNetworkAgent webhooks, analysis gates and strategy steps run in the executor and are fine.)
func unsupportedGates(spec *deployv1alpha1.DeploymentSpec) []string {
	var errs []string
	for _, name := range sortedKeys(spec.Targets) {
		c := spec.Targets[name].Constraints
		if c == nil {
			continue
		}
		path := "spec.targets." + name + ".constraints"
		for i, g := range c.BeforeDeployment {
			if g.RunWebhook != nil && viaAgent(spec, g.RunWebhook.Name) {
				errs = append(errs, fmt.Sprintf("%s.beforeDeployment[%d].runWebhook: webhook %q has networkMode remoteNetworkAgent, which beforeDeployment gates do not support yet: "+
					"they run before the target's Rollout exists and call webhooks direct, from the control plane; use networkMode direct, "+
					"or move the gate to afterDeployment or into the strategy, where the agent calls it", path, i, g.RunWebhook.Name))
			}
		}
		account := spec.Targets[name].Account
		for i, g := range c.AfterDeployment {
			if g.RunWebhook == nil || !viaAgent(spec, g.RunWebhook.Name) {
				continue
			}
			if w := findWebhook(spec.Webhooks, g.RunWebhook.Name); w != nil && w.AgentIdentifier != "" && w.AgentIdentifier != account {
				errs = append(errs, fmt.Sprintf("%s.afterDeployment[%d].runWebhook: webhook %q names agentIdentifier %q, but the target's own agent (account %q) calls afterDeployment gates; "+
					"leave agentIdentifier out or set it to %q", path, i, g.RunWebhook.Name, w.AgentIdentifier, account, account))
			}
		}
	}
	return errs
}
