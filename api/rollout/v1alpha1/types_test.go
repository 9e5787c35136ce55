package v1alpha1

import "testing"

func TestPhaseIsFinal(t *testing.T) {
	final := map[Phase]bool{
		PhasePending: false, PhaseProgressing: false, PhasePaused: false, PhaseAwaitingApproval: false,
		PhaseSucceeded: true, PhaseFailed: true, PhaseRolledBack: true, PhaseCancelled: true,
	}
	for phase, want := range final {
		if got := phase.IsFinal(); got != want {
			t.Errorf("%s.IsFinal() = %v, want %v", phase, got, want)
		}
	}
}
