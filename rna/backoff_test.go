package rna

import (
	"testing"
	"time"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

func fixedRandom(r float64) func() float64 { return func() float64 { return r } }

func TestBackoffCeilingsGrowToTheCapAndReset(t *testing.T) {
	b := &backoff{initial: time.Second, max: 30 * time.Second, random: fixedRandom(0.5)}
	wantCeilings := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i, want := range wantCeilings {
		want *= time.Second
		if got := b.ceiling(); got != want {
			t.Errorf("attempt %d: ceiling %s, want %s", i, got, want)
		}
		if got := b.next(); got != want/2 {
			t.Errorf("attempt %d: delay %s, want %s (half the ceiling at random 0.5)", i, got, want/2)
		}
	}
	b.reset()
	if got := b.next(); got != 500*time.Millisecond {
		t.Errorf("after reset: delay %s, want 500ms", got)
	}
}

func TestBackoffCeilingDoesNotOverflow(t *testing.T) {
	b := &backoff{initial: time.Second, max: 30 * time.Second, random: fixedRandom(0.5), attempt: 10_000}
	if got := b.ceiling(); got != 30*time.Second {
		t.Errorf("ceiling after many attempts = %s, want the cap", got)
	}
}

func TestJitter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		random float64
		want   time.Duration
	}{
		{"zero", 0, 0},
		{"half", 0.5, 500 * time.Millisecond},
		{"almost one", 0.999, 999 * time.Millisecond},
		{"one is out of range", 1, 0},
		{"negative is out of range", -0.1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := jitter(time.Second, fixedRandom(tc.random)); got != tc.want {
				t.Errorf("jitter = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReconnectDelay(t *testing.T) {
	const resetAfter = 30 * time.Second
	for _, tc := range []struct {
		name         string
		attempt      int
		outcome      sessionOutcome
		want         time.Duration
		wantAttempts int
	}{
		{"first failure", 0, sessionOutcome{}, 500 * time.Millisecond, 1},
		{"failures grow", 3, sessionOutcome{}, 4 * time.Second, 4},
		{"a short stream does not reset", 3, sessionOutcome{established: true, connectedFor: 5 * time.Second}, 4 * time.Second, 4},
		{"a long stream resets", 5, sessionOutcome{established: true, connectedFor: resetAfter}, 500 * time.Millisecond, 1},
		{"a refused handshake never resets", 5, sessionOutcome{connectedFor: time.Hour}, 15 * time.Second, 6},
		{"drain waits reconnect_after plus jitter", 5,
			sessionOutcome{established: true, drain: &tunnelv1.Drain{ReconnectAfterMs: 2000}}, 2500 * time.Millisecond, 0},
		{"drain without delay waits a jittered initial backoff", 5,
			sessionOutcome{established: true, drain: &tunnelv1.Drain{}}, 500 * time.Millisecond, 0},
		{"drain instead of welcome", 2, sessionOutcome{drain: &tunnelv1.Drain{ReconnectAfterMs: 100}}, 125 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &backoff{initial: time.Second, max: 30 * time.Second, random: fixedRandom(0.5), attempt: tc.attempt}
			if got := reconnectDelay(tc.outcome, b, resetAfter); got != tc.want {
				t.Errorf("delay = %s, want %s", got, tc.want)
			}
			if b.attempt != tc.wantAttempts {
				t.Errorf("attempts after = %d, want %d", b.attempt, tc.wantAttempts)
			}
		})
	}
}

func TestDrainDelay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ms     uint32
		random float64
		want   time.Duration
	}{
		{"no jitter", 1000, 0, time.Second},
		{"most jitter", 1000, 0.999, 1499500 * time.Microsecond},
		{"no delay asked", 0, 0.5, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := drainDelay(tc.ms, 100*time.Millisecond, fixedRandom(tc.random)); got != tc.want {
				t.Errorf("drainDelay = %s, want %s", got, tc.want)
			}
		})
	}
}
