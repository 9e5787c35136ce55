package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestRunWindow(t *testing.T) {
	tests := []struct {
		method     deployv1alpha1.LookbackMethod
		k          int32
		start, end time.Duration
	}{
		{"growing", 1, 0, time.Minute},
		{"growing", 3, 0, 3 * time.Minute},
		{"", 2, 0, 2 * time.Minute},
		{"sliding", 1, 0, time.Minute},
		{"sliding", 3, 2 * time.Minute, 3 * time.Minute},
	}
	for _, tt := range tests {
		start, end := RunWindow(tt.method, t0, time.Minute, tt.k)
		NewWithT(t).Expect([]time.Time{start, end}).To(Equal([]time.Time{t0.Add(tt.start), t0.Add(tt.end)}), "%s run %d", tt.method, tt.k)
	}
	g := NewWithT(t)
	g.Expect(AnalysisInterval(&deployv1alpha1.AnalysisStep{Interval: 2, Units: "minutes"})).To(Equal(2 * time.Minute))
	g.Expect(AnalysisInterval(&deployv1alpha1.AnalysisStep{Interval: 5, Units: "none"})).To(Equal(5*time.Second), "none counts as seconds")
}

func TestCheckLimits(t *testing.T) {
	both := deployv1alpha1.Query{Name: "q", UpperLimit: ptr.To(10.0), LowerLimit: ptr.To(1.0)}
	tests := []struct {
		q       deployv1alpha1.Query
		v       float64
		verdict deployv1alpha1.AnalysisVerdict
		message string
	}{
		{both, 5, deployv1alpha1.VerdictPass, ""},
		{both, 10, deployv1alpha1.VerdictPass, ""},
		{both, 1, deployv1alpha1.VerdictPass, ""},
		{both, 10.5, deployv1alpha1.VerdictFail, "10.5 above upperLimit 10"},
		{both, 0.25, deployv1alpha1.VerdictFail, "0.25 below lowerLimit 1"},
		{deployv1alpha1.Query{UpperLimit: ptr.To(0.1)}, -3, deployv1alpha1.VerdictPass, ""},
		{deployv1alpha1.Query{LowerLimit: ptr.To(0.0)}, 1e9, deployv1alpha1.VerdictPass, ""},
	}
	for _, tt := range tests {
		verdict, msg := CheckLimits(tt.q, tt.v)
		NewWithT(t).Expect([]string{string(verdict), msg}).To(Equal([]string{string(tt.verdict), tt.message}), "value %v", tt.v)
	}
}

// runRecord is a recorded query of a run of steps[1].
func runRecord(run int32, query, value string, verdict deployv1alpha1.AnalysisVerdict) deployv1alpha1.AnalysisRun {
	return deployv1alpha1.AnalysisRun{Gate: "steps[1]", Run: run, Query: query, Value: value, Verdict: verdict}
}

var analysisQueries = []deployv1alpha1.Query{
	{Name: "errors", UpperLimit: ptr.To(0.1), QueryTemplate: "e"},
	{Name: "latency", LowerLimit: ptr.To(0.0), UpperLimit: ptr.To(300.0), QueryTemplate: "l"},
}

