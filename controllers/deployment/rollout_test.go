package deployment

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestRolloutName(t *testing.T) {
	tests := []struct {
		deployment, target, want string
	}{
		{"web-1", "prod", "web-1-prod"},
		{"web-1", "eu.west", "web-1-eu.west"},
		{"web-1", "Prod_EU", "web-1-prod-eu-" + shortHash("Prod_EU")},
		{"web-1", "prod-", "web-1-prod-" + shortHash("prod-")},
		{strings.Repeat("a", 250), "prod", strings.Repeat("a", 244) + "-" + shortHash("prod")},
	}
	for _, tt := range tests {
		got := RolloutName(tt.deployment, tt.target)
		if got != tt.want {
			t.Errorf("RolloutName(%q, %q) = %q, want %q", tt.deployment, tt.target, got, tt.want)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("RolloutName(%q, %q) = %q is not a DNS subdomain: %v", tt.deployment, tt.target, got, errs)
		}
	}
	if RolloutName("web", "Prod") == RolloutName("web", "prod") {
		t.Error("two targets share a Rollout name")
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("x", 100)
	for in, want := range map[string]string{
		"prod":     "prod",
		"My_Agent": "My_Agent",
		"a b/c":    "a-b-c-" + shortHash("a b/c"),
		long:       strings.Repeat("x", 54) + "-" + shortHash(long),
		"---":      shortHash("---"),
	} {
		got := LabelValue(in)
		if got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", in, got, want)
		}
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("LabelValue(%q) = %q is not a label value: %v", in, got, errs)
		}
	}
}

