package executor

import (
	"slices"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// Reasons of a Rollout's conditions that the executor sets, besides meta.ProgressingReason and
// meta.SucceededReason.
const (
	// ReasonPaused: Reconciling while a timed pause runs.
	ReasonPaused = "Paused"
	// ReasonAwaitingApproval: Reconciling while a pause waits for approval.
	ReasonAwaitingApproval = "AwaitingApproval"
	// ReasonRollingBack: Reconciling while rolling back; the condition's message says why and its
	// lastTransitionTime when the rollback began.
	ReasonRollingBack = "RollingBack"
	// ReasonCancelling: Reconciling while rolling back for a cancel decision.
	ReasonCancelling = "Cancelling"
	// ReasonRestarting: Reconciling while rolling back the running version because the Rollout's
	// manifests or strategy changed; a new execution starts afterwards.
	ReasonRestarting = "Restarting"
	// ReasonRolledBack: Stalled after a rollback.
	ReasonRolledBack = "RolledBack"
	// ReasonCancelled: Stalled after a cancel.
	ReasonCancelled = "Cancelled"
	// ReasonUnsupported: Stalled, the Rollout cannot be run (see the message).
	ReasonUnsupported = "Unsupported"
	// ReasonRollbackFailed: Stalled, the stable version did not come back.
	ReasonRollbackFailed = "RollbackFailed"
)

// rollbackState is a rollback recorded in the Reconciling condition.
type rollbackState struct {
	// reason is ReasonRollingBack, ReasonCancelling or ReasonRestarting.
	reason string
	// why is the rollback's cause, for the final message.
	why string
	// since is when it began.
	since time.Time
}

// rollingBack returns the rollback a Rollout's status records, if any.
func rollingBack(status *rolloutv1alpha1.RolloutStatus) (rollbackState, bool) {
	c := apimeta.FindStatusCondition(status.Conditions, meta.ReconcilingCondition)
	if c == nil || c.Status != metav1.ConditionTrue {
		return rollbackState{}, false
	}
	switch c.Reason {
	case ReasonRollingBack, ReasonCancelling, ReasonRestarting:
		return rollbackState{reason: c.Reason, why: c.Message, since: c.LastTransitionTime.Time}, true
	}
	return rollbackState{}, false
}

// setRollingBack records the start of a rollback at now: Reconciling (transitioning anew, so that
// its lastTransitionTime is the start) with the reason and why.
func setRollingBack(r *rolloutv1alpha1.Rollout, reason, why string, now time.Time) {
	apimeta.RemoveStatusCondition(&r.Status.Conditions, meta.ReconcilingCondition)
	meta.MarkReconciling(r, reason, why)
	c := apimeta.FindStatusCondition(r.Status.Conditions, meta.ReconcilingCondition)
	c.LastTransitionTime = metav1.NewTime(now)
	r.Status.Phase = rolloutv1alpha1.PhaseProgressing
	r.Status.WaitingFor = ""
	r.Status.Message = "rolling back: " + why
}

// setStarted records the start of an execution at now: its analysis runs and webhook calls start
// afresh, those of the Rollout's beforeDeployment gates (which passed before it) kept.
func setStarted(r *rolloutv1alpha1.Rollout, canary, stable string, totalSteps int32, startedAt time.Time) {
	t := metav1.NewTime(startedAt)
	r.Status.StartedAt = &t
	r.Status.FinishedAt = nil
	r.Status.CanaryRevision = canary
	r.Status.StableRevision = stable
	r.Status.TotalSteps = totalSteps
	r.Status.CurrentStep = 1
	r.Status.Weight = 0
	r.Status.WaitingFor = ""
	r.Status.Phase = rolloutv1alpha1.PhaseProgressing
	// The calls of the beforeDeployment gates stay: they passed before this start.
	r.Status.Analysis = nil
	r.Status.Webhooks = slices.DeleteFunc(r.Status.Webhooks, func(c deployv1alpha1.WebhookCall) bool { return !isBeforeDeploymentGate(c.Gate) })
}

// setRunning records the outcome of a pass of a running execution.
func setRunning(r *rolloutv1alpha1.Rollout, act Action, totalSteps int32) {
	r.Status.CurrentStep = act.State.Step
	r.Status.TotalSteps = totalSteps
	r.Status.Weight = act.Step.Weight
	r.Status.Message = act.Message
	r.Status.WaitingFor = act.WaitingFor
	reason := meta.ProgressingReason
	switch act.Outcome {
	case OutcomePaused:
		r.Status.Phase, reason = rolloutv1alpha1.PhasePaused, ReasonPaused
	case OutcomeAwaitingApproval:
		r.Status.Phase, reason = rolloutv1alpha1.PhaseAwaitingApproval, ReasonAwaitingApproval
	default:
		r.Status.Phase = rolloutv1alpha1.PhaseProgressing
	}
	meta.MarkReconciling(r, reason, act.Message)
}

// setFinished ends an execution at now in a final phase: Succeeded, RolledBack, Cancelled, or
// Failed after a rollback that failed (a refused Rollout is ended by execution.refuse).
func setFinished(r *rolloutv1alpha1.Rollout, phase rolloutv1alpha1.Phase, message string, now time.Time) {
	t := metav1.NewTime(now)
	r.Status.FinishedAt = &t
	r.Status.Phase = phase
	r.Status.Message = message
	r.Status.WaitingFor = ""
	switch phase {
	case rolloutv1alpha1.PhaseSucceeded:
		r.Status.Weight = 100
		r.Status.CurrentStep = r.Status.TotalSteps
		meta.MarkReady(r, meta.SucceededReason, message)
	case rolloutv1alpha1.PhaseRolledBack:
		meta.MarkStalled(r, ReasonRolledBack, message)
	case rolloutv1alpha1.PhaseCancelled:
		meta.MarkStalled(r, ReasonCancelled, message)
	default:
		meta.MarkStalled(r, ReasonRollbackFailed, message)
	}
}

// setRestarting clears the status of an execution rolled back because the spec changed, so that a
// new one starts.
func setRestarting(r *rolloutv1alpha1.Rollout, why string) {
	r.Status.Phase = rolloutv1alpha1.PhasePending
	r.Status.StartedAt = nil
	r.Status.FinishedAt = nil
	r.Status.CanaryRevision = ""
	r.Status.StableRevision = ""
	r.Status.CurrentStep = 0
	r.Status.Weight = 0
	r.Status.WaitingFor = ""
	r.Status.Message = "starting again: " + why
	meta.MarkReconciling(r, meta.ProgressingReason, r.Status.Message)
}

// setCounts records the pod counts of the application's versions.
func setCounts(r *rolloutv1alpha1.Rollout, newVersions, stableVersions []*VersionObservation) {
	var replicas, ready, updated int32
	for _, o := range newVersions {
		if o != nil {
			replicas += o.Replicas
			ready += o.ReadyReplicas
			updated += o.Replicas
		}
	}
	for _, o := range stableVersions {
		if o != nil {
			replicas += o.Replicas
			ready += o.ReadyReplicas
		}
	}
	r.Status.Replicas, r.Status.ReadyReplicas, r.Status.UpdatedReplicas = replicas, ready, updated
}