func TestJudgeAnalysis(t *testing.T) {
	step := func(runs int32, abort bool) *deployv1alpha1.AnalysisStep {
		return &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: runs, Queries: []string{"errors", "latency"}, AbortOnFailedJudgment: abort}
	}
	pass, fail, errd := deployv1alpha1.VerdictPass, deployv1alpha1.VerdictFail, deployv1alpha1.VerdictError
	tests := []struct {
		name     string
		step     *deployv1alpha1.AnalysisStep
		recorded []deployv1alpha1.AnalysisRun
		want     AnalysisJudgment
	}{
		{name: "nothing recorded", step: step(3, false), want: AnalysisJudgment{}},
		{name: "a run is complete only with every query", step: step(3, false),
			recorded: []deployv1alpha1.AnalysisRun{runRecord(1, "errors", "0.01", pass), runRecord(1, "latency", "100", pass), runRecord(2, "errors", "0.01", pass)},
			want:     AnalysisJudgment{Completed: 1}},
		{name: "records of another gate do not count", step: step(1, false),
			recorded: []deployv1alpha1.AnalysisRun{{Gate: "steps[4]", Run: 1, Query: "errors", Value: "0", Verdict: pass}, {Gate: "steps[4]", Run: 1, Query: "latency", Value: "0", Verdict: pass}},
			want:     AnalysisJudgment{}},
		{name: "every run within limits passes", step: step(2, false),
			recorded: []deployv1alpha1.AnalysisRun{runRecord(1, "errors", "0.05", pass), runRecord(1, "latency", "100", pass), runRecord(2, "errors", "0.07", pass), runRecord(2, "latency", "200", pass)},
			want:     AnalysisJudgment{Completed: 2, Done: true, Message: "every query within its limits: errors averaged 0.06, latency averaged 150"}},
		{name: "the average decides: one bad run among good ones passes", step: step(3, false),
			recorded: []deployv1alpha1.AnalysisRun{runRecord(1, "errors", "0.2", fail), runRecord(1, "latency", "100", pass), runRecord(2, "errors", "0.05", pass),
				runRecord(2, "latency", "100", pass), runRecord(3, "errors", "0.02", pass), runRecord(3, "latency", "100", pass)},
			want: AnalysisJudgment{Completed: 3, Done: true, Message: "every query within its limits: errors averaged 0.09, latency averaged 100"}},
		{name: "an average above the limit fails", step: step(2, false),
			recorded: []deployv1alpha1.AnalysisRun{runRecord(1, "errors", "0.3", fail), runRecord(1, "latency", "100", pass), runRecord(2, "errors", "0.1", pass), runRecord(2, "latency", "100", pass)},
			want:     AnalysisJudgment{Completed: 2, Done: true, Failed: true, Message: "query errors averaged 0.2 above upperLimit 0.1 over 2 runs"}},
		{name: "abortOnFailedJudgment fails at the first failed run", step: step(3, true),
			recorded: []deployv1alpha1.AnalysisRun{runRecord(1, "errors", "0.3", fail), {Gate: "steps[1]", Run: 1, Query: "latency", Value: "100", Verdict: pass}},
			want:     AnalysisJudgment{Completed: 1, Done: true, Failed: true, Message: "run 1/3 failed (abortOnFailedJudgment): query errors: Fail"}},
		{name: "a query that errs fails the step", step: step(1, false),
			recorded: []deployv1alpha1.AnalysisRun{{Gate: "steps[1]", Run: 1, Query: "errors", Verdict: errd, Message: "the query returned no data"}, runRecord(1, "latency", "100", pass)},
			want:     AnalysisJudgment{Completed: 1, Done: true, Failed: true, Message: "query errors: run 1: the query returned no data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(JudgeAnalysis(tt.step, analysisQueries, "steps[1]", tt.recorded)).To(Equal(tt.want))
		})
	}
}

