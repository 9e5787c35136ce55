package executor

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// OutcomeAnalysing waits for the next judgment run of an analysis step, or runs it now
// (Action.AnalysisDue).
const OutcomeAnalysing Outcome = "Analysing"

// AnalysisDue is a judgment run of an analysis step that is due now: the executor runs its queries
// over [Start, End] and records them in the Rollout's status.analysis.
type AnalysisDue struct {
	// Gate is the step, such as steps[2].
	Gate string
	// Step is the analysis step.
	Step *deployv1alpha1.AnalysisStep
	// Run is the 1-based judgment run.
	Run int32
	// Start and End bound the window its queries look at.
	Start, End time.Time
}

// AnalysisInterval is the length of one judgment run: interval in units (none counts as seconds).
func AnalysisInterval(a *deployv1alpha1.AnalysisStep) time.Duration {
	return deployv1alpha1.ToDuration(int64(max(a.Interval, 1)), deployv1alpha1.TimeUnit(a.Units))
}

// RunWindow returns the window of judgment run k (1-based) of an analysis step that began at
// stepStart: run k ends at stepStart + k×interval; a growing lookback queries from stepStart, a
// sliding one only its own interval. The run is due at the window's end.
func RunWindow(method deployv1alpha1.LookbackMethod, stepStart time.Time, interval time.Duration, k int32) (start, end time.Time) {
	end = stepStart.Add(time.Duration(k) * interval)
	if method == "sliding" {
		return end.Add(-interval), end
	}
	return stepStart, end
}

// CheckLimits judges one value against a query's limits.
func CheckLimits(q deployv1alpha1.Query, v float64) (deployv1alpha1.AnalysisVerdict, string) {
	switch {
	case math.IsNaN(v):
		return deployv1alpha1.VerdictError, "the value is not a number"
	case q.UpperLimit != nil && v > *q.UpperLimit:
		return deployv1alpha1.VerdictFail, fmt.Sprintf("%s above upperLimit %s", formatShort(v), formatShort(*q.UpperLimit))
	case q.LowerLimit != nil && v < *q.LowerLimit:
		return deployv1alpha1.VerdictFail, fmt.Sprintf("%s below lowerLimit %s", formatShort(v), formatShort(*q.LowerLimit))
	}
	return deployv1alpha1.VerdictPass, ""
}

// AnalysisJudgment is where an analysis step's recorded runs stand.
type AnalysisJudgment struct {
	// Completed counts the runs, from the first, whose every query is recorded.
	Completed int32
	// Done is true once the verdict is known: every run completed, or a run failed with
	// abortOnFailedJudgment.
	Done bool
	// Failed is the verdict once Done.
	Failed bool
	// Message explains the verdict, or the failed queries.
	Message string
}

// JudgeAnalysis judges the recorded runs of an analysis step (gate): each query's value is the
// average over the completed runs, and every query must stay within its limits. A query that
// could not be run (Error) fails. With abortOnFailedJudgment, the first completed run in which a
// query is outside its limits (or errs) decides at once.
func JudgeAnalysis(a *deployv1alpha1.AnalysisStep, queries []deployv1alpha1.Query, gate string, recorded []deployv1alpha1.AnalysisRun) AnalysisJudgment {
	byRun := map[int32]map[string]deployv1alpha1.AnalysisRun{}
	for _, r := range recorded {
		if r.Gate != gate {
			continue
		}
		if byRun[r.Run] == nil {
			byRun[r.Run] = map[string]deployv1alpha1.AnalysisRun{}
		}
		byRun[r.Run][r.Query] = r
	}
	var j AnalysisJudgment
	for k := int32(1); k <= a.NumberOfJudgmentRuns; k++ {
		run := byRun[k]
		if !recordsEvery(run, a.Queries) {
			break
		}
		j.Completed = k
		if a.AbortOnFailedJudgment {
			var failed []string
			for _, name := range uniq(a.Queries) {
				if r := run[name]; r.Verdict != deployv1alpha1.VerdictPass {
					failed = append(failed, fmt.Sprintf("query %s: %s", name, orDefault(r.Message, string(r.Verdict))))
				}
			}
			if len(failed) > 0 {
				j.Done, j.Failed = true, true
				j.Message = fmt.Sprintf("run %d/%d failed (abortOnFailedJudgment): %s", k, a.NumberOfJudgmentRuns, strings.Join(failed, "; "))
				return j
			}
		}
	}
	if j.Completed < a.NumberOfJudgmentRuns {
		return j
	}
	j.Done = true
	var failed, passed []string
	for _, name := range uniq(a.Queries) {
		q, ok := findQuery(queries, name)
		if !ok {
			failed = append(failed, fmt.Sprintf("query %s is not in spec.analysis.queries", name))
			continue
		}
		var values []float64
		var errs []string
		for k := int32(1); k <= a.NumberOfJudgmentRuns; k++ {
			r := byRun[k][name]
			v, err := strconv.ParseFloat(r.Value, 64)
			if r.Verdict == deployv1alpha1.VerdictError || err != nil {
				errs = append(errs, fmt.Sprintf("run %d: %s", k, orDefault(r.Message, "no value")))
				continue
			}
			values = append(values, v)
		}
		if len(errs) > 0 {
			failed = append(failed, fmt.Sprintf("query %s: %s", name, strings.Join(errs, "; ")))
			continue
		}
		avg := average(values)
		if verdict, why := CheckLimits(q, avg); verdict != deployv1alpha1.VerdictPass {
			failed = append(failed, fmt.Sprintf("query %s averaged %s over %d runs", name, why, len(values)))
		} else {
			passed = append(passed, fmt.Sprintf("%s averaged %s", name, formatShort(avg)))
		}
	}
	if len(failed) > 0 {
		j.Failed, j.Message = true, strings.Join(failed, "; ")
	} else {
		j.Message = "every query within its limits: " + strings.Join(passed, ", ")
	}
	return j
}

