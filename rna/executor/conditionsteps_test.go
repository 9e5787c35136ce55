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

func TestWebhookRunner(t *testing.T) {
	hook := deployv1alpha1.Webhook{Name: "smoke", Method: "POST", URITemplate: "https://ci/run", RetryCount: 1,
		Timeout: &deployv1alpha1.Timeout{Duration: 10, Unit: deployv1alpha1.Minutes}}
	cond := Condition{Gate: "redirectTrafficAfter[1]", Kind: ConditionRunWebhook,
		Spec: deployv1alpha1.BlueGreenCondition{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}
	since := t0
	call := func(phase deployv1alpha1.WebhookPhase, attempts int32, at time.Time, msg string) []deployv1alpha1.WebhookCall {
		mt := metav1.NewTime(at)
		return []deployv1alpha1.WebhookCall{{Gate: cond.Gate, Name: "smoke", Phase: phase, Attempts: attempts, CalledAt: &mt, Message: msg}}
	}
	decision := func(d deployv1alpha1.Decision, reason string) *rolloutv1alpha1.RolloutDecision {
		return &rolloutv1alpha1.RolloutDecision{Name: "cb", Decision: d, Gate: cond.Gate, Reason: reason}
	}
	tests := []struct {
		name     string
		now      time.Time
		specs    []deployv1alpha1.Webhook
		calls    []deployv1alpha1.WebhookCall
		decision *rolloutv1alpha1.RolloutDecision
		state    rolloutv1alpha1.ConditionState
		message  string
		due      int32
		acted    bool
		update   deployv1alpha1.WebhookPhase
	}{
		{name: "calls when its group starts", now: since, state: rolloutv1alpha1.ConditionRunning,
			message: "calling webhook smoke (attempt 1/2)", due: 1},
		{name: "retries after the backoff", now: since.Add(2 * time.Second), calls: call(deployv1alpha1.WebhookCalling, 1, since, "HTTP 503"),
			state: rolloutv1alpha1.ConditionRunning, message: "calling webhook smoke (attempt 2/2)", due: 2},
		{name: "fails when every attempt failed", now: since.Add(time.Minute), calls: call(deployv1alpha1.WebhookCalling, 2, since, "HTTP 503"),
			state: rolloutv1alpha1.ConditionFailed, message: "webhook smoke of redirectTrafficAfter[1] failed after 2 attempts: HTTP 503", update: deployv1alpha1.WebhookFailed},
		{name: "waits for the callback", now: since.Add(time.Minute), calls: call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"),
			state: rolloutv1alpha1.ConditionRunning, message: "waiting for the callback of webhook smoke, until 2026-11-30T12:10:00Z"},
		{name: "keeps a callback that comes before the call is recorded", now: since, decision: decision(deployv1alpha1.DecisionApprove, ""),
			state: rolloutv1alpha1.ConditionRunning, message: "calling webhook smoke (attempt 1/2)", due: 1},
		{name: "passes on a successful callback", now: since.Add(time.Minute), calls: call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"),
			decision: decision(deployv1alpha1.DecisionApprove, "all green"), state: rolloutv1alpha1.ConditionPassed,
			message: "webhook smoke succeeded: all green", acted: true, update: deployv1alpha1.WebhookSucceeded},
		{name: "fails on a rejecting callback", now: since.Add(time.Minute), calls: call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"),
			decision: decision(deployv1alpha1.DecisionReject, "smoke tests failed"), state: rolloutv1alpha1.ConditionFailed,
			message: "webhook smoke of redirectTrafficAfter[1] failed: rejected by decision cb: smoke tests failed", acted: true, update: deployv1alpha1.WebhookFailed},
		{name: "fails without a callback within the timeout", now: since.Add(11 * time.Minute), calls: call(deployv1alpha1.WebhookAwaitingCallback, 1, since, "HTTP 202"),
			state: rolloutv1alpha1.ConditionFailed, message: "webhook smoke of redirectTrafficAfter[1]: no callback within 10m", update: deployv1alpha1.WebhookTimedOut},
		{name: "passes after a call with disableCallback", now: since.Add(time.Second), calls: call(deployv1alpha1.WebhookSucceeded, 1, since, "HTTP 200; no callback awaited (disableCallback)"),
			state: rolloutv1alpha1.ConditionPassed, message: "webhook smoke succeeded: HTTP 200; no callback awaited (disableCallback)"},
		{name: "fails for a webhook not in spec.webhooks", now: since, specs: []deployv1alpha1.Webhook{},
			state: rolloutv1alpha1.ConditionFailed, message: `redirectTrafficAfter[1]: webhook "smoke" is not in spec.webhooks`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			specs := tt.specs
			if specs == nil {
				specs = []deployv1alpha1.Webhook{hook}
			}
			in := &ExecutionInput{WebhookSpecs: specs, WebhookCalls: tt.calls}
			out := WebhookRunner{}.Run(ConditionInput{Context: context.Background(), Condition: cond, Since: since, Now: tt.now, Decision: tt.decision, Execution: in})
			g.Expect(out.State).To(Equal(tt.state))
			g.Expect(out.Message).To(Equal(tt.message))
			g.Expect(out.ActedOn).To(Equal(tt.acted))
			if tt.due > 0 {
				g.Expect(out.WebhookDue).NotTo(BeNil())
				g.Expect(out.WebhookDue.Gate).To(Equal(cond.Gate))
				g.Expect(out.WebhookDue.Attempt).To(Equal(tt.due))
			} else {
				g.Expect(out.WebhookDue).To(BeNil())
			}
			if tt.update != "" {
				g.Expect(out.WebhookUpdates).To(ConsistOf(And(HaveField("Gate", cond.Gate), HaveField("Phase", tt.update))))
			} else {
				g.Expect(out.WebhookUpdates).To(BeEmpty())
			}
		})
	}
}

