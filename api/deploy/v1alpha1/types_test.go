package v1alpha1

import (
	"testing"
	"time"
)

func TestTimeoutGet(t *testing.T) {
	tests := []struct {
		in   Timeout
		want time.Duration
	}{
		{Timeout{Duration: 90, Unit: Seconds}, 90 * time.Second},
		{Timeout{Duration: 30, Unit: Minutes}, 30 * time.Minute},
		{Timeout{Duration: 2, Unit: Hours}, 2 * time.Hour},
		{Timeout{Duration: 5, Unit: ""}, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := tt.in.Get(); got != tt.want {
			t.Errorf("%+v.Get() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDeploymentStateIsFinal(t *testing.T) {
	final := map[DeploymentState]bool{
		StateQueued: false, StateRunning: false, StatePaused: false, StateAwaitingApproval: false,
		StateSucceeded: true, StateFailed: true, StateCancelled: true, StateRolledBack: true, StateRejected: true,
	}
	for state, want := range final {
		if got := state.IsFinal(); got != want {
			t.Errorf("%s.IsFinal() = %v, want %v", state, got, want)
		}
	}
}
