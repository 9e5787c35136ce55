package executor

import (
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

func TestAfterDeploymentSteps(t *testing.T) {
	one, three := afterGate(1, deployv1alpha1.Automatic), afterGate(3, deployv1alpha1.Manual)
	tests := []struct {
		name  string
		gates []rolloutv1alpha1.AfterDeploymentAnalysis
		want  []Step
	}{
		{"no gates, no steps", nil, []Step{}},
		{"each gate an analysis at 100%, named by its index in constraints.afterDeployment", []rolloutv1alpha1.AfterDeploymentAnalysis{one, three}, []Step{
			{Index: -1, Kind: RunAnalysis, Weight: 100, Analysis: &one.Analysis, ConditionGate: "afterDeployment[1]"},
			{Index: -1, Kind: RunAnalysis, Weight: 100, Analysis: &three.Analysis, ConditionGate: "afterDeployment[3]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := AfterDeploymentSteps(tt.gates)
			g.Expect(got).To(Equal(tt.want))
			for _, s := range got {
				g.Expect(s.TakesDecisions()).To(BeTrue())
			}
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
	atGate := AfterDeploymentSteps([]rolloutv1alpha1.AfterDeploymentAnalysis{afterGate(2, deployv1alpha1.Manual)})[0]
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
		return append(PlanSteps(canary(weightStep(50)), false), AfterDeploymentSteps([]rolloutv1alpha1.AfterDeploymentAnalysis{afterGate(1, mode)})...)
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
