package executor

import (
	"context"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// stepInputs adds to an execution's input what analysis and runWebhook steps need: the queries and
// webhooks of the spec, and the runs and calls recorded in the status.
func (x *execution) stepInputs(in *ExecutionInput) {
	if a := x.rollout.Spec.Analysis; a != nil {
		in.Queries = a.Queries
	}
	in.WebhookSpecs = x.rollout.Spec.Webhooks
	in.Analysis = x.rollout.Status.Analysis
	in.WebhookCalls = x.rollout.Status.Webhooks
}

// recordWebhookUpdates writes the new records of webhook calls into the status.
func (x *execution) recordWebhookUpdates(updates []deployv1alpha1.WebhookCall) {
	for _, u := range updates {
		x.rollout.Status.Webhooks = recordWebhookCall(x.rollout.Status.Webhooks, u)
	}
}

// runDueCalls makes the judgment run or webhook call that is due, after the pass wrote the step's
// replicas, and records it in the status. It reports whether one was made: the next pass then
// judges it at once.
func (x *execution) runDueCalls(ctx context.Context, act Action, startedAt time.Time) bool {
	switch {
	case act.AnalysisDue != nil:
		runs := x.runAnalysis(ctx, act.AnalysisDue)
		x.rollout.Status.Analysis = recordRuns(x.rollout.Status.Analysis, runs)
		return true
	case act.WebhookDue != nil:
		call := x.callWebhook(ctx, act.WebhookDue, startedAt)
		x.rollout.Status.Webhooks = recordWebhookCall(x.rollout.Status.Webhooks, call)
		return true
	}
	return false
}
