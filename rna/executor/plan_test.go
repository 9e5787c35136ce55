package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func weightStep(w int32) deployv1alpha1.CanaryStep {
	return deployv1alpha1.CanaryStep{SetWeight: &deployv1alpha1.SetWeightStep{Weight: w}}
}

func approvalStep() deployv1alpha1.CanaryStep {
	return deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}
}

func timedStep(n int32, unit deployv1alpha1.TimeUnit) deployv1alpha1.CanaryStep {
	return deployv1alpha1.CanaryStep{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To(n), Unit: unit}}
}

func canary(steps ...deployv1alpha1.CanaryStep) deployv1alpha1.Strategy {
	return deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: steps}}
}

var final = Step{Index: -1, Kind: SetWeight, Weight: 100}

func TestPlanSteps(t *testing.T) {
	tests := []struct {
		name     string
		strategy deployv1alpha1.Strategy
		first    bool
		want     []Step
	}{
		{"weights and an approval, then the added 100", canary(weightStep(25), weightStep(50), approvalStep()), false, []Step{
			{Index: 0, Kind: SetWeight, Weight: 25}, {Index: 1, Kind: SetWeight, Weight: 50},
			{Index: 2, Kind: PauseUntilApproved, Weight: 50}, final}},
		{"a last setWeight of 100 is not doubled", canary(weightStep(50), weightStep(100)), false, []Step{
			{Index: 0, Kind: SetWeight, Weight: 50}, {Index: 1, Kind: SetWeight, Weight: 100}}},
		{"a pause at the very start is at weight 0", canary(timedStep(2, deployv1alpha1.Minutes), weightStep(10)), false, []Step{
			{Index: 0, Kind: PauseFor, Weight: 0, Duration: 2 * time.Minute}, {Index: 1, Kind: SetWeight, Weight: 10}, final}},
		{"a pause after 100 keeps 100 and no step is added", canary(weightStep(100), approvalStep()), false, []Step{
			{Index: 0, Kind: SetWeight, Weight: 100}, {Index: 1, Kind: PauseUntilApproved, Weight: 100}, final}},
		{"hours", canary(weightStep(5), timedStep(1, deployv1alpha1.Hours)), false, []Step{
			{Index: 0, Kind: SetWeight, Weight: 5}, {Index: 1, Kind: PauseFor, Weight: 5, Duration: time.Hour}, final}},
		{"a first deployment goes straight to 100", canary(weightStep(25), approvalStep()), true, []Step{final}},
		{"no canary", deployv1alpha1.Strategy{}, false, []Step{final}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(PlanSteps(tt.strategy, tt.first)).To(Equal(tt.want))
		})
	}
}

func TestNotYetSupported(t *testing.T) {
	analysis := deployv1alpha1.CanaryStep{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 1, Queries: []string{"q"}}}
	webhook := deployv1alpha1.CanaryStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "w"}}
	expose := deployv1alpha1.CanaryStep{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{"s"}}}
	tests := []struct {
		name     string
		strategy deployv1alpha1.Strategy
		want     string
	}{
		{"weights and pauses", canary(weightStep(10), approvalStep(), timedStep(1, deployv1alpha1.Seconds)), ""},
		{"analysis and runWebhook", canary(weightStep(10), analysis, webhook), ""},
		{"exposeServices", canary(weightStep(10), expose), ""},
		{"blueGreen with pauses", deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: "a",
			RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}}}}, ""},
		{"blueGreen with an analysis", deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: "a",
			ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{{Analysis: analysis.Analysis}}}}, ""},
		{"blueGreen with a webhook", deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: "a",
			RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{{RunWebhook: webhook.RunWebhook}}}}, ""},
		{"blueGreen with an empty condition", deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: "a",
			RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{{}}}}, "blueGreen.redirectTrafficAfter[0] sets no condition"},
		{"nothing", deployv1alpha1.Strategy{}, "the strategy sets neither canary nor blueGreen"},
		{"an empty step", canary(deployv1alpha1.CanaryStep{}), "steps[0] sets no step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := NotYetSupported(tt.strategy)
			if tt.want == "" {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(tt.want))
			}
		})
	}
}

func TestTimeoutOf(t *testing.T) {
	g := NewWithT(t)
	g.Expect(TimeoutOf(&rolloutv1alpha1.RolloutSpec{})).To(Equal(30 * time.Minute))
	g.Expect(TimeoutOf(&rolloutv1alpha1.RolloutSpec{Timeout: &deployv1alpha1.Timeout{Duration: 90, Unit: deployv1alpha1.Seconds}})).To(Equal(90 * time.Second))
	g.Expect(TimeoutOf(&rolloutv1alpha1.RolloutSpec{Timeout: &deployv1alpha1.Timeout{Duration: 2, Unit: deployv1alpha1.Hours}})).To(Equal(2 * time.Hour))
}

func TestGates(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Step{Index: 2}.Gate()).To(Equal("steps[2]"))
	g.Expect(final.Gate()).To(BeEmpty())
	for gate, want := range map[string]int{"steps[0]": 0, "steps[12]": 12, "": -1, "steps[-1]": -1, "steps[x]": -1, "steps[1": -1, "beforeDeployment[0]": -1} {
		g.Expect(parseGate(gate)).To(Equal(want), gate)
	}
}
