package executor

import (
	"errors"
	"fmt"
	"slices"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// TrafficConfig is how an execution routes traffic between the stable and the new version.
type TrafficConfig struct {
	// Active are the Services a blue/green strategy switches to the new version.
	Active []string
	// Preview are the Services that select the new version of a blue/green strategy at once.
	Preview []string
	// SMI are the SMI traffic splits of a canary.
	SMI []deployv1alpha1.SMITrafficManagement
	// Istio are the Istio routes of a canary.
	Istio []deployv1alpha1.IstioTrafficManagement
}

// TrafficConfigOf reads the traffic configuration of a Rollout: a blue/green strategy switches its
// active and preview Services (the strategy's and those of trafficManagement kubernetes blocks); a
// canary splits traffic with the smi and istio blocks. Blocks that do not apply to the strategy
// are ignored.
func TrafficConfigOf(spec *rolloutv1alpha1.RolloutSpec) TrafficConfig {
	var cfg TrafficConfig
	if bg := spec.Strategy.BlueGreen; bg != nil {
		cfg.Active, cfg.Preview = BlueGreenServices(bg, spec.TrafficManagement)
		return cfg
	}
	for _, tm := range spec.TrafficManagement {
		cfg.SMI = append(cfg.SMI, tm.SMI...)
		cfg.Istio = append(cfg.Istio, tm.Istio...)
	}
	return cfg
}

// services are the Services the execution switches: active, preview, SMI root and canary.
func (c TrafficConfig) services() []string {
	out := slices.Concat(c.Active, c.Preview)
	for _, s := range c.SMI {
		out = append(out, s.RootServiceName, CanaryServiceName(s))
	}
	return out
}

// SplitsTraffic reports whether a service mesh splits the canary's traffic.
func (c TrafficConfig) SplitsTraffic() bool { return len(c.SMI) > 0 || len(c.Istio) > 0 }

// IsZero reports whether the execution routes no traffic itself.
func (c TrafficConfig) IsZero() bool {
	return len(c.Active) == 0 && len(c.Preview) == 0 && !c.SplitsTraffic()
}

// CheckTraffic returns why a Rollout's traffic configuration cannot run: a blue/green strategy
// without an active Service, or a Service that is both active and preview.
func CheckTraffic(spec *rolloutv1alpha1.RolloutSpec) error {
	if spec.Strategy.BlueGreen == nil {
		return nil
	}
	cfg := TrafficConfigOf(spec)
	if len(cfg.Active) == 0 {
		return errors.New("blueGreen needs an activeService: set it in the strategy or in trafficManagement[].kubernetes[].activeService")
	}
	for _, p := range cfg.Preview {
		for _, a := range cfg.Active {
			if p == a {
				return fmt.Errorf("blueGreen: Service %s cannot be both the activeService and the previewService", p)
			}
		}
	}
	return nil
}

// TrafficWeight is the share of traffic (percent) the new version gets after a pass: all of it
// when finalizing; while the pods of a setWeight step (or of a blue/green new version) are not
// Ready yet, the weight held before that step; otherwise the step's weight.
func TrafficWeight(plan []Step, act Action) int32 {
	if act.Outcome == OutcomeFinalize {
		return 100
	}
	if act.Outcome == OutcomeWait && (act.Step.Kind == SetWeight || act.Step.Kind == DeployNewVersion) {
		if i := int(act.State.Step) - 2; i >= 0 && i < len(plan) {
			return plan[i].Weight
		}
		return 0
	}
	return act.Step.Weight
}

// Defaults of trafficManagement.
const (
	// DefaultActiveSubset is an Istio DestinationRule's subset of the stable version.
	DefaultActiveSubset = "stable"
	// DefaultCanarySubset is an Istio DestinationRule's subset of the new version.
	DefaultCanarySubset = "canary"
	// canaryServiceSuffix makes the default SMI canary Service name, <root>-canary.
	canaryServiceSuffix = "-canary"
)

// CanaryServiceName is an SMI block's canary Service: canaryServiceName, or <root>-canary.
func CanaryServiceName(s deployv1alpha1.SMITrafficManagement) string {
	if s.CanaryServiceName != "" {
		return s.CanaryServiceName
	}
	return s.RootServiceName + canaryServiceSuffix
}

// TrafficSplitName is an SMI block's TrafficSplit: trafficSplitName, or the root Service's name.
func TrafficSplitName(s deployv1alpha1.SMITrafficManagement) string {
	if s.TrafficSplitName != "" {
		return s.TrafficSplitName
	}
	return s.RootServiceName
}

// ActiveSubset is an Istio block's subset of the stable version (default "stable").
func ActiveSubset(i deployv1alpha1.IstioTrafficManagement) string {
	if i.DestinationRule.ActiveSubsetName != "" {
		return i.DestinationRule.ActiveSubsetName
	}
	return DefaultActiveSubset
}

// CanarySubset is an Istio block's subset of the new version (default "canary").
func CanarySubset(i deployv1alpha1.IstioTrafficManagement) string {
	if i.DestinationRule.CanarySubsetName != "" {
		return i.DestinationRule.CanarySubsetName
	}
	return DefaultCanarySubset
}
