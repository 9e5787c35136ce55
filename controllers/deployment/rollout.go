package deployment

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// DefaultTimeout bounds a target when deploymentConfig.timeout is not set: 30 minutes, as in Armory.
var DefaultTimeout = deployv1alpha1.Timeout{Duration: 30, Unit: deployv1alpha1.Minutes}

// ManagedByLabel marks the Rollouts this controller generates.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// RolloutName is the name of the Rollout of a deployment's target: <deployment>-<target>, made a
// valid DNS subdomain. A target name that is not one already (upper case, underscores, too long)
// is cleaned up and given a short hash of the original, so two targets never share a Rollout.
func RolloutName(deployment, target string) string {
	name := deployment + "-" + target
	if len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	suffix := "-" + shortHash(target)
	clean := strings.Trim(cleanName(strings.ToLower(target)), "-.")
	limit := validation.DNS1123SubdomainMaxLength - len(suffix)
	name = strings.Trim(deployment+"-"+clean, "-.")
	if len(name) > limit {
		name = strings.TrimRight(name[:limit], "-.")
	}
	return name + suffix
}

// LabelValue turns a name into a valid label value: unchanged when it is one, else cleaned up,
// cut to fit and given a short hash of the original.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	suffix := "-" + shortHash(s)
	clean := strings.Trim(cleanLabel(s), "-._")
	limit := validation.LabelValueMaxLength - len(suffix)
	if len(clean) > limit {
		clean = strings.TrimRight(clean[:limit], "-._")
	}
	if clean == "" {
		return shortHash(s)
	}
	return clean + suffix
}

