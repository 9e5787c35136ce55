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

// writePending writes what waits for one Rollout in a single status write: the reported status
// when newer than the cloud's, and appliedGeneration raised to the generation the agent
// acknowledged applying.
func (w *rolloutWriter) writePending(ctx context.Context, key agentKey, pending pendingWrite) error {
	return w.updateStatus(ctx, key, pending.ref, func(status *rolloutv1alpha1.RolloutStatus) bool {
		write := false
		if pending.status != nil {
			*status, write = mergeReportedStatus(*status, pending.status.status, pending.status.observedAt)
		}
		return raiseAppliedGeneration(status, pending.applied) || write
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
