package executor

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func afterGate(index int32, mode deployv1alpha1.JudgmentMode) rolloutv1alpha1.AfterDeploymentAnalysis {
	return rolloutv1alpha1.AfterDeploymentAnalysis{Index: index, Analysis: deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes",
		NumberOfJudgmentRuns: 1, Queries: []string{"errors"}, RollBackMode: mode, RollForwardMode: mode, LookbackMethod: "sliding"}}
}

func afterWebhook(index int32, name string) rolloutv1alpha1.AfterDeploymentWebhook {
	return rolloutv1alpha1.AfterDeploymentWebhook{Index: index, RunWebhook: deployv1alpha1.RunWebhookStep{Name: name}}
}

func TestAfterDeploymentSteps(t *testing.T) {
	one, three := afterGate(1, deployv1alpha1.Automatic), afterGate(3, deployv1alpha1.Manual)
	zero, two := afterWebhook(0, "smoke"), afterWebhook(2, "inventory")
	tests := []struct {
		name     string
		analyses []rolloutv1alpha1.AfterDeploymentAnalysis
		webhooks []rolloutv1alpha1.AfterDeploymentWebhook
		want     []Step
	}{
		{"no gates, no steps", nil, nil, []Step{}},
		{"each gate an analysis at 100%, named by its index in constraints.afterDeployment", []rolloutv1alpha1.AfterDeploymentAnalysis{one, three}, nil, []Step{
			{Index: -1, Kind: RunAnalysis, Weight: 100, Analysis: &one.Analysis, ConditionGate: "afterDeployment[1]"},
			{Index: -1, Kind: RunAnalysis, Weight: 100, Analysis: &three.Analysis, ConditionGate: "afterDeployment[3]"}}},
		{"a webhook gate a runWebhook step at 100%", nil, []rolloutv1alpha1.AfterDeploymentWebhook{two}, []Step{
			{Index: -1, Kind: RunWebhook, Weight: 100, Webhook: &two.RunWebhook, ConditionGate: "afterDeployment[2]"}}},
		{"analyses and webhooks in the order of their index", []rolloutv1alpha1.AfterDeploymentAnalysis{one, three}, []rolloutv1alpha1.AfterDeploymentWebhook{zero, two}, []Step{
			{Index: -1, Kind: RunWebhook, Weight: 100, Webhook: &zero.RunWebhook, ConditionGate: "afterDeployment[0]"},
			{Index: -1, Kind: RunAnalysis, Weight: 100, Analysis: &one.Analysis, ConditionGate: "afterDeployment[1]"},
			{Index: -1, Kind: RunWebhook, Weight: 100, Webhook: &two.RunWebhook, ConditionGate: "afterDeployment[2]"},
			{Index: -1, Kind: RunAnalysis, Weight: 100, Analysis: &three.Analysis, ConditionGate: "afterDeployment[3]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := AfterDeploymentSteps(tt.analyses, tt.webhooks)
			g.Expect(got).To(Equal(tt.want))
			for _, s := range got {
				g.Expect(s.TakesDecisions()).To(BeTrue())
			}
		})
	}
}

func TestAfterDeploymentConditions(t *testing.T) {
	one, zero := afterGate(1, deployv1alpha1.Automatic), afterWebhook(0, "smoke")
	tests := []struct {
		name     string
		analyses []rolloutv1alpha1.AfterDeploymentAnalysis
		webhooks []rolloutv1alpha1.AfterDeploymentWebhook
		want     []Condition
	}{
		{"no gates, no conditions", nil, nil, []Condition{}},
		{"an analysis and a webhook, in the order of their index, named by their gate", []rolloutv1alpha1.AfterDeploymentAnalysis{one}, []rolloutv1alpha1.AfterDeploymentWebhook{zero}, []Condition{
			{Gate: "afterDeployment[0]", Kind: ConditionRunWebhook, Spec: deployv1alpha1.BlueGreenCondition{RunWebhook: &zero.RunWebhook}},
			{Gate: "afterDeployment[1]", Kind: ConditionAnalysis, Spec: deployv1alpha1.BlueGreenCondition{Analysis: &one.Analysis}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := AfterDeploymentConditions(tt.analyses, tt.webhooks)
			g.Expect(got).To(Equal(tt.want))
			for _, c := range got {
				g.Expect(DefaultConditionRunners()[c.Kind]).NotTo(BeNil(), "every kind of gate has a runner")
			}
		})
	}
}

func TestPlanBlueGreenAfterDeployment(t *testing.T) {
	after := AfterDeploymentConditions([]rolloutv1alpha1.AfterDeploymentAnalysis{afterGate(1, deployv1alpha1.Automatic)},
		[]rolloutv1alpha1.AfterDeploymentWebhook{afterWebhook(0, "smoke")})
	tests := []struct {
		name     string
		first    bool
		steps    []Step
		shutDown []string
	}{
		{"the gates run beside shutDownOldVersionAfter, after the switch", false,
			[]Step{{Index: -1, Kind: DeployNewVersion}, {Index: -1, Kind: RedirectTrafficAfter}, {Index: -1, Kind: ShutDownOldVersionAfter, Weight: 100}},
			[]string{"shutDownOldVersionAfter[0]", "afterDeployment[0]", "afterDeployment[1]"}},
		{"a first deployment runs them in a second step, once the active Services select the new version", true,
			[]Step{{Index: -1, Kind: DeployNewVersion, Weight: 100}, {Index: -1, Kind: ShutDownOldVersionAfter, Weight: 100}},
			[]string{"afterDeployment[0]", "afterDeployment[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			plan := PlanBlueGreen(bgStrategy, tt.first, after)
			g.Expect(plan.Steps).To(Equal(tt.steps))
			var gates []string
			for _, c := range plan.ShutDown {
				gates = append(gates, c.Gate)
			}
			g.Expect(gates).To(Equal(tt.shutDown))
			g.Expect(plan.stepOf("afterDeployment[1]")).To(BeEquivalentTo(len(tt.steps)))
		})
	}
}

func TestParseAfterDeploymentGate(t *testing.T) {
	for gate, want := range map[string]int{"afterDeployment[0]": 0, "afterDeployment[12]": 12, "afterDeployment[-1]": -1,
		"afterDeployment[x]": -1, "afterDeployment[1": -1, "beforeDeployment[0]": -1, "steps[0]": -1, "": -1} {
		NewWithT(t).Expect(parseAfterDeploymentGate(gate)).To(Equal(want), gate)
	}
}

func TestMatchAfterDeploymentDecisions(t *testing.T) {
	atStrategy := Step{Index: 1, Kind: PauseUntilApproved, Weight: 50}
	atGate := AfterDeploymentSteps([]rolloutv1alpha1.AfterDeploymentAnalysis{afterGate(2, deployv1alpha1.Manual)}, nil)[0]
	tests := []struct {
		name     string
		decision rolloutv1alpha1.RolloutDecision
		step     Step
		gate     string
		discard  []string
	}{
		{"approve of the gate waits while the strategy runs", decision("a", "afterDeployment[2]", approve), atStrategy, "", nil},
		{"approve of the gate acts on it", decision("a", "afterDeployment[2]", approve), atGate, "a", nil},
		{"reject of the gate acts on it", decision("r", "afterDeployment[2]", reject), atGate, "r", nil},
		{"approve of a later gate waits", decision("a", "afterDeployment[5]", approve), atGate, "", nil},
		{"approve of an earlier gate is discarded", decision("a", "afterDeployment[0]", approve), atGate, "", []string{"a"}},
		{"skip does not apply to an analysis", decision("s", "afterDeployment[2]", skip), atGate, "", []string{"s"}},
		{"approve of a strategy step is past", decision("a", "steps[1]", approve), atGate, "", []string{"a"}},
		{"approve for whatever waits acts on the gate", decision("a", "", approve), atGate, "a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m := MatchDecisions([]rolloutv1alpha1.RolloutDecision{tt.decision}, nil, tt.step)
			if tt.gate == "" {
				g.Expect(m.Gate).To(BeNil())
			} else {
				g.Expect(m.Gate).NotTo(BeNil())
				g.Expect(m.Gate.Name).To(Equal(tt.gate))
			}
			g.Expect(m.Discard).To(Equal(tt.discard))
		})
	}
}

func TestNextActionAfterDeployment(t *testing.T) {
	plan := func(mode deployv1alpha1.JudgmentMode) []Step {
		return append(PlanSteps(canary(weightStep(50)), false), AfterDeploymentSteps([]rolloutv1alpha1.AfterDeploymentAnalysis{afterGate(1, mode)}, nil)...)
	}
	since := t0.Add(10 * time.Second) // when the final 100% was Ready and the gate began
	rec := func(value string, verdict deployv1alpha1.AnalysisVerdict) []deployv1alpha1.AnalysisRun {
		return []deployv1alpha1.AnalysisRun{{Gate: "afterDeployment[1]", Run: 1, Query: "errors", Value: value, Verdict: verdict}}
	}
	at := func(p []Step, step int32, now time.Time, recorded []deployv1alpha1.AnalysisRun, decisions ...rolloutv1alpha1.RolloutDecision) Action {
		in := input(now, p, decisions, running(step, since, 10, 10, 0))
		in.Queries, in.Analysis = analysisQueries, recorded
		return NextAction(in)
	}

	t.Run("the final 100% goes on to the gate rather than finalizing", func(t *testing.T) {
		g := NewWithT(t)
		act := at(plan(deployv1alpha1.Automatic), 2, since, nil)
		g.Expect(act.Outcome).To(Equal(OutcomeAnalysing))
		g.Expect(act.State.Step).To(BeEquivalentTo(3))
		g.Expect(act.Message).To(Equal("step 3/3: weight 100%: analysis run 1/1 at 2026-11-30T12:01:10Z"))
	})
	t.Run("a due run is recorded under the gate", func(t *testing.T) {
		g := NewWithT(t)
		act := at(plan(deployv1alpha1.Automatic), 3, since.Add(time.Minute), nil)
		g.Expect(act.AnalysisDue).NotTo(BeNil())
		g.Expect(act.AnalysisDue.Gate).To(Equal("afterDeployment[1]"))
	})
	t.Run("a pass finalizes", func(t *testing.T) {
		g := NewWithT(t)
		act := at(plan(deployv1alpha1.Automatic), 3, since.Add(time.Minute), rec("0.01", deployv1alpha1.VerdictPass))
		g.Expect(act.Outcome).To(Equal(OutcomeFinalize))
	})
	t.Run("a failure rolls back (rollBackMode automatic)", func(t *testing.T) {
		g := NewWithT(t)
		act := at(plan(deployv1alpha1.Automatic), 3, since.Add(time.Minute), rec("0.5", deployv1alpha1.VerdictFail))
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(Equal("analysis of afterDeployment[1] failed: query errors averaged 0.5 above upperLimit 0.1 over 1 runs"))
	})
	t.Run("manual waits for a judgment on the gate; approve finalizes, reject rolls back", func(t *testing.T) {
		g := NewWithT(t)
		act := at(plan(deployv1alpha1.Manual), 3, since.Add(time.Minute), rec("0.5", deployv1alpha1.VerdictFail))
		g.Expect(act.Outcome).To(Equal(OutcomeAwaitingApproval))
		g.Expect(act.WaitingFor).To(Equal("afterDeployment[1]"))
		act = at(plan(deployv1alpha1.Manual), 3, since.Add(time.Minute), rec("0.5", deployv1alpha1.VerdictFail), decision("ok", "afterDeployment[1]", approve))
		g.Expect(act.Outcome).To(Equal(OutcomeFinalize))
		act = at(plan(deployv1alpha1.Manual), 3, since.Add(time.Minute), rec("0.01", deployv1alpha1.VerdictPass), decision("no", "afterDeployment[1]", reject))
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
	})
}

func TestNextActionAfterDeploymentWebhook(t *testing.T) {
	hook := deployv1alpha1.Webhook{Name: "smoke", Method: "POST", URITemplate: "https://ci.internal/run", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent}
	plan := append(PlanSteps(canary(weightStep(50)), false), AfterDeploymentSteps(nil, []rolloutv1alpha1.AfterDeploymentWebhook{afterWebhook(0, "smoke")})...)
	since := t0.Add(10 * time.Second)
	at := func(step int32, calls []deployv1alpha1.WebhookCall, decisions ...rolloutv1alpha1.RolloutDecision) Action {
		in := input(since.Add(time.Second), plan, decisions, running(step, since, 10, 10, 0))
		in.WebhookSpecs, in.WebhookCalls = []deployv1alpha1.Webhook{hook}, calls
		return NextAction(in)
	}
	answered := []deployv1alpha1.WebhookCall{{Gate: "afterDeployment[0]", Name: "smoke", Phase: deployv1alpha1.WebhookAwaitingCallback, Attempts: 1}}

	t.Run("the final 100% goes on to the gate, which calls its webhook", func(t *testing.T) {
		g := NewWithT(t)
		act := at(2, nil)
		g.Expect(act.Outcome).To(Equal(OutcomeCallingWebhook))
		g.Expect(act.State.Step).To(BeEquivalentTo(3))
		g.Expect(act.WebhookDue).NotTo(BeNil())
		g.Expect(act.WebhookDue.Gate).To(Equal("afterDeployment[0]"))
	})
	t.Run("a successful callback finalizes", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(at(3, answered).Outcome).To(Equal(OutcomeAwaitingCallback))
		act := at(3, answered, decision("cb", "afterDeployment[0]", approve))
		g.Expect(act.Outcome).To(Equal(OutcomeFinalize))
	})
	t.Run("a failed callback rolls back from 100%", func(t *testing.T) {
		g := NewWithT(t)
		act := at(3, answered, rolloutv1alpha1.RolloutDecision{Name: "cb", Decision: rollback, Reason: "smoke tests failed"})
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(ContainSubstring("smoke tests failed"))
	})
}

