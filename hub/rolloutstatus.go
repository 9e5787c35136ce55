package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// refusal is why the Hub did not act on an agent's message; the agent reads it in a failed Ack.
type refusal struct{ reason string }

// Error returns the reason.
func (r *refusal) Error() string { return r.reason }

// refuse returns a refusal with a formatted reason.
func refuse(format string, args ...any) error { return &refusal{reason: fmt.Sprintf(format, args...)} }

// isRefusal reports whether err is a refusal (the agent's fault) rather than a failure of the Hub.
func isRefusal(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}

// reportedStatus is a RolloutStatus message, decoded and checked.
type reportedStatus struct {
	ref        rolloutRef
	status     rolloutv1alpha1.RolloutStatus
	observedAt time.Time
}

// decodeRolloutStatus checks a RolloutStatus message of the agent of key and decodes its status.
// The Rollout must be named (uid and name) in the tenant's namespace, carry a status and an
// observation time.
func decodeRolloutStatus(key agentKey, msg *tunnelv1.RolloutStatus) (reportedStatus, error) {
	ref := refFromProto(msg.GetRef())
	switch {
	case ref.UID == "" || ref.Name == "":
		return reportedStatus{}, refuse("the status names no Rollout (ref.uid and ref.name are required)")
	case ref.Namespace != "" && ref.Namespace != key.namespace:
		return reportedStatus{}, refuse("Rollout namespace %q is not the tenant's", ref.Namespace)
	case msg.GetObservedAtUnixNano() <= 0:
		return reportedStatus{}, refuse("observed_at_unix_nano is required")
	case len(msg.GetStatus()) == 0:
		return reportedStatus{}, refuse("the status is empty")
	}
	var status rolloutv1alpha1.RolloutStatus
	if err := json.Unmarshal(msg.GetStatus(), &status); err != nil {
		return reportedStatus{}, refuse("the status is not a RolloutStatus: %v", err)
	}
	return reportedStatus{ref: ref, status: status, observedAt: time.Unix(0, msg.GetObservedAtUnixNano())}, nil
}

// mergeReportedStatus returns the cloud status that a reported observation makes, and whether it
// should be written: only an observation newer than the cloud's observedAt is (observedAt keeps
// microseconds). The reported status replaces the cloud's, with observedAt set to the observation
// time and appliedGeneration never lowered.
func mergeReportedStatus(current, reported rolloutv1alpha1.RolloutStatus, observedAt time.Time) (rolloutv1alpha1.RolloutStatus, bool) {
	observed := metav1.NewMicroTime(observedAt.Truncate(time.Microsecond))
	if current.ObservedAt != nil && !observed.After(current.ObservedAt.Time) {
		return current, false
	}
	next := *reported.DeepCopy()
	next.ObservedAt = &observed
	next.AppliedGeneration = max(current.AppliedGeneration, reported.AppliedGeneration)
	return next, true
}

// raiseAppliedGeneration sets appliedGeneration to generation when that is greater, and reports
// whether it did.
func raiseAppliedGeneration(status *rolloutv1alpha1.RolloutStatus, generation int64) bool {
	if generation <= status.AppliedGeneration {
		return false
	}
	status.AppliedGeneration = generation
	return true
}
