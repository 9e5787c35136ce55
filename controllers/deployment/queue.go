package deployment

import (
	"fmt"
	"slices"
	"strings"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// admitVerdict is what the queue decides for a deployment.
type admitVerdict int

const (
	// admitStart lets the deployment run (or keep running).
	admitStart admitVerdict = iota
	// admitQueue makes it wait for the deployment in flight (enqueueOne).
	admitQueue
	// admitReject refuses it: another deployment of the application is in flight (reject).
	admitReject
	// admitReplace refuses a queued deployment that a newer queued one replaced.
	admitReplace
)

// admission is the queue's decision for one deployment.
type admission struct {
	verdict admitVerdict
	// other is the deployment in flight (queue, reject) or the replacing one (replace).
	other string
	// message explains the decision.
	message string
}

// admit applies "one deployment in flight per application per tenant" to d, given the other
// Deployments of its namespace. The deployments of d's application that are not final and not
// being deleted are ordered: those already started first, then by creationTimestamp, then by
// name; one whose spec is invalid and that never started does not count. The first one runs. Any other one is, with ifDeploymentInProgress reject (the default),
// REJECTED; with enqueueOne, QUEUED behind the first, unless a later one in the order also uses
// enqueueOne, which replaces it (the newest queued one wins; the older ends REJECTED with
// replacedBy). The order never puts a newer deployment before one that runs, so the decision
// holds however stale the view of the others' status is.
func admit(d *deployv1alpha1.Deployment, others []deployv1alpha1.Deployment) admission {
	live := []*deployv1alpha1.Deployment{d}
	for i := range others {
		o := &others[i]
		if o.UID == d.UID || o.Name == d.Name || o.Spec.Application != d.Spec.Application ||
			o.Status.State.IsFinal() || !o.DeletionTimestamp.IsZero() {
			continue
		}
		if o.Status.StartedAt == nil && len(Validate(&o.Spec)) > 0 {
			continue // it will fail without ever running; it must not hold the others back
		}
		live = append(live, o)
	}
	slices.SortFunc(live, compareQueueOrder)
	head := live[0]
	if head.Name == d.Name {
		return admission{verdict: admitStart}
	}
	app := d.Spec.Application
	if inProgressStrategy(d) != deployv1alpha1.EnqueueOneInProgress {
		return admission{verdict: admitReject, other: head.Name, message: fmt.Sprintf(
			"deployment %s of application %s is in progress; ifDeploymentInProgress is reject: start again when it has finished, or use enqueueOne",
			head.Name, app)}
	}
	pos := slices.IndexFunc(live, func(x *deployv1alpha1.Deployment) bool { return x.Name == d.Name })
	var newer []string
	for _, x := range live[pos+1:] {
		if x.Status.StartedAt == nil && inProgressStrategy(x) == deployv1alpha1.EnqueueOneInProgress {
			newer = append(newer, x.Name)
		}
	}
	if len(newer) > 0 {
		by := newer[len(newer)-1]
		return admission{verdict: admitReplace, other: by, message: fmt.Sprintf(
			"replaced in the queue of application %s by the newer deployment %s", app, by)}
	}
	return admission{verdict: admitQueue, other: head.Name, message: fmt.Sprintf(
		"queued: waiting for deployment %s of application %s to finish", head.Name, app)}
}

// compareQueueOrder orders deployments: started first, then by creationTimestamp, then by name.
func compareQueueOrder(a, b *deployv1alpha1.Deployment) int {
	as, bs := a.Status.StartedAt != nil, b.Status.StartedAt != nil
	if as != bs {
		if as {
			return -1
		}
		return 1
	}
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// inProgressStrategy returns deploymentConfig.ifDeploymentInProgress.strategy, reject by default.
func inProgressStrategy(d *deployv1alpha1.Deployment) deployv1alpha1.InProgressStrategy {
	if dc := d.Spec.DeploymentConfig; dc != nil && dc.IfDeploymentInProgress != nil && dc.IfDeploymentInProgress.Strategy != "" {
		return dc.IfDeploymentInProgress.Strategy
	}
	return deployv1alpha1.RejectInProgress
}
