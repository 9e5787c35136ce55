package executor

import (
	"context"
	"fmt"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/templating"
)

// maxRecordedRuns bounds status.analysis; the oldest records go first.
const maxRecordedRuns = 512

// maxRendered bounds a rendered query kept in the status.
const maxRendered = 4096

// runAnalysis makes a due judgment run: each query of the step rendered (armory variables of the
// run's window, the context, the tenant's secrets resolved last) and sent to its metric provider,
// its value judged against its limits. Failures are recorded as Error, never returned: they count
// against the new version.
func (x *execution) runAnalysis(ctx context.Context, due *AnalysisDue) []deployv1alpha1.AnalysisRun {
	spec := &x.rollout.Spec
	var queries []deployv1alpha1.Query
	defaultProvider := ""
	if spec.Analysis != nil {
		queries, defaultProvider = spec.Analysis.Queries, spec.Analysis.DefaultMetricProviderName
	}
	armory := templating.Armory(templating.ArmoryInput{
		Start: due.Start, End: due.End, Interval: AnalysisInterval(due.Step),
		DeploymentID: spec.DeploymentName, Application: spec.Application, Environment: spec.Target,
		Account: spec.Account, Namespace: x.namespace, ReplicaSetName: x.desired,
	})
	vars := templating.Vars{Armory: armory, Context: templating.MergeContext(spec.Context, due.Step.Context)}
	secrets := x.secretResolver(ctx)
	var out []deployv1alpha1.AnalysisRun
	for _, name := range uniq(due.Step.Queries) {
		rec := deployv1alpha1.AnalysisRun{Gate: due.Gate, Run: due.Run, Query: name, Start: timeRef(due.Start), End: timeRef(due.End)}
		value, err := x.runQuery(ctx, &rec, queries, name, orDefault(due.Step.MetricProviderName, defaultProvider), vars, secrets)
		if err != nil {
			rec.Verdict, rec.Message = deployv1alpha1.VerdictError, err.Error()
		} else {
			rec.Value = formatValue(value)
			q, _ := findQuery(queries, name)
			rec.Verdict, rec.Message = CheckLimits(q, value)
		}
		x.log.Info("Analysis query", "gate", due.Gate, "run", due.Run, "query", name, "provider", rec.Provider,
			"value", rec.Value, "verdict", rec.Verdict, "message", rec.Message)
		out = append(out, rec)
	}
	return out
}

// runQuery renders and runs one query; rec gets the provider and the query as shown (secrets not
// resolved).
func (x *execution) runQuery(ctx context.Context, rec *deployv1alpha1.AnalysisRun, queries []deployv1alpha1.Query, name, stepProvider string,
	vars templating.Vars, secrets templating.Secrets) (float64, error) {
	q, ok := findQuery(queries, name)
	if !ok {
		return 0, fmt.Errorf("query %s is not in spec.analysis.queries", name)
	}
	field := fmt.Sprintf("analysis.queries[%s].queryTemplate", name)
	shown, err := templating.Render(field, q.QueryTemplate, vars)
	if err != nil {
		return 0, err
	}
	if len(shown) > maxRendered {
		shown = shown[:maxRendered]
	}
	rec.Rendered = shown
	provider, providerName, err := x.metricProvider(ctx, orDefault(q.MetricProviderName, stepProvider))
	rec.Provider = providerName
	if err != nil {
		return 0, err
	}
	vars.Secrets = secrets
	query, err := templating.Render(field, q.QueryTemplate, vars)
	if err != nil {
		return 0, err
	}
	qctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return provider.Query(qctx, query, rec.Start.Time, rec.End.Time)
}

// recordRuns appends runs to status.analysis, dropping the oldest beyond maxRecordedRuns.
func recordRuns(list, runs []deployv1alpha1.AnalysisRun) []deployv1alpha1.AnalysisRun {
	list = append(list, runs...)
	if n := len(list) - maxRecordedRuns; n > 0 {
		list = list[n:]
	}
	return list
}
