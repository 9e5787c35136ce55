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

func TestBeforeDeploymentConditions(t *testing.T) {
	g := NewWithT(t)
	ten, two := rolloutv1alpha1.BeforeDeploymentWebhook{Index: 10, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "ticket"}},
		rolloutv1alpha1.BeforeDeploymentWebhook{Index: 2, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "freeze"}}
	g.Expect(BeforeDeploymentConditions(nil)).To(BeEmpty())
	g.Expect(BeforeDeploymentConditions([]rolloutv1alpha1.BeforeDeploymentWebhook{ten, two})).To(Equal([]Condition{
		{Gate: "beforeDeployment[2]", Kind: ConditionRunWebhook, Spec: deployv1alpha1.BlueGreenCondition{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "freeze"}}},
		{Gate: "beforeDeployment[10]", Kind: ConditionRunWebhook, Spec: deployv1alpha1.BlueGreenCondition{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "ticket"}}},
	}), "in the order of their index")
	g.Expect(strategyDecisions([]rolloutv1alpha1.RolloutDecision{decision("cb", "beforeDeployment[2]", approve), decision("ok", "steps[1]", approve), decision("rb", "", rollback)})).
		To(Equal([]rolloutv1alpha1.RolloutDecision{decision("ok", "steps[1]", approve), decision("rb", "", rollback)}))
}

