package deployment

import (
	"fmt"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// unsupportedGates refuses what the Deployment controller cannot run in a target's constraints yet:
// analysis gates (their queries must run from the target's agent), and runWebhook gates whose
// webhook has networkMode remoteNetworkAgent (the controller calls constraint webhooks from the
// control plane, direct).
//
// TEMPORARY: remove this file, and its call in Validate, once the agent runs analysis gates and
// remoteNetworkAgent gate calls. (Webhook and analysis steps inside a strategy are the executor's
// and are fine.)
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
				errs = append(errs, fmt.Sprintf("%s.beforeDeployment[%d].runWebhook: webhook %q has networkMode remoteNetworkAgent, which only strategy steps support yet; constraint gates call webhooks direct, from the control plane", path, i, g.RunWebhook.Name))
			}
		}
		for i, g := range c.AfterDeployment {
			if g.RunWebhook != nil && viaAgent(spec, g.RunWebhook.Name) {
				errs = append(errs, fmt.Sprintf("%s.afterDeployment[%d].runWebhook: webhook %q has networkMode remoteNetworkAgent, which only strategy steps support yet; constraint gates call webhooks direct, from the control plane", path, i, g.RunWebhook.Name))
			}
			if g.Analysis != nil {
				errs = append(errs, fmt.Sprintf("%s.afterDeployment[%d].analysis: analysis gates are not supported yet; use an analysis step in the strategy", path, i))
			}
		}
	}
	return errs
}

// viaAgent reports whether the webhook of that name is to be called from an agent.
func viaAgent(spec *deployv1alpha1.DeploymentSpec, name string) bool {
	for _, w := range spec.Webhooks {
		if w.Name == name {
			return w.NetworkMode == deployv1alpha1.NetworkModeRemoteNetworkAgent || w.IsRemoteNetworkAgent
		}
	}
	return false
}
