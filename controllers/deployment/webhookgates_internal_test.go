package deployment

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

func TestEvalWebhookGates(t *testing.T) {
	start := t0
	specs := []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://ci", RetryCount: 1,
		Timeout: &deployv1alpha1.Timeout{Duration: 10, Unit: deployv1alpha1.Minutes}}}
	steps := []*deployv1alpha1.RunWebhookStep{nil, {Name: "smoke"}} // beforeDeployment[0] is a pause
	at := func(d time.Duration) *metav1.Time { return timePtr(start.Add(d)) }
	call := func(phase deployv1alpha1.WebhookPhase, attempts int32, calledAt time.Duration, msg string) []deployv1alpha1.WebhookCall {
		return []deployv1alpha1.WebhookCall{{Gate: "beforeDeployment[1]", Name: "smoke", Phase: phase, Attempts: attempts, CalledAt: at(calledAt), Message: msg}}
	}
	decided := func(d deployv1alpha1.Decision, after time.Duration, reason string) map[string][]gateDecision {
		return map[string][]gateDecision{"beforeDeployment[1]": {{judgment: "cb", author: "ci", decision: d, at: start.Add(after), reason: reason}}}
	}
	tests := []struct {
		name      string
		prev      []deployv1alpha1.WebhookCall
		decisions map[string][]gateDecision
		now       time.Duration
		verdict   gateVerdict
		message   string
		phase     deployv1alpha1.WebhookPhase
		due       int32 // attempt due, 0 for none
		callback  bool  // waits for a callback
	}{
		{name: "a new gate is called at once", now: 0, verdict: gateWaiting, message: "calling webhook smoke of beforeDeployment[1]", due: 1},
		{name: "an attempt in flight is waited for", prev: call(deployv1alpha1.WebhookCalling, 1, 0, ""), now: time.Second,
			verdict: gateWaiting, message: "calling webhook smoke of beforeDeployment[1]", phase: deployv1alpha1.WebhookCalling, callback: true},
		{name: "a callback during the attempt counts", prev: call(deployv1alpha1.WebhookCalling, 1, 0, ""), now: time.Second,
			decisions: decided(deployv1alpha1.DecisionApprove, 500*time.Millisecond, "ok"), verdict: gatePassed, phase: deployv1alpha1.WebhookSucceeded},
		{name: "a failed attempt is retried after the backoff", prev: call(deployv1alpha1.WebhookCalling, 1, 0, "POST ci: HTTP 503"), now: 2 * time.Second,
			verdict: gateWaiting, due: 2, phase: deployv1alpha1.WebhookCalling, callback: true, message: "calling webhook smoke of beforeDeployment[1]"},
		{name: "every attempt failed", prev: call(deployv1alpha1.WebhookCalling, 2, 0, "POST ci: HTTP 503"), now: time.Minute,
			verdict: gateFailed, message: "webhook smoke of beforeDeployment[1] failed after 2 attempts: POST ci: HTTP 503"},
		{name: "waits for the callback", prev: call(deployv1alpha1.WebhookAwaitingCallback, 1, 0, "HTTP 202"), now: time.Minute,
			verdict: gateWaiting, message: "waiting for the callback of webhook smoke of beforeDeployment[1]", phase: deployv1alpha1.WebhookAwaitingCallback, callback: true},
		{name: "a successful callback passes", prev: call(deployv1alpha1.WebhookAwaitingCallback, 1, 0, "HTTP 202"), now: time.Minute,
			decisions: decided(deployv1alpha1.DecisionApprove, 30*time.Second, "green"), verdict: gatePassed, phase: deployv1alpha1.WebhookSucceeded},
		{name: "a failed callback fails with its message", prev: call(deployv1alpha1.WebhookAwaitingCallback, 1, 0, "HTTP 202"), now: time.Minute,
			decisions: decided(deployv1alpha1.DecisionRollback, 30*time.Second, "2 tests failed"), verdict: gateFailed,
			message: "webhook smoke of beforeDeployment[1] failed by judgment cb (ci): 2 tests failed"},
		{name: "a callback after the timeout does not count", prev: call(deployv1alpha1.WebhookAwaitingCallback, 1, 0, "HTTP 202"), now: 11 * time.Minute,
			decisions: decided(deployv1alpha1.DecisionApprove, 10*time.Minute, ""), verdict: gateFailed,
			message: "webhook smoke of beforeDeployment[1]: no callback within 10m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			res, records, due := evalWebhookGates("prod", BeforeDeploymentGate, steps, specs, start, tt.decisions, tt.prev, start.Add(tt.now))
			g.Expect(res.verdict).To(Equal(tt.verdict), res.message)
			if tt.message != "" {
				g.Expect(res.message).To(Equal(tt.message))
			}
			if tt.phase != "" {
				g.Expect(records).To(ConsistOf(HaveField("Phase", tt.phase)))
			}
			if tt.due > 0 {
				g.Expect(due).To(ConsistOf(And(HaveField("Gate", "beforeDeployment[1]"), HaveField("Attempt", tt.due))))
			} else {
				g.Expect(due).To(BeEmpty())
			}
			g.Expect(res.waiting).To(HaveLen(map[bool]int{true: 1}[tt.callback]))
		})
	}
}

func TestMergeGates(t *testing.T) {
	waitA := gatesResult{verdict: gateWaiting, message: "paused by a", waiting: []WaitingGate{{Binding: Binding{Gate: "a"}}}, wake: t0.Add(time.Hour)}
	waitB := gatesResult{verdict: gateWaiting, message: "calling b", waiting: []WaitingGate{{Binding: Binding{Gate: "b"}, Callback: true}}, wake: t0.Add(time.Minute)}
	passed := func(d time.Duration) gatesResult { return gatesResult{verdict: gatePassed, passedAt: t0.Add(d)} }
	tests := []struct {
		name string
		a, b gatesResult
		want gatesResult
	}{
		{"both passed: when the last did", passed(time.Minute), passed(time.Hour), passed(time.Hour)},
		{"one waits", passed(0), waitB, gatesResult{verdict: gateWaiting, message: "calling b", waiting: waitB.waiting, wake: waitB.wake}},
		{"both wait", waitA, waitB, gatesResult{verdict: gateWaiting, message: "paused by a; calling b",
			waiting: append(append([]WaitingGate{}, waitA.waiting...), waitB.waiting...), wake: t0.Add(time.Minute)}},
		{"a failure decides", waitA, gatesResult{verdict: gateFailed, message: "webhook failed"}, gatesResult{verdict: gateFailed, message: "webhook failed"}},
		{"a failure beats a rejection", gatesResult{verdict: gateRejected, message: "r"}, gatesResult{verdict: gateFailed, message: "f"}, gatesResult{verdict: gateFailed, message: "f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { NewWithT(t).Expect(mergeGates(tt.a, tt.b)).To(Equal(tt.want)) })
	}
}