func TestNextBlueGreenActionAfterDeployment(t *testing.T) {
	strategy := &deployv1alpha1.BlueGreenStrategy{ActiveService: "app"}
	after := AfterDeploymentConditions([]rolloutv1alpha1.AfterDeploymentAnalysis{afterGate(0, deployv1alpha1.Automatic)}, nil)
	plan := PlanBlueGreen(strategy, false, after)
	since := t0.Add(10 * time.Second) // when the active Service was switched and the gate began
	at := func(now time.Time, recorded []deployv1alpha1.AnalysisRun, decisions ...rolloutv1alpha1.RolloutDecision) Action {
		in := input(now, plan.Steps, decisions, blueGreen(3, since, 10, 10))
		in.Queries, in.Analysis = analysisQueries, recorded
		return NextBlueGreenAction(context.Background(), in, plan, DefaultConditionRunners())
	}
	rec := func(value string, verdict deployv1alpha1.AnalysisVerdict) []deployv1alpha1.AnalysisRun {
		return []deployv1alpha1.AnalysisRun{{Gate: "afterDeployment[0]", Run: 1, Query: "errors", Value: value, Verdict: verdict}}
	}

	t.Run("the gate runs after the switch, the old version still there", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Minute), nil)
		g.Expect(act.Outcome).To(Equal(OutcomeWait))
		g.Expect(act.Step.Weight).To(BeEquivalentTo(100), "the active Service selects the new version")
		g.Expect(act.Splits).To(Equal([]Split{{New: 10, Stable: 10}}), "the old version keeps running")
		g.Expect(act.AnalysisDue).NotTo(BeNil())
		g.Expect(act.AnalysisDue.Gate).To(Equal("afterDeployment[0]"))
	})
	t.Run("a pass finalizes", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Minute), rec("0.01", deployv1alpha1.VerdictPass))
		g.Expect(act.Outcome).To(Equal(OutcomeFinalize))
		g.Expect(act.Conditions).To(ConsistOf(And(HaveField("Gate", "afterDeployment[0]"), HaveField("Kind", "analysis"),
			HaveField("State", rolloutv1alpha1.ConditionPassed))))
	})
	t.Run("a failure rolls back (rollBackMode automatic)", func(t *testing.T) {
		g := NewWithT(t)
		act := at(since.Add(time.Minute), rec("0.5", deployv1alpha1.VerdictFail))
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(HavePrefix("afterDeployment[0] failed at step 3/3: "))
		g.Expect(act.Message).To(ContainSubstring("query errors averaged 0.5 above upperLimit 0.1"))
	})
	t.Run("manual waits for a judgment on the gate; approve finalizes, reject rolls back", func(t *testing.T) {
		g := NewWithT(t)
		manual := PlanBlueGreen(strategy, false, AfterDeploymentConditions([]rolloutv1alpha1.AfterDeploymentAnalysis{afterGate(0, deployv1alpha1.Manual)}, nil))
		run := func(decisions ...rolloutv1alpha1.RolloutDecision) Action {
			in := input(since.Add(time.Minute), manual.Steps, decisions, blueGreen(3, since, 10, 10))
			in.Queries, in.Analysis = analysisQueries, rec("0.5", deployv1alpha1.VerdictFail)
			return NextBlueGreenAction(context.Background(), in, manual, DefaultConditionRunners())
		}
		act := run()
		g.Expect(act.Outcome).To(Equal(OutcomeAwaitingApproval))
		g.Expect(act.WaitingFor).To(Equal("afterDeployment[0]"))
		g.Expect(run(decision("ok", "afterDeployment[0]", approve)).Outcome).To(Equal(OutcomeFinalize))
		act = run(decision("no", "afterDeployment[0]", reject))
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(Equal("rejected by decision no at afterDeployment[0]"))
	})
	t.Run("a judgment on the gate waits while the redirect runs", func(t *testing.T) {
		g := NewWithT(t)
		m := matchConditionDecisions([]rolloutv1alpha1.RolloutDecision{decision("ok", "afterDeployment[0]", approve)}, nil, plan, 2, nil)
		g.Expect(m.Discard).To(BeEmpty())
		g.Expect(m.ByGate).To(BeEmpty())
		m = matchConditionDecisions([]rolloutv1alpha1.RolloutDecision{decision("ok", "afterDeployment[0]", approve)}, nil, plan, 3, nil)
		g.Expect(m.ByGate).To(HaveKey("afterDeployment[0]"))
	})
}
