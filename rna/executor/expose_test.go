package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

func TestPlanStepsWithExposeServices(t *testing.T) {
	g := NewWithT(t)
	expose := deployv1alpha1.CanaryStep{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{"web", "api"},
		TTL: &deployv1alpha1.Timeout{Duration: 30, Unit: deployv1alpha1.Minutes}}}
	defaulted := deployv1alpha1.CanaryStep{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{"web"}}}
	g.Expect(PlanSteps(canary(weightStep(20), expose, approvalStep(), defaulted), false)).To(Equal([]Step{
		{Index: 0, Kind: SetWeight, Weight: 20},
		{Index: 1, Kind: ExposeServices, Weight: 20, Duration: 30 * time.Minute, Services: []string{"web", "api"}},
		{Index: 2, Kind: PauseUntilApproved, Weight: 20},
		{Index: 3, Kind: ExposeServices, Weight: 20, Duration: DefaultPreviewTTL, Services: []string{"web"}},
		final,
	}))
}

func TestExposeServicesStepPassesThrough(t *testing.T) {
	g := NewWithT(t)
	plan := PlanSteps(canary(weightStep(50), deployv1alpha1.CanaryStep{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{"web"}}}, approvalStep()), false)
	act := NextAction(input(t0.Add(time.Second), plan, nil, running(1, t0, 5, 5, 5)))
	g.Expect(act.Outcome).To(Equal(OutcomeAwaitingApproval), "the pause after the exposeServices step waits")
	g.Expect(act.State.Step).To(Equal(int32(3)))
	g.Expect(act.Started).To(ContainElement(HaveField("Kind", ExposeServices)))
}

func TestNewPreviews(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	plan := []Step{
		{Index: 0, Kind: SetWeight, Weight: 20},
		{Index: 1, Kind: ExposeServices, Duration: 5 * time.Minute, Services: []string{"web", "api"}},
		{Index: 2, Kind: PauseUntilApproved},
		{Index: 3, Kind: ExposeServices, Duration: time.Hour, Services: []string{"web"}},
		final,
	}
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(d)) }
	made := []deployv1alpha1.PreviewLink{{Service: "web", Namespace: "app", URL: "https://x", ExpiresAt: at(time.Minute), Step: "steps[1]"}}
	tests := []struct {
		name     string
		reached  int32
		existing []deployv1alpha1.PreviewLink
		want     []deployv1alpha1.PreviewLink
	}{
		{name: "before the step", reached: 1},
		{name: "at the step", reached: 2, want: []deployv1alpha1.PreviewLink{
			{Service: "web", Namespace: "app", ExpiresAt: at(5 * time.Minute), Step: "steps[1]"},
			{Service: "api", Namespace: "app", ExpiresAt: at(5 * time.Minute), Step: "steps[1]"}}},
		{name: "made already", reached: 3, existing: made},
		{name: "the second step", reached: 5, existing: made, want: []deployv1alpha1.PreviewLink{
			{Service: "web", Namespace: "app", ExpiresAt: at(time.Hour), Step: "steps[3]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(newPreviews(plan, tt.reached, tt.existing, "app", now)).To(Equal(tt.want))
		})
	}
}

func TestUnsignedAndURLs(t *testing.T) {
	g := NewWithT(t)
	now := time.Unix(1_800_000_000, 0)
	previews := []deployv1alpha1.PreviewLink{
		{Service: "web", URL: "https://a", ExpiresAt: metav1.NewTime(now.Add(time.Minute))},
		{Service: "api", ExpiresAt: metav1.NewTime(now.Add(time.Minute))},
		{Service: "old", ExpiresAt: metav1.NewTime(now.Add(-time.Second))},
	}
	g.Expect(unsigned(previews, now)).To(Equal([]int{1}))
	g.Expect(deployv1alpha1.PreviewURLs(previews)).To(Equal(map[string]string{"web": "https://a"}))
}
