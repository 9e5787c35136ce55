package deployment

import (
	"testing"

	. "github.com/onsi/gomega"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

func TestParseGate(t *testing.T) {
	tests := []struct {
		gate  string
		kind  string
		index int
		ok    bool
	}{
		{"beforeDeployment[0]", BeforeDeploymentGate, 0, true},
		{"steps[12]", StepsGate, 12, true},
		{"steps[]", "", 0, false},
		{"steps", "", 0, false},
		{"", "", 0, false},
		{"steps[1]x", "", 0, false},
	}
	for _, tt := range tests {
		kind, index, ok := ParseGate(tt.gate)
		if kind != tt.kind || index != tt.index || ok != tt.ok {
			t.Errorf("ParseGate(%q) = %q, %d, %v; want %q, %d, %v", tt.gate, kind, index, ok, tt.kind, tt.index, tt.ok)
		}
	}
	if !IsConstraintGate("afterDeployment[1]") || IsConstraintGate("steps[1]") || IsConstraintGate("") {
		t.Error("IsConstraintGate misjudges")
	}
}

func TestBinding(t *testing.T) {
	for _, b := range []Binding{{Target: "prod"}, {Target: "prod", Gate: "steps[2]"}, {Target: "a/b", Gate: "beforeDeployment[0]"}, {Target: "a/b"}} {
		if got := ParseBinding(b.String()); got != b {
			t.Errorf("ParseBinding(%q) = %+v, want %+v", b.String(), got, b)
		}
	}
}

func TestPauseAt(t *testing.T) {
	g := NewWithT(t)
	spec := newSpec()
	canary := spec.Strategies["canary"]
	g.Expect(PauseAt(&canary, "steps[2]")).To(HaveField("RequiresRoles", []string{"sre"}))
	g.Expect(PauseAt(&canary, "steps[0]")).To(BeNil(), "a setWeight step")
	g.Expect(PauseAt(&canary, "steps[9]")).To(BeNil())
	g.Expect(PauseAt(&canary, "redirectTrafficAfter[0]")).To(BeNil())
	bg := deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{
		ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}}}}
	g.Expect(PauseAt(&bg, "shutDownOldVersionAfter[0]")).To(HaveField("UntilApproved", true))
}

func TestAccepted(t *testing.T) {
	g := NewWithT(t)
	d := newDeployment()
	j := accepted(d, "ok", deployv1alpha1.DecisionApprove, t0, "prod")
	g.Expect(Accepted(&j, d)).To(BeTrue())

	other := newDeployment(func(d *deployv1alpha1.Deployment) { d.UID = "uid-of-a-recreated-one" })
	g.Expect(Accepted(&j, other)).To(BeFalse(), "bound to another Deployment of the same name")

	refused := j.DeepCopy()
	refused.Status.Conditions[0].Reason = deployv1alpha1.ReasonNotApplicable
	g.Expect(Accepted(refused, d)).To(BeFalse())
}