func TestNextBeforeDeploymentAction(t *testing.T) {
	hooks := []deployv1alpha1.Webhook{
		{Name: "freeze", Method: "GET", URITemplate: "https://freeze.internal/check", RetryCount: 1},
		{Name: "ticket", Method: "POST", URITemplate: "https://tickets.internal/approve", Timeout: &deployv1alpha1.Timeout{Duration: 10, Unit: deployv1alpha1.Minutes}},
	}
	gates := BeforeDeploymentConditions([]rolloutv1alpha1.BeforeDeploymentWebhook{
		{Index: 0, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "freeze"}}, {Index: 1, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "ticket"}}})
	since := t0
	call := func(gate, name string, phase deployv1alpha1.WebhookPhase, attempts int32, at time.Time, msg string) deployv1alpha1.WebhookCall {
		mt := metav1.NewTime(at)
		return deployv1alpha1.WebhookCall{Gate: gate, Name: name, Phase: phase, Attempts: attempts, CalledAt: &mt, Message: msg}
	}
	succeeded := call("beforeDeployment[0]", "freeze", deployv1alpha1.WebhookSucceeded, 1, since, "")
	awaiting := call("beforeDeployment[1]", "ticket", deployv1alpha1.WebhookAwaitingCallback, 1, since, "")
	tests := []struct {
		name      string
		now       time.Time
		calls     []deployv1alpha1.WebhookCall
		decisions []rolloutv1alpha1.RolloutDecision
		passed    bool
		outcome   Outcome
		due       string
		message   string
		updated   []deployv1alpha1.WebhookPhase
	}{
		{name: "the first gate is called at once, the next in the pass after", now: since, outcome: OutcomeWait, due: "beforeDeployment[0]",
			message: "waiting before the deployment: beforeDeployment[0] calling webhook freeze (attempt 1/2); beforeDeployment[1] calling webhook ticket (attempt 1/1)"},
		{name: "the second is due once the first was called", now: since, calls: []deployv1alpha1.WebhookCall{succeeded}, outcome: OutcomeWait, due: "beforeDeployment[1]"},
		{name: "a gate waits for its callback", now: since.Add(time.Minute), calls: []deployv1alpha1.WebhookCall{succeeded, awaiting}, outcome: OutcomeWait,
			message: "waiting before the deployment: beforeDeployment[1] waiting for the callback of webhook ticket"},
		{name: "the callback's approve passes the last gate: the strategy may start", now: since.Add(time.Minute), calls: []deployv1alpha1.WebhookCall{succeeded, awaiting},
			decisions: []rolloutv1alpha1.RolloutDecision{decision("cb", "beforeDeployment[1]", approve)}, passed: true, updated: []deployv1alpha1.WebhookPhase{deployv1alpha1.WebhookSucceeded}},
		{name: "gates whose calls are recorded as succeeded pass in a later pass too", now: since.Add(time.Hour),
			calls: []deployv1alpha1.WebhookCall{succeeded, call("beforeDeployment[1]", "ticket", deployv1alpha1.WebhookSucceeded, 1, since, "ok")}, passed: true},
		{name: "a failed callback (rollback) ends the gates and fails the waiting call", now: since.Add(time.Minute), calls: []deployv1alpha1.WebhookCall{succeeded, awaiting},
			decisions: []rolloutv1alpha1.RolloutDecision{{Name: "cb", Decision: rollback, Reason: "change window closed"}}, outcome: OutcomeRollBack,
			message: "rolled back by decision cb before the deployment: change window closed", updated: []deployv1alpha1.WebhookPhase{deployv1alpha1.WebhookFailed}},
		{name: "a cancel ends them", now: since.Add(time.Minute), calls: []deployv1alpha1.WebhookCall{succeeded, awaiting},
			decisions: []rolloutv1alpha1.RolloutDecision{{Name: "stop", Decision: deployv1alpha1.DecisionCancel}}, outcome: OutcomeCancel,
			message: "cancelled by decision stop before the deployment", updated: []deployv1alpha1.WebhookPhase{deployv1alpha1.WebhookFailed}},
		{name: "no callback within the webhook's timeout fails the gate", now: since.Add(11 * time.Minute), calls: []deployv1alpha1.WebhookCall{succeeded, awaiting},
			outcome: OutcomeRollBack, message: "beforeDeployment[1] failed before the deployment: webhook ticket of beforeDeployment[1]: no callback within 10m",
			updated: []deployv1alpha1.WebhookPhase{deployv1alpha1.WebhookTimedOut}},
		{name: "a call that failed every attempt fails the gate", now: since.Add(time.Minute),
			calls:   []deployv1alpha1.WebhookCall{call("beforeDeployment[0]", "freeze", deployv1alpha1.WebhookCalling, 2, since, "GET freeze.internal: HTTP 503")},
			outcome: OutcomeRollBack, message: "beforeDeployment[0] failed before the deployment: webhook freeze of beforeDeployment[0] failed after 2 attempts: GET freeze.internal: HTTP 503",
			updated: []deployv1alpha1.WebhookPhase{deployv1alpha1.WebhookFailed}},
		{name: "decisions on strategy steps wait for the strategy", now: since.Add(time.Minute), calls: []deployv1alpha1.WebhookCall{succeeded, awaiting},
			decisions: []rolloutv1alpha1.RolloutDecision{decision("early", "steps[1]", approve)}, outcome: OutcomeWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := ExecutionInput{Now: tt.now, Decisions: tt.decisions, WebhookSpecs: hooks, WebhookCalls: tt.calls}
			act := NextBeforeDeploymentAction(context.Background(), in, gates, since, DefaultConditionRunners())
			g.Expect(act.Passed).To(Equal(tt.passed), act.Message)
			g.Expect(act.Outcome).To(Equal(tt.outcome))
			if tt.due == "" {
				g.Expect(act.WebhookDue).To(BeNil())
			} else {
				g.Expect(act.WebhookDue).NotTo(BeNil())
				g.Expect(act.WebhookDue.Gate).To(Equal(tt.due))
			}
			if tt.message != "" {
				g.Expect(act.Message).To(HavePrefix(tt.message))
			}
			var phases []deployv1alpha1.WebhookPhase
			for _, u := range act.WebhookUpdates {
				phases = append(phases, u.Phase)
			}
			g.Expect(phases).To(Equal(tt.updated))
		})
	}
}