func TestDesiredRollout(t *testing.T) {
	g := NewWithT(t)
	d := newDeployment(func(d *deployv1alpha1.Deployment) {
		d.Spec.Manifests = append(d.Spec.Manifests,
			deployv1alpha1.Manifest{Inline: "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n", Targets: []string{"prod"}},
			deployv1alpha1.Manifest{Inline: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: staging-only}\n", Targets: []string{"staging"}})
		d.Spec.Analysis = &deployv1alpha1.AnalysisConfig{DefaultMetricProviderName: "prom", Queries: []deployv1alpha1.Query{
			{Name: "errors", QueryTemplate: "e"}, {Name: "unused", QueryTemplate: "u"}}}
		d.Spec.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://x"}, {Name: "other", Method: "GET", URITemplate: "https://y"},
			{Name: "inside", Method: "POST", URITemplate: "https://ci.internal", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent},
			{Name: "legacy", Method: "POST", URITemplate: "https://old.internal", IsRemoteNetworkAgent: true},
			{Name: "outside", Method: "POST", URITemplate: "https://z"}}
		d.Spec.Strategies["canary"].Canary.Steps[1] = deployv1alpha1.CanaryStep{Analysis: &deployv1alpha1.AnalysisStep{Queries: []string{"errors"}}}
		d.Spec.Strategies["canary"].Canary.Steps = append(d.Spec.Strategies["canary"].Canary.Steps, deployv1alpha1.CanaryStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}})
		d.Spec.TrafficManagement = []deployv1alpha1.TrafficManagement{
			{SMI: []deployv1alpha1.SMITrafficManagement{{RootServiceName: "all"}}},
			{Targets: []string{"prod"}, SMI: []deployv1alpha1.SMITrafficManagement{{RootServiceName: "prod-only"}}},
			{Targets: []string{"staging"}, SMI: []deployv1alpha1.SMITrafficManagement{{RootServiceName: "staging-only"}}},
		}
		d.Spec.DeploymentConfig = &deployv1alpha1.DeploymentConfig{KeepDeploymentObject: true}
		d.Spec.ContextOverrides = map[string]string{"team": "web"}
		d.Spec.Analysis.Queries = append(d.Spec.Analysis.Queries, deployv1alpha1.Query{Name: "latency", QueryTemplate: "l"})
		d.Spec.Targets["prod"].Constraints.BeforeDeployment = append(d.Spec.Targets["prod"].Constraints.BeforeDeployment,
			deployv1alpha1.BeforeDeploymentStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "outside"}},
			deployv1alpha1.BeforeDeploymentStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "legacy"}})
		d.Spec.Targets["prod"].Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{
			{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}},
			{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 2, Queries: []string{"latency"}}},
			{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "inside", Context: map[string]string{"suite": "smoke"}}},
			{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "outside"}},
			{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "legacy"}},
		}
	})
	ro := desiredRollout(d, "prod")
	g.Expect(ro.Name).To(Equal("web-1-prod"))
	g.Expect(ro.Namespace).To(Equal("tenant"))
	g.Expect(ro.Labels).To(Equal(map[string]string{
		deployv1alpha1.AgentLabel: "prod", rolloutv1alpha1.DeploymentLabel: "web-1", rolloutv1alpha1.TargetLabel: "prod", ManagedByLabel: "aurora"}))
	g.Expect(ro.OwnerReferences).To(ConsistOf(And(HaveField("Kind", "Deployment"), HaveField("Name", "web-1"), HaveField("UID", d.UID),
		HaveField("Controller", HaveValue(BeTrue())))))
	g.Expect(ro.Spec.DeploymentName).To(Equal("web-1"))
	g.Expect(ro.Spec.Application).To(Equal("web"))
	g.Expect(ro.Spec.Target).To(Equal("prod"))
	g.Expect(ro.Spec.Account).To(Equal("prod"))
	g.Expect(ro.Spec.Namespace).To(Equal("web"))
	g.Expect(ro.Spec.Manifests).To(HaveLen(2))
	g.Expect(ro.Spec.Manifests[1]).To(ContainSubstring("kind: Namespace"))
	g.Expect(ro.Spec.StrategyName).To(Equal("canary"))
	g.Expect(ro.Spec.Strategy.Canary.Steps).To(HaveLen(5))
	g.Expect(ro.Spec.Analysis.DefaultMetricProviderName).To(Equal("prom"))
	g.Expect(ro.Spec.Analysis.Queries).To(ConsistOf(HaveField("Name", "errors"), HaveField("Name", "latency")), "the strategy's and the afterDeployment gates' queries")
	g.Expect(ro.Spec.AfterDeployment).To(Equal([]rolloutv1alpha1.AfterDeploymentAnalysis{{Index: 1, Analysis: deployv1alpha1.AnalysisStep{
		Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 2, Queries: []string{"latency"}}}}), "only the analysis gates, with their index")
	g.Expect(ro.Spec.AfterDeploymentWebhooks).To(Equal([]rolloutv1alpha1.AfterDeploymentWebhook{
		{Index: 2, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "inside", Context: map[string]string{"suite": "smoke"}}},
		{Index: 4, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "legacy"}},
	}), "only the webhook gates the agent calls (remoteNetworkAgent or isRemoteNetworkAgent), with their index; direct ones stay with the controller")
	g.Expect(ro.Spec.Webhooks).To(ConsistOf(HaveField("Name", "smoke"), HaveField("Name", "inside"), HaveField("Name", "legacy")),
		"the strategy's webhooks and those of the gates the agent calls")
	g.Expect(afterWebhooks(&d.Spec, d.Spec.Targets["prod"])).To(Equal([]*deployv1alpha1.RunWebhookStep{nil, nil, nil, {Name: "outside"}, nil}),
		"the controller calls only the direct afterDeployment webhooks")
	g.Expect(ro.Spec.BeforeDeploymentWebhooks).To(Equal([]rolloutv1alpha1.BeforeDeploymentWebhook{{Index: 2, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "legacy"}}}),
		"only the beforeDeployment webhook gates the agent calls, with their index")
	g.Expect(beforeWebhooks(&d.Spec, d.Spec.Targets["prod"])).To(Equal([]*deployv1alpha1.RunWebhookStep{nil, {Name: "outside"}, nil}),
		"the controller calls only the direct beforeDeployment webhooks")
	g.Expect(RunsInRollout(ro, "beforeDeployment[2]")).To(BeTrue())
	g.Expect(RunsInRollout(ro, "beforeDeployment[1]")).To(BeFalse())
	g.Expect(RunsInRollout(ro, "afterDeployment[1]")).To(BeTrue())
	g.Expect(RunsInRollout(ro, "afterDeployment[2]")).To(BeTrue())
	g.Expect(RunsInRollout(ro, "afterDeployment[3]")).To(BeFalse())
	g.Expect(RunsInRollout(ro, "afterDeployment[0]")).To(BeFalse())
	g.Expect(ro.Spec.TrafficManagement).To(HaveLen(2))
	g.Expect(ro.Spec.TrafficManagement[1].SMI[0].RootServiceName).To(Equal("prod-only"))
	g.Expect(*ro.Spec.Timeout).To(Equal(DefaultTimeout))
	g.Expect(ro.Spec.KeepDeploymentObject).To(BeTrue())
	g.Expect(ro.Spec.Context).To(Equal(map[string]string{"team": "web"}))

	// The copy is deep: the Rollout does not share the Deployment's strategy.
	ro.Spec.Strategy.Canary.Steps[0].SetWeight.Weight = 1
	g.Expect(d.Spec.Strategies["canary"].Canary.Steps[0].SetWeight.Weight).To(Equal(int32(25)))

	staging := desiredRollout(d, "staging")
	g.Expect(staging.Spec.Manifests).To(HaveLen(2))
	g.Expect(staging.Spec.Manifests[1]).To(ContainSubstring("staging-only"))
	g.Expect(staging.Spec.Analysis).To(BeNil(), "the rolling strategy names no query")
	g.Expect(staging.Spec.Webhooks).To(BeEmpty())
	g.Expect(staging.Spec.AfterDeployment).To(BeNil())
	g.Expect(staging.Spec.AfterDeploymentWebhooks).To(BeNil())
	g.Expect(staging.Spec.BeforeDeploymentWebhooks).To(BeNil())
}