func TestAnalysisRunner(t *testing.T) {
	upper := 0.1
	queries := []deployv1alpha1.Query{{Name: "errors", QueryTemplate: "rate", UpperLimit: &upper}}
	analysis := func(mode deployv1alpha1.JudgmentMode) *deployv1alpha1.AnalysisStep {
		return &deployv1alpha1.AnalysisStep{Interval: 10, Units: "seconds", NumberOfJudgmentRuns: 2, Queries: []string{"errors"},
			RollForwardMode: deployv1alpha1.Automatic, RollBackMode: mode}
	}
	gate := "shutDownOldVersionAfter[0]"
	since := t0
	run := func(k int32, value string) deployv1alpha1.AnalysisRun {
		return deployv1alpha1.AnalysisRun{Gate: gate, Run: k, Query: "errors", Value: value, Verdict: deployv1alpha1.VerdictPass}
	}
	tests := []struct {
		name     string
		mode     deployv1alpha1.JudgmentMode
		now      time.Time
		runs     []deployv1alpha1.AnalysisRun
		decision deployv1alpha1.Decision
		state    rolloutv1alpha1.ConditionState
		message  string
		due      int32
		requeue  time.Duration
	}{
		{name: "waits for the first run", now: since.Add(4 * time.Second), state: rolloutv1alpha1.ConditionRunning,
			message: "analysis run 1/2 at 2026-11-30T12:00:10Z", requeue: 6 * time.Second},
		{name: "runs when it is due", now: since.Add(10 * time.Second), state: rolloutv1alpha1.ConditionRunning, message: "analysis run 1/2", due: 1},
		{name: "runs the next one", now: since.Add(20 * time.Second), runs: []deployv1alpha1.AnalysisRun{run(1, "0")},
			state: rolloutv1alpha1.ConditionRunning, message: "analysis run 2/2", due: 2},
		{name: "passes within its limits", now: since.Add(21 * time.Second), runs: []deployv1alpha1.AnalysisRun{run(1, "0"), run(2, "0.1")},
			state: rolloutv1alpha1.ConditionPassed, message: "analysis passed: every query within its limits: errors averaged 0.05"},
		{name: "fails above its limit", now: since.Add(21 * time.Second), runs: []deployv1alpha1.AnalysisRun{run(1, "0.5"), run(2, "0.5")},
			state: rolloutv1alpha1.ConditionFailed, message: "analysis of shutDownOldVersionAfter[0] failed: query errors averaged 0.5 above upperLimit 0.1 over 2 runs"},
		{name: "waits for a judgment in manual mode", mode: deployv1alpha1.Manual, now: since.Add(21 * time.Second),
			runs: []deployv1alpha1.AnalysisRun{run(1, "0.5"), run(2, "0.5")}, state: rolloutv1alpha1.ConditionAwaitingApproval,
			message: "analysis of shutDownOldVersionAfter[0] failed (query errors averaged 0.5 above upperLimit 0.1 over 2 runs); waiting for a judgment: approve to go on, reject to roll back"},
		{name: "a reject fails it in manual mode", mode: deployv1alpha1.Manual, now: since.Add(21 * time.Second),
			runs: []deployv1alpha1.AnalysisRun{run(1, "0.5"), run(2, "0.5")}, decision: deployv1alpha1.DecisionReject, state: rolloutv1alpha1.ConditionFailed,
			message: "analysis of shutDownOldVersionAfter[0] failed (query errors averaged 0.5 above upperLimit 0.1 over 2 runs); rejected by decision d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			mode := tt.mode
			if mode == "" {
				mode = deployv1alpha1.Automatic
			}
			cond := Condition{Gate: gate, Kind: ConditionAnalysis, Spec: deployv1alpha1.BlueGreenCondition{Analysis: analysis(mode)}}
			var d *rolloutv1alpha1.RolloutDecision
			if tt.decision != "" {
				d = &rolloutv1alpha1.RolloutDecision{Name: "d", Decision: tt.decision, Gate: gate}
			}
			in := &ExecutionInput{Queries: queries, Analysis: tt.runs}
			out := AnalysisRunner{}.Run(ConditionInput{Condition: cond, Since: since, Now: tt.now, Decision: d, Execution: in})
			g.Expect(out.State).To(Equal(tt.state))
			g.Expect(out.Message).To(Equal(tt.message))
			g.Expect(out.ActedOn).To(Equal(d != nil && tt.state != rolloutv1alpha1.ConditionRunning))
			g.Expect(out.RequeueAfter).To(Equal(tt.requeue))
			if tt.due > 0 {
				g.Expect(out.AnalysisDue).To(And(Not(BeNil()), HaveField("Gate", gate), HaveField("Run", tt.due)))
			} else {
				g.Expect(out.AnalysisDue).To(BeNil())
			}
		})
	}
}
