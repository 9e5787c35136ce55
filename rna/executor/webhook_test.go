package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestWebhookBackoffAndTimeout(t *testing.T) {
	g := NewWithT(t)
	var got []time.Duration
	for n := int32(1); n <= 7; n++ {
		got = append(got, WebhookBackoff(n))
	}
	g.Expect(got).To(Equal([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}))
	g.Expect(WebhookTimeout(&deployv1alpha1.Webhook{})).To(Equal(24 * time.Hour))
	g.Expect(WebhookTimeout(&deployv1alpha1.Webhook{Timeout: &deployv1alpha1.Timeout{Duration: 90, Unit: deployv1alpha1.Seconds}})).To(Equal(90 * time.Second))
	g.Expect(CallbackURI("https://api.example:8444/webhooks/potato-x7k2p/prod/", "steps[1]")).To(Equal("https://api.example:8444/webhooks/potato-x7k2p/prod/steps%5B1%5D"))
	g.Expect(CallbackURI("", "steps[1]")).To(BeEmpty())
}

func TestNextActionWebhook(t *testing.T) {
	hook := deployv1alpha1.Webhook{Name: "tests", Method: "POST", URITemplate: "https://ci/run", RetryCount: 2,
		Timeout: &deployv1alpha1.Timeout{Duration: 10, Unit: deployv1alpha1.Minutes}}
	plan := PlanSteps(canary(weightStep(50), deployv1alpha1.CanaryStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "tests"}}), false)
	since := t0.Add(10 * time.Second)
	at := func(now time.Time, calls []deployv1alpha1.WebhookCall, decisions ...rolloutv1alpha1.RolloutDecision) Action {
		in := input(now, plan, decisions, running(2, since, 5, 5, 5))
		in.WebhookSpecs, in.WebhookCalls = []deployv1alpha1.Webhook{hook}, calls
		return NextAction(in)
	}
	call := func(phase deployv1alpha1.WebhookPhase, attempts int32, at time.Time, msg string) []deployv1alpha1.WebhookCall {
		mt := metav1.NewTime(at)
		return []deployv1alpha1.WebhookCall{{Gate: "steps[1]", Name: "tests", Phase: phase, Attempts: attempts, CalledAt: &mt, Message: msg}}
	}

	t.Run("calls at once", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since, nil)
		g.Expect(act.Outcome).To(Equal(OutcomeCallingWebhook))
		g.Expect(act.WebhookDue).NotTo(BeNil())
		g.Expect(act.WebhookDue.Attempt).To(BeEquivalentTo(1))
		g.Expect(act.Message).To(Equal("step 2/3: weight 50%: calling webhook tests (attempt 1/3)"))
	})
	t.Run("retries after the backoff", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(1500*time.Millisecond), call(deployv1alpha1.WebhookCalling, 2, since.Add(time.Second), "POST ci: HTTP 503"))
		g.Expect(act.WebhookDue).To(BeNil())
		g.Expect(act.RequeueAfter).To(Equal(1500 * time.Millisecond))
		act = at(since.Add(3*time.Second), call(deployv1alpha1.WebhookCalling, 2, since.Add(time.Second), "POST ci: HTTP 503"))
		g.Expect(act.WebhookDue.Attempt).To(BeEquivalentTo(3))
	})
	t.Run("rolls back when every attempt failed", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Minute), call(deployv1alpha1.WebhookCalling, 3, since, "POST ci: HTTP 503"))
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(Equal("webhook tests of steps[1] failed after 3 attempts: POST ci: HTTP 503"))
		g.Expect(act.WebhookUpdates).To(ConsistOf(HaveField("Phase", deployv1alpha1.WebhookFailed)))
	})
	t.Run("waits for the callback", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Minute), call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"))
		g.Expect(act.Outcome).To(Equal(OutcomeAwaitingCallback))
		g.Expect(act.WaitingFor).To(Equal("steps[1]"))
		g.Expect(act.RequeueAfter).To(Equal(9 * time.Minute))
		g.Expect(act.Message).To(Equal("step 2/3: weight 50%: waiting for the callback of webhook tests, until 2026-11-30T12:10:10Z"))
	})
	t.Run("a successful callback goes on", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Minute), call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"),
			rolloutv1alpha1.RolloutDecision{Name: "cb-ok", Gate: "steps[1]", Decision: "approve", Reason: "all **green**"})
		g.Expect(act.State.Step).To(BeEquivalentTo(3))
		g.Expect(act.WebhookUpdates).To(ConsistOf(And(HaveField("Phase", deployv1alpha1.WebhookSucceeded), HaveField("Message", "all **green**"))))
	})
	t.Run("a callback before the call is kept until the call is made", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since, nil, rolloutv1alpha1.RolloutDecision{Name: "early", Gate: "steps[1]", Decision: "approve"})
		g.Expect(act.Outcome).To(Equal(OutcomeCallingWebhook))
		g.Expect(act.State.Decisions).NotTo(ContainElement("early"))
	})
	t.Run("a failed callback rolls back with its message", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Minute), call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"),
			rolloutv1alpha1.RolloutDecision{Name: "cb-fail", Gate: "steps[1]", Decision: "rollback", Reason: "3 tests failed"})
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(Equal("rolled back by decision cb-fail at step 2/3: 3 tests failed"))
		g.Expect(act.WebhookUpdates).To(ConsistOf(And(HaveField("Phase", deployv1alpha1.WebhookFailed), HaveField("Message", "3 tests failed"))))
	})
	t.Run("no callback within the timeout rolls back", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(10*time.Minute), call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"))
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(Equal("webhook tests of steps[1]: no callback within 10m"))
		g.Expect(act.WebhookUpdates).To(ConsistOf(HaveField("Phase", deployv1alpha1.WebhookTimedOut)))
	})
	t.Run("disableCallback: a successful call goes on", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Second), call(deployv1alpha1.WebhookSucceeded, 1, since, "HTTP 200"))
		g.Expect(act.State.Step).To(BeEquivalentTo(3))
	})
	t.Run("a webhook missing from the spec rolls back", func(t *testing.T) {
		g := NewWithT(t)
		in := input(since, plan, nil, running(2, since, 5, 5, 5))
		act := NextAction(in)
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(Equal(`steps[1]: webhook "tests" is not in spec.webhooks`))
	})
}
