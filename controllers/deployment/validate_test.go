package deployment

import (
	"testing"

	. "github.com/onsi/gomega"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*deployv1alpha1.DeploymentSpec)
		want   []string // each a substring of one problem, in order; nil: valid
	}{
		{"a valid spec", func(*deployv1alpha1.DeploymentSpec) {}, nil},
		{"an unknown strategy", func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "bluegreen"}
		}, []string{`spec.targets.staging.strategy: unknown strategy "bluegreen"; spec.strategies has "canary", "rolling"`}},
		{"dependsOn an unknown target", func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["prod"].Constraints.DependsOn = []string{"stage"}
		}, []string{`spec.targets.prod.constraints.dependsOn: unknown target "stage"`}},
		{"a two-target cycle", func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"prod"}}}
		}, []string{"spec.targets.prod.constraints.dependsOn: cycle prod → staging → prod"}},
		{"a target depending on itself", func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"staging"}}}
		}, []string{"spec.targets.staging.constraints.dependsOn: cycle staging → staging"}},
		{"a three-target cycle behind a root", func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["a"] = deployv1alpha1.Target{Account: "a", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"b"}}}
			s.Targets["b"] = deployv1alpha1.Target{Account: "b", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"c", "staging"}}}
			s.Targets["c"] = deployv1alpha1.Target{Account: "c", Strategy: "rolling", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"a"}}}
		}, []string{"spec.targets.a.constraints.dependsOn: cycle a → b → c → a"}},
		{"a manifest aimed at an unknown target", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests = append(s.Manifests, deployv1alpha1.Manifest{Inline: webManifest, Targets: []string{"qa"}})
		}, []string{`spec.manifests[1].targets: unknown target "qa"`}},
		{"a target without manifests", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Targets = []string{"staging"}
		}, []string{"spec.targets.prod: no manifest is aimed at this target"}},
		{"an analysis step naming an unknown query", func(s *deployv1alpha1.DeploymentSpec) {
			s.Analysis = &deployv1alpha1.AnalysisConfig{Queries: []deployv1alpha1.Query{{Name: "errorRate", QueryTemplate: "up"}}}
			s.Strategies["canary"].Canary.Steps[1] = deployv1alpha1.CanaryStep{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"errorRate", "latency"}}}
		}, []string{`spec.strategies.canary.canary.steps[1].analysis.queries: unknown query "latency"; spec.analysis.queries has "errorRate"`}},
		{"an analysis step without spec.analysis", func(s *deployv1alpha1.DeploymentSpec) {
			s.Strategies["canary"].Canary.Steps[1] = deployv1alpha1.CanaryStep{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"latency"}}}
		}, []string{`spec.strategies.canary.canary.steps[1].analysis.queries: unknown query "latency"; spec.analysis defines no queries`}},
		{"a blue/green condition naming an unknown webhook", func(s *deployv1alpha1.DeploymentSpec) {
			s.Strategies["bg"] = deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: "web",
				RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}}}
		}, []string{`spec.strategies.bg.blueGreen.redirectTrafficAfter[0].runWebhook.name: unknown webhook "smoke"; spec.webhooks defines none`}},
		{"a blue/green target without an active Service", func(s *deployv1alpha1.DeploymentSpec) {
			s.Strategies["bg"] = deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{PreviewService: "web-preview"}}
			s.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "bg"}
		}, []string{`spec.strategies.bg.blueGreen.activeService: target "staging" has no active Service; set it here or in a spec.trafficManagement[].kubernetes[].activeService that applies to the target`}},
		{"a blue/green target whose active Service comes from trafficManagement", func(s *deployv1alpha1.DeploymentSpec) {
			s.Strategies["bg"] = deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{}}
			s.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "bg"}
			s.TrafficManagement = []deployv1alpha1.TrafficManagement{{Targets: []string{"staging"}, Kubernetes: []deployv1alpha1.KubernetesTrafficManagement{{ActiveService: "web"}}}}
		}, nil},
		{"a canary runWebhook naming an unknown webhook", func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke-test", Method: "POST", URITemplate: "https://x"}}
			s.Strategies["canary"].Canary.Steps[1] = deployv1alpha1.CanaryStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}
		}, []string{`spec.strategies.canary.canary.steps[1].runWebhook.name: unknown webhook "smoke"; spec.webhooks has "smoke-test"`}},
		{"a target filter naming an unknown target", func(s *deployv1alpha1.DeploymentSpec) {
			s.TargetFilters = []deployv1alpha1.TargetFilter{{IncludeTarget: "staging"}, {IncludeTarget: "qa"}}
		}, []string{`spec.targetFilters[1].includeTarget: unknown target "qa"`}},
		{"a manifest that is not YAML", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Inline = "apiVersion: v1\nkind: [ConfigMap\n"
		}, []string{"spec.manifests[0].inline: document 1 is not valid YAML"}},
		{"a manifest that is a list", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Inline = "- a\n- b\n"
		}, []string{"spec.manifests[0].inline: document 1 is not a Kubernetes object"}},
		{"a manifest document without kind and name", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Inline = webManifest + "---\napiVersion: v1\nmetadata: {}\n"
		}, []string{"spec.manifests[0].inline: document 3 lacks kind, metadata.name"}},
		{"an empty manifest", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Inline = "---\n# nothing\n---\n"
		}, []string{"spec.manifests[0].inline: holds no Kubernetes object"}},
		{"a bare ReplicaSet and a Pod", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Inline = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: one}\n"
		}, []string{
			"spec.manifests[0].inline: document 1 (ReplicaSet web): kind ReplicaSet is not supported",
			"spec.manifests[0].inline: document 2 (Pod one): kind Pod is not supported",
		}},
		{"a Pod of another group is someone else's kind", func(s *deployv1alpha1.DeploymentSpec) {
			s.Manifests[0].Inline = webManifest + "---\napiVersion: example.com/v1\nkind: Pod\nmetadata: {name: x}\n"
		}, nil},
		{"a runWebhook gate called direct", func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://x"}}
			s.Targets["prod"].Constraints.BeforeDeployment = append(s.Targets["prod"].Constraints.BeforeDeployment,
				deployv1alpha1.BeforeDeploymentStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}})
		}, nil},
		{"a beforeDeployment runWebhook gate through an agent (the executor calls it)", func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://x", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent}}
			s.Targets["prod"].Constraints.BeforeDeployment = append(s.Targets["prod"].Constraints.BeforeDeployment,
				deployv1alpha1.BeforeDeploymentStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}})
		}, nil},
		{"a beforeDeployment runWebhook gate through another agent than the target's", func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://x", IsRemoteNetworkAgent: true, AgentIdentifier: "dmz"}}
			s.Targets["prod"].Constraints.BeforeDeployment = append(s.Targets["prod"].Constraints.BeforeDeployment,
				deployv1alpha1.BeforeDeploymentStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}})
		}, []string{`spec.targets.prod.constraints.beforeDeployment[1].runWebhook: webhook "smoke" names agentIdentifier "dmz", but the target's own agent (account "prod") calls beforeDeployment gates`}},
		{"an afterDeployment runWebhook gate through an agent (the executor calls it)", func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://x", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent}}
			s.Targets["prod"].Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}
		}, nil},
		{"an afterDeployment runWebhook gate through another agent than the target's", func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://x", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent, AgentIdentifier: "staging"}}
			s.Targets["prod"].Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}
		}, []string{`spec.targets.prod.constraints.afterDeployment[0].runWebhook: webhook "smoke" names agentIdentifier "staging", but the target's own agent (account "prod") calls afterDeployment gates`}},
		{"an afterDeployment runWebhook gate naming the target's own agent", func(s *deployv1alpha1.DeploymentSpec) {
			s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://x", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent, AgentIdentifier: "prod"}}
			s.Targets["prod"].Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}
		}, nil},
		{"an analysis gate naming an unknown query", func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["prod"].Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"q"}}}}
		}, []string{
			`spec.targets.prod.constraints.afterDeployment[0].analysis.queries: unknown query "q"`,
		}},
		{"an afterDeployment analysis gate of a canary target", func(s *deployv1alpha1.DeploymentSpec) {
			s.Analysis = &deployv1alpha1.AnalysisConfig{Queries: []deployv1alpha1.Query{{Name: "q", QueryTemplate: "up"}}}
			s.Targets["prod"].Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"q"}}}}
		}, nil},
		{"an afterDeployment analysis gate of a blue/green target", func(s *deployv1alpha1.DeploymentSpec) {
			s.Analysis = &deployv1alpha1.AnalysisConfig{Queries: []deployv1alpha1.Query{{Name: "q", QueryTemplate: "up"}}}
			s.Strategies["bg"] = deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: "web"}}
			t := s.Targets["prod"]
			t.Strategy = "bg"
			t.Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"q"}}}}
			s.Targets["prod"] = t
		}, nil},
		{"several problems are all reported", func(s *deployv1alpha1.DeploymentSpec) {
			s.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Strategy: "nope", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"prod"}}}
			s.TargetFilters = []deployv1alpha1.TargetFilter{{IncludeTarget: "qa"}}
		}, []string{
			`spec.targets.staging.strategy: unknown strategy "nope"`,
			"spec.targets.prod.constraints.dependsOn: cycle prod → staging → prod",
			`spec.targetFilters[0].includeTarget: unknown target "qa"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			spec := newSpec()
			tt.mutate(&spec)
			errs := Validate(&spec)
			g.Expect(errs).To(HaveLen(len(tt.want)), "problems: %q", errs)
			for i, want := range tt.want {
				g.Expect(errs[i]).To(ContainSubstring(want))
			}
		})
	}
}
