package rna

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// This file holds the pure rules of status reporting (what changed, what to send) and the set of
// Rollouts whose status is due. The informer glue is in statuswatch.go.

// statusReportChanged reports whether the RolloutStatus the agent would send for a mirrored
// Rollout differs between two versions of it: its status, the cloud generation it carries, or its
// own generation (both of which the reported generations depend on).
func statusReportChanged(old, updated *rolloutv1alpha1.Rollout) bool {
	return !equality.Semantic.DeepEqual(old.Status, updated.Status) ||
		cloudGeneration(old) != cloudGeneration(updated) ||
		old.Generation != updated.Generation
}

// cloudObservedGeneration translates a generation the executor observed in the target cluster
// into the cloud Rollout's generation space, so that kstatus on the cloud Rollout reads it right:
// when the executor observed the target Rollout's current generation, it observed the spec of the
// cloud generation the Rollout carries; nothing observed (0 or -1) stays as it is; an older
// observation is reported as one less than the carried cloud generation (an upper bound of the
// cloud generation it observed).
func cloudObservedGeneration(observed, targetGeneration, carriedCloudGeneration int64) int64 {
	switch {
	case observed <= 0:
		return observed
	case observed >= targetGeneration:
		return carriedCloudGeneration
	default:
		return max(carriedCloudGeneration-1, 0)
	}
}

// statusReport builds the RolloutStatus of a mirrored Rollout observed at now. The status JSON is
// the Rollout's status with observedGeneration (also of each condition) translated to the cloud's
// generation space, appliedGeneration set to the carried cloud generation and observedAt to now.
func statusReport(r *rolloutv1alpha1.Rollout, now time.Time) (*tunnelv1.RolloutStatus, error) {
	ref := refOf(r)
	status := *r.Status.DeepCopy()
	status.ObservedGeneration = cloudObservedGeneration(status.ObservedGeneration, r.Generation, ref.GetGeneration())
	for i := range status.Conditions {
		status.Conditions[i].ObservedGeneration = cloudObservedGeneration(status.Conditions[i].ObservedGeneration, r.Generation, ref.GetGeneration())
	}
	status.AppliedGeneration = ref.GetGeneration()
	observedAt := metav1.NewMicroTime(now)
	status.ObservedAt = &observedAt
	body, err := json.Marshal(status)
	if err != nil {
		return nil, fmt.Errorf("encoding the status of rollout %s/%s: %w", r.Namespace, r.Name, err)
	}
	return &tunnelv1.RolloutStatus{Ref: ref, Status: body, ObservedAtUnixNano: now.UnixNano()}, nil
}

// dueStatuses is the set of mirrored Rollouts whose status is due to be sent. Marking a Rollout
// again before it is sent coalesces: only its latest status is sent.
type dueStatuses struct {
	mu   sync.Mutex
	keys map[types.NamespacedName]struct{}
	// signal has one element when keys may be non-empty.
	signal chan struct{}
}

func newDueStatuses() *dueStatuses {
	return &dueStatuses{keys: map[types.NamespacedName]struct{}{}, signal: make(chan struct{}, 1)}
}

// mark makes the status of the Rollout at key due.
func (d *dueStatuses) mark(key types.NamespacedName) {
	d.mu.Lock()
	d.keys[key] = struct{}{}
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

// ready is signalled when statuses may be due.
func (d *dueStatuses) ready() <-chan struct{} { return d.signal }

// take returns the due keys, sorted, and empties the set.
func (d *dueStatuses) take() []types.NamespacedName {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := make([]types.NamespacedName, 0, len(d.keys))
	for k := range d.keys {
		keys = append(keys, k)
	}
	clear(d.keys)
	slices.SortFunc(keys, func(a, b types.NamespacedName) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return keys
}
