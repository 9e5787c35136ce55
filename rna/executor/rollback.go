package executor

import (
	"fmt"
	"time"
)

// RollbackView is one workload of an execution being rolled back.
type RollbackView struct {
	// Name is the manifest Deployment's name.
	Name string
	// New is the version rolled back; nil once removed (or never created).
	New *VersionObservation
	// Stable is the version to go back to; zero for none (a first deployment).
	Stable ObjectRef
	// StableObserved is the stable workload; nil when Stable is zero or gone.
	StableObserved *VersionObservation
	// StableReplicas is the stable version's replicas before the Rollout.
	StableReplicas int32
}

// ScaleTarget is a replica count to set on a workload.
type ScaleTarget struct {
	// Workload is the manifest Deployment's name.
	Workload string
	// Ref names the object to scale.
	Ref ObjectRef
	// Replicas is the count to set.
	Replicas int32
}

// RollbackPlan is the next action of a rollback.
type RollbackPlan struct {
	// Scale are the stable versions to scale back to their replicas before the Rollout.
	Scale []ScaleTarget
	// RemoveNew is true once every stable version is Ready again: the new versions go, and the
	// frozen HPAs come back.
	RemoveNew bool
	// Done is true when nothing is left to do.
	Done bool
	// Failed is true when a stable version did not become Ready within the timeout; the new
	// versions are kept, so that the application keeps what runs.
	Failed bool
	// Message describes the rollback's progress, or why it failed.
	Message string
	// RequeueAfter is when to look again at the latest.
	RequeueAfter time.Duration
}

// PlanRollback plans a rollback that began at since: every workload of the Rollout together, the
// stable version scaled back to its replicas before the Rollout and waited Ready (bounded by
// timeout), then the new versions removed. A workload without a stable version has nothing to wait
// for.
func PlanRollback(now, since time.Time, timeout time.Duration, views []RollbackView) RollbackPlan {
	var plan RollbackPlan
	var waiting *RollbackView
	for i := range views {
		v := &views[i]
		if v.StableObserved == nil {
			continue
		}
		plan.Scale = append(plan.Scale, ScaleTarget{Workload: v.Name, Ref: v.Stable, Replicas: v.StableReplicas})
		if waiting == nil && !v.StableObserved.atTarget(v.StableReplicas, true) {
			waiting = v
		}
	}
	if waiting != nil {
		o := waiting.StableObserved
		elapsed := now.Sub(since)
		if elapsed >= timeout {
			plan.Failed = true
			plan.Message = fmt.Sprintf("could not roll back: stable version %s not Ready within %s: %d/%d Ready",
				o.Version, formatDuration(timeout), o.ReadyReplicas, waiting.StableReplicas)
			return plan
		}
		plan.Message = fmt.Sprintf("rolling back: waiting for stable version %s: %d/%d Ready", o.Version, o.ReadyReplicas, waiting.StableReplicas)
		plan.RequeueAfter = timeout - elapsed
		return plan
	}
	for _, v := range views {
		if v.New != nil {
			plan.RemoveNew = true
			plan.Message = "rolling back: removing the new versions"
			return plan
		}
	}
	plan.Done = true
	return plan
}
