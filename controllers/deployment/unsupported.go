package deployment

import (
	"fmt"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// unsupportedGates refuses what the Deployment controller cannot run in a target's constraints yet:
// afterDeployment analysis gates of a blue/green target (the executor runs them at the end of a
// canary Rollout only), and runWebhook gates whose
// webhook has networkMode remoteNetworkAgent (the controller calls constraint webhooks from the
// control plane, direct).
//
// TEMPORARY: remove this file, and its call in Validate, once the executor runs afterDeployment
// analysis after a blue/green strategy and the agent makes remoteNetworkAgent gate calls. (Webhook and analysis steps inside a strategy are the executor's
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
			if g.Analysis != nil && spec.Strategies[spec.Targets[name].Strategy].BlueGreen != nil {
				errs = append(errs, fmt.Sprintf("%s.afterDeployment[%d].analysis: afterDeployment analysis gates run only with a canary strategy yet; this target's strategy is blueGreen", path, i))
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