func TestNextActionAnalysis(t *testing.T) {
	analysis := func(mode deployv1alpha1.JudgmentMode) deployv1alpha1.CanaryStep {
		return deployv1alpha1.CanaryStep{Analysis: &deployv1alpha1.AnalysisStep{Interval: 1, Units: "minutes", NumberOfJudgmentRuns: 2,
			Queries: []string{"errors"}, RollBackMode: mode, RollForwardMode: mode, LookbackMethod: "sliding"}}
	}
	auto := PlanSteps(canary(weightStep(50), analysis(deployv1alpha1.Automatic)), false)
	manual := PlanSteps(canary(weightStep(50), analysis(deployv1alpha1.Manual)), false)
	since := t0.Add(10 * time.Second) // when the analysis step began
	at := func(plan []Step, now time.Time, recorded []deployv1alpha1.AnalysisRun, decisions ...rolloutv1alpha1.RolloutDecision) Action {
		in := input(now, plan, decisions, running(2, since, 5, 5, 5))
		in.Queries, in.Analysis = analysisQueries, recorded
		return NextAction(in)
	}
	good := []deployv1alpha1.AnalysisRun{runRecord(1, "errors", "0.01", "Pass"), runRecord(2, "errors", "0.03", "Pass")}
	bad := []deployv1alpha1.AnalysisRun{runRecord(1, "errors", "0.5", "Fail"), runRecord(2, "errors", "0.3", "Fail")}

	t.Run("waits for the first run's end", func(t *testing.T) {
		g := NewWithT(t)
		act := at(auto, since.Add(20*time.Second), nil)
		g.Expect(act.Outcome).To(Equal(OutcomeAnalysing))
		g.Expect(act.AnalysisDue).To(BeNil())
		g.Expect(act.RequeueAfter).To(Equal(40 * time.Second))
		g.Expect(act.Message).To(Equal("step 2/3: weight 50%: analysis run 1/2 at 2026-11-30T12:01:10Z"))
		g.Expect(act.Splits).To(Equal([]Split{{5, 5}}), "the analysis holds the weight of the step before")
	})
	t.Run("runs a due run over its window", func(t *testing.T) {
		g := NewWithT(t)
		act := at(auto, since.Add(2*time.Minute), good[:1])
		g.Expect(act.Outcome).To(Equal(OutcomeAnalysing))
		g.Expect(act.AnalysisDue).To(PointTo(MatchFields(IgnoreExtras, Fields{"Gate": Equal("steps[1]"), "Run": BeEquivalentTo(2),
			"Start": Equal(since.Add(time.Minute)), "End": Equal(since.Add(2 * time.Minute))})))
	})
	t.Run("a pass goes on", func(t *testing.T) {
		g := NewWithT(t)
		act := at(auto, since.Add(2*time.Minute), good)
		g.Expect(act.Outcome).To(Equal(OutcomeWait))
		g.Expect(act.State.Step).To(BeEquivalentTo(3), "on to the final 100%")
	})
	t.Run("a failure rolls back", func(t *testing.T) {
		g := NewWithT(t)
		act := at(auto, since.Add(2*time.Minute), bad)
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(Equal("analysis of steps[1] failed: query errors averaged 0.4 above upperLimit 0.1 over 2 runs"))
	})
	t.Run("manual roll forward waits for a judgment", func(t *testing.T) {
		g := NewWithT(t)
		act := at(manual, since.Add(2*time.Minute), good)
		g.Expect(act.Outcome).To(Equal(OutcomeAwaitingApproval))
		g.Expect(act.WaitingFor).To(Equal("steps[1]"))
		g.Expect(act.Message).To(HavePrefix("step 2/3: weight 50%: analysis of steps[1] passed (every query within its limits: errors averaged 0.02); waiting for a judgment"))
		act = at(manual, since.Add(2*time.Minute), good, rolloutv1alpha1.RolloutDecision{Name: "go", Gate: "steps[1]", Decision: "approve"})
		g.Expect(act.State.Step).To(BeEquivalentTo(3))
		g.Expect(act.Acted).To(HaveLen(1))
	})
	t.Run("manual roll back waits too; reject rolls back", func(t *testing.T) {
		g := NewWithT(t)
		act := at(manual, since.Add(2*time.Minute), bad)
		g.Expect(act.Outcome).To(Equal(OutcomeAwaitingApproval))
		g.Expect(act.Message).To(ContainSubstring("analysis of steps[1] failed"))
		act = at(manual, since.Add(2*time.Minute), bad, rolloutv1alpha1.RolloutDecision{Name: "no", Gate: "steps[1]", Decision: "reject", Reason: "too many errors"})
		g.Expect(act.Outcome).To(Equal(OutcomeRollBack))
		g.Expect(act.Message).To(HaveSuffix("rejected by decision no: too many errors"))
		act = at(manual, since.Add(2*time.Minute), bad, rolloutv1alpha1.RolloutDecision{Name: "anyway", Gate: "steps[1]", Decision: "approve"})
		g.Expect(act.State.Step).To(BeEquivalentTo(3), "approve rolls forward despite the failure")
	})
}
