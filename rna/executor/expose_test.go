package executor

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
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
			NewWithT(t).Expect(newPreviews(canaryExposures(plan, tt.reached), tt.existing, "app", now)).To(Equal(tt.want))
		})
	}
}

func exposeCondition(ttlMinutes int32, services ...string) deployv1alpha1.BlueGreenCondition {
	e := &deployv1alpha1.ExposeServicesStep{Services: services}
	if ttlMinutes > 0 {
		e.TTL = &deployv1alpha1.Timeout{Duration: ttlMinutes, Unit: deployv1alpha1.Minutes}
	}
	return deployv1alpha1.BlueGreenCondition{ExposeServices: e}
}

func TestBlueGreenPreviews(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(d)) }
	plan := PlanBlueGreen(&deployv1alpha1.BlueGreenStrategy{ActiveService: "app", PreviewService: "app-preview",
		RedirectTrafficAfter:    []deployv1alpha1.BlueGreenCondition{approvalCondition(), exposeCondition(30, "app-preview", "api")},
		ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{exposeCondition(0, "app")},
	}, false, nil)
	redirect := []deployv1alpha1.PreviewLink{
		{Service: "app-preview", Namespace: "app", ExpiresAt: at(30 * time.Minute), Step: "redirectTrafficAfter[1]"},
		{Service: "api", Namespace: "app", ExpiresAt: at(30 * time.Minute), Step: "redirectTrafficAfter[1]"}}
	shutDown := []deployv1alpha1.PreviewLink{{Service: "app", Namespace: "app", ExpiresAt: at(DefaultPreviewTTL), Step: "shutDownOldVersionAfter[0]"}}
	tests := []struct {
		name     string
		reached  int32
		existing []deployv1alpha1.PreviewLink
		want     []deployv1alpha1.PreviewLink
	}{
		{name: "while the new version deploys", reached: 1},
		{name: "the redirectTrafficAfter conditions start", reached: 2, want: redirect},
		{name: "made already", reached: 2, existing: redirect},
		{name: "the shutDownOldVersionAfter conditions start, the default ttl", reached: 3, existing: redirect, want: shutDown},
		{name: "both groups reached at once", reached: 3, want: append(append([]deployv1alpha1.PreviewLink{}, redirect...), shutDown...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(newPreviews(blueGreenExposures(plan, tt.reached), tt.existing, "app", now)).To(Equal(tt.want))
		})
	}
	NewWithT(t).Expect(blueGreenExposures(PlanBlueGreen(&deployv1alpha1.BlueGreenStrategy{RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{exposeCondition(0, "web")}}, true, nil), 1)).To(BeEmpty(), "a first deployment has no conditions")
}

func TestExposeRunner(t *testing.T) {
	tests := []struct {
		name    string
		spec    deployv1alpha1.BlueGreenCondition
		state   rolloutv1alpha1.ConditionState
		message string
	}{
		{name: "passes at once, naming the Services and the ttl", spec: exposeCondition(30, "web", "api"),
			state: rolloutv1alpha1.ConditionPassed, message: "preview links to web, api for 30m"},
		{name: "the default ttl", spec: exposeCondition(0, "web"), state: rolloutv1alpha1.ConditionPassed, message: "preview links to web for 5m"},
		{name: "no Services", spec: exposeCondition(0), state: rolloutv1alpha1.ConditionFailed, message: "exposeServices.services: expected at least one Service"},
		{name: "another kind", spec: approvalCondition(), state: rolloutv1alpha1.ConditionFailed, message: "not an exposeServices condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			out := ExposeRunner{}.Run(ConditionInput{Condition: Condition{Gate: "redirectTrafficAfter[0]", Kind: ConditionKindOf(tt.spec), Spec: tt.spec}, Since: t0, Now: t0})
			g.Expect(out.State).To(Equal(tt.state))
			g.Expect(out.Message).To(Equal(tt.message))
			g.Expect(out.ActedOn).To(BeFalse())
		})
	}
}

func TestBlueGreenWithExposeServices(t *testing.T) {
	g := NewWithT(t)
	plan := PlanBlueGreen(&deployv1alpha1.BlueGreenStrategy{ActiveService: "app",
		RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{exposeCondition(0, "app-preview"), approvalCondition()}}, false, nil)
	g.Expect(plan.Redirect[0].Kind).To(Equal(ConditionExposeServices))
	g.Expect(unsupportedConditions(&deployv1alpha1.BlueGreenStrategy{ActiveService: "app",
		RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{exposeCondition(0, "app-preview")}}, DefaultConditionRunners())).To(Succeed())

	act := NextBlueGreenAction(context.Background(), input(t0.Add(5*time.Second), plan.Steps, nil, blueGreen(1, t0, 10, 10)), plan, DefaultConditionRunners())
	g.Expect(act.Outcome).To(Equal(OutcomeAwaitingApproval), "the approval beside it still waits")
	g.Expect(act.State.Step).To(BeEquivalentTo(2))
	g.Expect(act.State.Passed).To(Equal([]string{"redirectTrafficAfter[0]"}))
	g.Expect(act.Conditions[0]).To(Equal(rolloutv1alpha1.StrategyConditionStatus{Gate: "redirectTrafficAfter[0]", Kind: "exposeServices",
		State: rolloutv1alpha1.ConditionPassed, Message: "preview links to app-preview for 5m"}))

	onlyExpose := PlanBlueGreen(&deployv1alpha1.BlueGreenStrategy{ActiveService: "app",
		RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{exposeCondition(0, "app-preview")}}, false, nil)
	act = NextBlueGreenAction(context.Background(), input(t0.Add(5*time.Second), onlyExpose.Steps, nil, blueGreen(1, t0, 10, 10)), onlyExpose, DefaultConditionRunners())
	g.Expect(act.Outcome).To(Equal(OutcomeFinalize), "with nothing else to wait for, the switch and the shut-down follow in the same pass")
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
