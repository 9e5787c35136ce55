package hub

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// maxConflictRetries bounds the optimistic-concurrency retries of one Rollout status write.
const maxConflictRetries = 5

// rolloutWriter writes what agents report to the status of the cloud Rollouts. It reads from the
// shared Rollout cache and, after a write conflict, from the API server.
type rolloutWriter struct {
	cache client.Reader
	api   client.Client
}

// writeStatus writes a reported status to the cloud Rollout when the observation is newer than the
// cloud's. It refuses a Rollout that is not the agent's (another uid, another agent's label, gone).
func (w *rolloutWriter) writeStatus(ctx context.Context, key agentKey, report reportedStatus) error {
	return w.updateStatus(ctx, key, report.ref, func(status *rolloutv1alpha1.RolloutStatus) bool {
		next, write := mergeReportedStatus(*status, report.status, report.observedAt)
		*status = next
		return write
	})
}

// recordApplied raises the cloud Rollout's status.appliedGeneration to the generation the agent
// acknowledged.
func (w *rolloutWriter) recordApplied(ctx context.Context, key agentKey, ref rolloutRef) error {
	return w.updateStatus(ctx, key, ref, func(status *rolloutv1alpha1.RolloutStatus) bool {
		return raiseAppliedGeneration(status, ref.Generation)
	})
}

// updateStatus applies mutate to the status of the cloud Rollout ref names, in the agent's tenant
// namespace, and patches it with optimistic locking when mutate reports a change; a conflict
// re-reads the Rollout from the API server and tries again.
func (w *rolloutWriter) updateStatus(ctx context.Context, key agentKey, ref rolloutRef,
	mutate func(*rolloutv1alpha1.RolloutStatus) bool) error {
	name := client.ObjectKey{Namespace: key.namespace, Name: ref.Name}
	rollout := &rolloutv1alpha1.Rollout{}
	var reader client.Reader = w.cache
	for attempt := 0; ; attempt++ {
		if err := reader.Get(ctx, name, rollout); err != nil {
			if apierrors.IsNotFound(err) {
				return refuse("Rollout %s does not exist (for this agent)", ref.Name)
			}
			return fmt.Errorf("reading Rollout %s: %w", name, err)
		}
		if rollout.UID != ref.UID {
			return refuse("Rollout %s has uid %s, not %s", ref.Name, rollout.UID, ref.UID)
		}
		if agentOf(rollout) != key.agent {
			return refuse("Rollout %s is not labelled for agent %s", ref.Name, key.agent)
		}
		before := rollout.DeepCopy()
		if !mutate(&rollout.Status) {
			return nil
		}
		err := w.api.Status().Patch(ctx, rollout, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
		switch {
		case err == nil:
			return nil
		case apierrors.IsConflict(err) && attempt < maxConflictRetries:
			reader = w.api
			rollout = &rolloutv1alpha1.Rollout{}
		case apierrors.IsNotFound(err):
			return refuse("Rollout %s does not exist (for this agent)", ref.Name)
		default:
			return fmt.Errorf("writing the status of Rollout %s: %w", name, err)
		}
	}
}
