package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func decision(name, gate string, d deployv1alpha1.Decision) rolloutv1alpha1.RolloutDecision {
	return rolloutv1alpha1.RolloutDecision{Name: name, Gate: gate, Decision: d}
}

const (
	approve  = deployv1alpha1.DecisionApprove
	reject   = deployv1alpha1.DecisionReject
	skip     = deployv1alpha1.DecisionSkip
	rollback = deployv1alpha1.DecisionRollback
	cancel   = deployv1alpha1.DecisionCancel
)

func TestMatchDecisions(t *testing.T) {
	weight := Step{Index: 1, Kind: SetWeight, Weight: 50}
	approval := Step{Index: 2, Kind: PauseUntilApproved, Weight: 50}
	timed := Step{Index: 2, Kind: PauseFor, Weight: 50, Duration: time.Minute}
	tests := []struct {
		name      string
		decisions []rolloutv1alpha1.RolloutDecision
		handled   []string
		step      Step
		terminal  string
		gate      string
		discard   []string
	}{
		{"nothing", nil, nil, approval, "", "", nil},
		{"approve for the waiting gate", []rolloutv1alpha1.RolloutDecision{decision("a", "steps[2]", approve)}, nil, approval, "", "a", nil},
		{"approve for whatever waits", []rolloutv1alpha1.RolloutDecision{decision("a", "", approve)}, nil, approval, "", "a", nil},
		{"reject for whatever waits", []rolloutv1alpha1.RolloutDecision{decision("r", "", reject)}, nil, approval, "", "r", nil},
		{"a handled decision is not acted on again", []rolloutv1alpha1.RolloutDecision{decision("a", "", approve)}, []string{"a"}, approval, "", "", nil},
		{"the first pending one wins", []rolloutv1alpha1.RolloutDecision{decision("a", "", approve), decision("r", "", reject)}, []string{"a"}, approval, "", "r", nil},
		{"approve for a later gate waits for it", []rolloutv1alpha1.RolloutDecision{decision("a", "steps[4]", approve)}, nil, approval, "", "", nil},
		{"approve for a past gate is discarded", []rolloutv1alpha1.RolloutDecision{decision("a", "steps[1]", approve)}, nil, approval, "", "", []string{"a"}},
		{"approve while nothing waits is discarded", []rolloutv1alpha1.RolloutDecision{decision("a", "", approve)}, nil, weight, "", "", []string{"a"}},
		{"approve naming a setWeight step is discarded", []rolloutv1alpha1.RolloutDecision{decision("a", "steps[1]", approve)}, nil, weight, "", "", []string{"a"}},
		{"skip ends a timed pause", []rolloutv1alpha1.RolloutDecision{decision("s", "", skip)}, nil, timed, "", "s", nil},
		{"approve ends a timed pause", []rolloutv1alpha1.RolloutDecision{decision("a", "steps[2]", approve)}, nil, timed, "", "a", nil},
		{"skip does not approve", []rolloutv1alpha1.RolloutDecision{decision("s", "", skip)}, nil, approval, "", "", []string{"s"}},
		{"reject does not end a timed pause", []rolloutv1alpha1.RolloutDecision{decision("r", "steps[2]", reject)}, nil, timed, "", "", []string{"r"}},
		{"a gate of another form is discarded", []rolloutv1alpha1.RolloutDecision{decision("a", "beforeDeployment", approve)}, nil, approval, "", "", []string{"a"}},
		{"rollback applies at any step", []rolloutv1alpha1.RolloutDecision{decision("b", "steps[7]", rollback)}, nil, weight, "b", "", nil},
		{"cancel applies at any step", []rolloutv1alpha1.RolloutDecision{decision("a", "", approve), decision("c", "", cancel)}, nil, approval, "c", "a", nil},
		{"at the final step every named gate is past", []rolloutv1alpha1.RolloutDecision{decision("a", "steps[9]", approve)}, nil, Step{Index: -1, Kind: SetWeight, Weight: 100}, "", "", []string{"a"}},
		{"an unknown decision is discarded", []rolloutv1alpha1.RolloutDecision{decision("x", "", "promote")}, nil, approval, "", "", []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := MatchDecisions(tt.decisions, tt.handled, tt.step)
			name := func(d *rolloutv1alpha1.RolloutDecision) string {
				if d == nil {
					return ""
				}
				return d.Name
			}
			g.Expect(name(m.Terminal)).To(Equal(tt.terminal))
			g.Expect(name(m.Gate)).To(Equal(tt.gate))
			g.Expect(m.Discard).To(Equal(tt.discard))
		})
	}
}
