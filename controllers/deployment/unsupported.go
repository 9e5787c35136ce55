package deployment

import (
	"fmt"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// unsupportedGates refuses runWebhook and analysis gates in a target's constraints: the Deployment
// controller runs only pause gates so far.
//
// TEMPORARY: remove this file, and its call in Validate, once the controller runs webhook and
// analysis gates. (Webhook and analysis steps inside a strategy are the executor's and are fine.)
func unsupportedGates(spec *deployv1alpha1.DeploymentSpec) []string {
	var errs []string
	for _, name := range sortedKeys(spec.Targets) {
		c := spec.Targets[name].Constraints
		if c == nil {
			continue
		}
		path := "spec.targets." + name + ".constraints"
		for i, g := range c.BeforeDeployment {
			if g.RunWebhook != nil {
				errs = append(errs, fmt.Sprintf("%s.beforeDeployment[%d].runWebhook: runWebhook gates are not supported yet; use a pause", path, i))
			}
		}
		for i, g := range c.AfterDeployment {
			if g.RunWebhook != nil {
				errs = append(errs, fmt.Sprintf("%s.afterDeployment[%d].runWebhook: runWebhook gates are not supported yet; use a pause", path, i))
			}
			if g.Analysis != nil {
				errs = append(errs, fmt.Sprintf("%s.afterDeployment[%d].analysis: analysis gates are not supported yet; use an analysis step in the strategy", path, i))
			}
		}
	}
	return errs
}