// analysisAction decides an analysis step (NextAction's part): run the judgment runs as they fall
// due, then act on the verdict: go on after a pass and roll back after a failure (automatic
// modes), or wait for a Judgment (manual modes): approve goes on, reject rolls back. It reports
// whether the pass ends at this step.
func (in *ExecutionInput) analysisAction(act *Action, step Step, m DecisionMatch, prefix string) bool {
	a := step.Analysis
	gate := step.Gate()
	j := JudgeAnalysis(a, in.Queries, gate, in.Analysis)
	if !j.Done {
		k := j.Completed + 1
		start, end := RunWindow(a.LookbackMethod, act.State.StepStartedAt, AnalysisInterval(a), k)
		act.Outcome = OutcomeAnalysing
		if !in.Now.Before(end) {
			act.AnalysisDue = &AnalysisDue{Gate: gate, Step: a, Run: k, Start: start, End: end}
			act.Message = fmt.Sprintf("%s: weight %d%%: analysis run %d/%d", prefix, step.Weight, k, a.NumberOfJudgmentRuns)
			return true
		}
		act.Message = fmt.Sprintf("%s: weight %d%%: analysis run %d/%d at %s", prefix, step.Weight, k, a.NumberOfJudgmentRuns, end.UTC().Format(time.RFC3339))
		act.RequeueAfter = end.Sub(in.Now)
		return true
	}
	mode, verdict := a.RollForwardMode, "passed"
	if j.Failed {
		mode, verdict = a.RollBackMode, "failed"
	}
	if mode == deployv1alpha1.Manual {
		if d := m.Gate; d != nil {
			act.Acted = append(act.Acted, ActedDecision{RolloutDecision: *d, Step: act.State.Step})
			act.State.Decisions = append(act.State.Decisions, d.Name)
			if d.Decision == deployv1alpha1.DecisionReject {
				act.Outcome = OutcomeRollBack
				act.Message = fmt.Sprintf("analysis of %s %s (%s); rejected by decision %s%s", gate, verdict, j.Message, d.Name, reasonSuffix(d.Reason))
				return true
			}
			return false
		}
		act.Outcome, act.WaitingFor = OutcomeAwaitingApproval, gate
		act.Message = fmt.Sprintf("%s: weight %d%%: analysis of %s %s (%s); waiting for a judgment: approve to go on, reject to roll back",
			prefix, step.Weight, gate, verdict, j.Message)
		return true
	}
	if j.Failed {
		act.Outcome = OutcomeRollBack
		act.Message = fmt.Sprintf("analysis of %s failed: %s", gate, j.Message)
		return true
	}
	return false
}

// recordsEvery reports whether a run has a record of every query.
func recordsEvery(run map[string]deployv1alpha1.AnalysisRun, queries []string) bool {
	for _, q := range queries {
		if _, ok := run[q]; !ok {
			return false
		}
	}
	return len(queries) > 0
}

func findQuery(queries []deployv1alpha1.Query, name string) (deployv1alpha1.Query, bool) {
	for _, q := range queries {
		if q.Name == name {
			return q, true
		}
	}
	return deployv1alpha1.Query{}, false
}

func uniq(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func average(values []float64) float64 {
	var sum float64
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values))
}

// formatValue writes a value as the shortest decimal that reads back the same.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// formatShort writes a value with 6 significant digits, for messages.
func formatShort(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reasonSuffix is ": <reason>" for a decision that gives one.
func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}
