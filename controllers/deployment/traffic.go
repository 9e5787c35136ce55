package deployment

import (
	"fmt"
	"slices"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// trafficProblems reports a blue/green target without an active Service: neither its strategy's
// blueGreen.activeService nor a trafficManagement kubernetes block that applies to it names one.
func trafficProblems(spec *deployv1alpha1.DeploymentSpec) []string {
	var errs []string
	for _, name := range sortedKeys(spec.Targets) {
		t := spec.Targets[name]
		s, ok := spec.Strategies[t.Strategy]
		if !ok || s.BlueGreen == nil || s.BlueGreen.ActiveService != "" {
			continue
		}
		if slices.ContainsFunc(trafficFor(spec, name), func(tm deployv1alpha1.TrafficManagement) bool {
			return slices.ContainsFunc(tm.Kubernetes, func(k deployv1alpha1.KubernetesTrafficManagement) bool { return k.ActiveService != "" })
		}) {
			continue
		}
		errs = append(errs, fmt.Sprintf("spec.strategies.%s.blueGreen.activeService: target %q has no active Service; set it here or in a spec.trafficManagement[].kubernetes[].activeService that applies to the target", t.Strategy, name))
	}
	return errs
}