// desiredRollout is the Rollout of one target of a deployment: its manifests, its resolved
// strategy and what the strategy's steps refer to. The caller has validated the spec.
func desiredRollout(d *deployv1alpha1.Deployment, target string) *rolloutv1alpha1.Rollout {
	spec := &d.Spec
	t := spec.Targets[target]
	strategy := spec.Strategies[t.Strategy]
	timeout := timeoutOf(spec)
	keep := spec.DeploymentConfig != nil && spec.DeploymentConfig.KeepDeploymentObject
	ro := &rolloutv1alpha1.Rollout{
		TypeMeta: metav1.TypeMeta{APIVersion: rolloutv1alpha1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      RolloutName(d.Name, target),
			Namespace: d.Namespace,
			Labels: map[string]string{
				deployv1alpha1.AgentLabel:       LabelValue(t.Account),
				rolloutv1alpha1.DeploymentLabel: LabelValue(d.Name),
				rolloutv1alpha1.TargetLabel:     LabelValue(target),
				ManagedByLabel:                  "aurora",
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         deployv1alpha1.GroupVersion.String(),
				Kind:               "Deployment",
				Name:               d.Name,
				UID:                d.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: rolloutv1alpha1.RolloutSpec{
			DeploymentName:           d.Name,
			Application:              spec.Application,
			Target:                   target,
			Account:                  t.Account,
			Namespace:                t.Namespace,
			Manifests:                manifestsFor(spec, target),
			StrategyName:             t.Strategy,
			Strategy:                 *strategy.DeepCopy(),
			BeforeDeploymentWebhooks: beforeDeploymentAgentWebhooks(spec, t),
			AfterDeployment:          afterDeploymentAnalyses(t),
			AfterDeploymentWebhooks:  afterDeploymentAgentWebhooks(spec, t),
			Analysis:                 analysisFor(spec, &strategy, afterDeploymentAnalyses(t)),
			Webhooks:                 webhooksFor(spec, &strategy, beforeDeploymentAgentWebhooks(spec, t), afterDeploymentAgentWebhooks(spec, t)),
			TrafficManagement:        trafficFor(spec, target),
			Timeout:                  &timeout,
			KeepDeploymentObject:     keep,
			Context:                  maps.Clone(spec.ContextOverrides),
		},
	}
	return ro
}

// manifestsFor returns the inline manifests for a target: those without targets and those naming
// it, in file order.
func manifestsFor(spec *deployv1alpha1.DeploymentSpec, target string) []string {
	var out []string
	for _, m := range spec.Manifests {
		if len(m.Targets) == 0 || slices.Contains(m.Targets, target) {
			out = append(out, m.Inline)
		}
	}
	return out
}

// analysisFor returns the queries the strategy's analysis steps and the target's afterDeployment
// analysis gates name, or nil.
func analysisFor(spec *deployv1alpha1.DeploymentSpec, s *deployv1alpha1.Strategy, after []rolloutv1alpha1.AfterDeploymentAnalysis) *deployv1alpha1.AnalysisConfig {
	if spec.Analysis == nil {
		return nil
	}
	named := map[string]bool{}
	for _, a := range strategyAnalyses(s) {
		for _, q := range a.Queries {
			named[q] = true
		}
	}
	for _, a := range after {
		for _, q := range a.Analysis.Queries {
			named[q] = true
		}
	}
	if len(named) == 0 {
		return nil
	}
	out := &deployv1alpha1.AnalysisConfig{DefaultMetricProviderName: spec.Analysis.DefaultMetricProviderName}
	for _, q := range spec.Analysis.Queries {
		if named[q.Name] {
			out.Queries = append(out.Queries, *q.DeepCopy())
		}
	}
	return out
}

// webhooksFor returns the webhooks the strategy's runWebhook steps and the target's constraint
// webhook gates that the executor calls name.
func webhooksFor(spec *deployv1alpha1.DeploymentSpec, s *deployv1alpha1.Strategy, before []rolloutv1alpha1.BeforeDeploymentWebhook, after []rolloutv1alpha1.AfterDeploymentWebhook) []deployv1alpha1.Webhook {
	named := map[string]bool{}
	for _, w := range strategyWebhooks(s) {
		named[w.Name] = true
	}
	for _, b := range before {
		named[b.RunWebhook.Name] = true
	}
	for _, a := range after {
		named[a.RunWebhook.Name] = true
	}
	var out []deployv1alpha1.Webhook
	for _, w := range spec.Webhooks {
		if named[w.Name] {
			out = append(out, *w.DeepCopy())
		}
	}
	return out
}

// trafficFor returns the trafficManagement blocks that apply to a target: those without targets
// and those naming it.
func trafficFor(spec *deployv1alpha1.DeploymentSpec, target string) []deployv1alpha1.TrafficManagement {
	var out []deployv1alpha1.TrafficManagement
	for _, tm := range spec.TrafficManagement {
		if len(tm.Targets) == 0 || slices.Contains(tm.Targets, target) {
			out = append(out, *tm.DeepCopy())
		}
	}
	return out
}

// afterDeploymentAnalyses returns the analysis gates of a target's constraints.afterDeployment,
// with their indexes, for the Rollout's executor to run at its end; nil if there are none.
func afterDeploymentAnalyses(t deployv1alpha1.Target) []rolloutv1alpha1.AfterDeploymentAnalysis {
	if t.Constraints == nil {
		return nil
	}
	var out []rolloutv1alpha1.AfterDeploymentAnalysis
	for i, g := range t.Constraints.AfterDeployment {
		if g.Analysis != nil {
			out = append(out, rolloutv1alpha1.AfterDeploymentAnalysis{Index: int32(i), Analysis: *g.Analysis.DeepCopy()})
		}
	}
	return out
}

// beforeDeploymentAgentWebhooks returns the runWebhook gates of a target's
// constraints.beforeDeployment whose webhook has networkMode remoteNetworkAgent, with their indexes:
// the Rollout's executor calls them from inside the target's network before it applies anything;
// nil if there are none.
func beforeDeploymentAgentWebhooks(spec *deployv1alpha1.DeploymentSpec, t deployv1alpha1.Target) []rolloutv1alpha1.BeforeDeploymentWebhook {
	if t.Constraints == nil {
		return nil
	}
	var out []rolloutv1alpha1.BeforeDeploymentWebhook
	for i, g := range t.Constraints.BeforeDeployment {
		if g.RunWebhook != nil && viaAgent(spec, g.RunWebhook.Name) {
			out = append(out, rolloutv1alpha1.BeforeDeploymentWebhook{Index: int32(i), RunWebhook: *g.RunWebhook.DeepCopy()})
		}
	}
	return out
}

// afterDeploymentAgentWebhooks returns the runWebhook gates of a target's constraints.afterDeployment
// whose webhook has networkMode remoteNetworkAgent, with their indexes: the Rollout's executor
// calls them from inside the target's network at its end; nil if there are none.
func afterDeploymentAgentWebhooks(spec *deployv1alpha1.DeploymentSpec, t deployv1alpha1.Target) []rolloutv1alpha1.AfterDeploymentWebhook {
	if t.Constraints == nil {
		return nil
	}
	var out []rolloutv1alpha1.AfterDeploymentWebhook
	for i, g := range t.Constraints.AfterDeployment {
		if g.RunWebhook != nil && viaAgent(spec, g.RunWebhook.Name) {
			out = append(out, rolloutv1alpha1.AfterDeploymentWebhook{Index: int32(i), RunWebhook: *g.RunWebhook.DeepCopy()})
		}
	}
	return out
}

// viaAgent reports whether the webhook of that name is to be called from an agent: its networkMode
// is remoteNetworkAgent (or it sets the older isRemoteNetworkAgent).
func viaAgent(spec *deployv1alpha1.DeploymentSpec, name string) bool {
	for _, w := range spec.Webhooks {
		if w.Name == name {
			return w.NetworkMode == deployv1alpha1.NetworkModeRemoteNetworkAgent || w.IsRemoteNetworkAgent
		}
	}
	return false
}

// strategyAnalyses returns the analysis steps and conditions of a strategy.
func strategyAnalyses(s *deployv1alpha1.Strategy) []*deployv1alpha1.AnalysisStep {
	var out []*deployv1alpha1.AnalysisStep
	if s.Canary != nil {
		for _, st := range s.Canary.Steps {
			if st.Analysis != nil {
				out = append(out, st.Analysis)
			}
		}
	}
	if s.BlueGreen != nil {
		for _, c := range slices.Concat(s.BlueGreen.RedirectTrafficAfter, s.BlueGreen.ShutDownOldVersionAfter) {
			if c.Analysis != nil {
				out = append(out, c.Analysis)
			}
		}
	}
	return out
}

// strategyWebhooks returns the runWebhook steps and conditions of a strategy.
func strategyWebhooks(s *deployv1alpha1.Strategy) []*deployv1alpha1.RunWebhookStep {
	var out []*deployv1alpha1.RunWebhookStep
	if s.Canary != nil {
		for _, st := range s.Canary.Steps {
			if st.RunWebhook != nil {
				out = append(out, st.RunWebhook)
			}
		}
	}
	if s.BlueGreen != nil {
		for _, c := range slices.Concat(s.BlueGreen.RedirectTrafficAfter, s.BlueGreen.ShutDownOldVersionAfter) {
			if c.RunWebhook != nil {
				out = append(out, c.RunWebhook)
			}
		}
	}
	return out
}

// cleanName keeps the characters of a DNS subdomain and turns every other into '-'.
func cleanName(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, s)
}

// cleanLabel keeps the characters of a label value and turns every other into '-'.
func cleanLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
