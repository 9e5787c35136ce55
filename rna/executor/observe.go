package executor

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// workloadObjects are the objects of one workload that a pass reads and writes.
type workloadObjects struct {
	// newRS is the new version's ReplicaSet, or nil.
	newRS *appsv1.ReplicaSet
	// stable is the stable version's workload (a ReplicaSet or a Deployment), or nil.
	stable client.Object
	// versions are the managed versions of the workload (ReplicaSets not owned by a controller).
	versions []appsv1.ReplicaSet
	// deployment is the apps/v1 Deployment of the manifest's name, or nil.
	deployment *appsv1.Deployment
	// hpa is an HPA that scales the workload, to freeze when the new version is created.
	hpa *autoscalingv2.HorizontalPodAutoscaler
}

// observe reads every workload of the execution.
func (x *execution) observe(ctx context.Context) ([]WorkloadView, []*workloadObjects, error) {
	views := make([]WorkloadView, len(x.manifests.Workloads))
	objs := make([]*workloadObjects, len(x.manifests.Workloads))
	for i, w := range x.manifests.Workloads {
		v, o, err := x.observeWorkload(ctx, w, x.versions[i])
		if err != nil {
			return nil, nil, err
		}
		views[i], objs[i] = v, o
	}
	return views, objs, nil
}

// observeWorkload reads one workload: its new version (uncached), its other versions, the
// Deployment of its name, and picks (before the new version exists) or reads back (after) its stable version.
func (x *execution) observeWorkload(ctx context.Context, w Workload, version string) (WorkloadView, *workloadObjects, error) {
	view := WorkloadView{Name: w.Name, Version: version}
	objs := &workloadObjects{}
	var list appsv1.ReplicaSetList
	if err := x.r.Client.List(ctx, &list, client.InNamespace(x.namespace), client.MatchingLabels{WorkloadLabel: labelValue(w.Name)}); err != nil {
		return view, nil, fmt.Errorf("listing the versions of %s: %w", w.Name, err)
	}
	for i := range list.Items {
		if rs := &list.Items[i]; rs.Name != version && isManagedVersion(rs, w.Name) {
			objs.versions = append(objs.versions, *rs)
		}
	}
	// The new version holds the execution's state: read it uncached, as the last pass left it.
	newRS := &appsv1.ReplicaSet{}
	switch err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: version}, newRS); {
	case err == nil:
		objs.newRS = newRS
	case !apierrors.IsNotFound(err):
		return view, nil, fmt.Errorf("reading version %s: %w", version, err)
	}
	d := &appsv1.Deployment{}
	switch err := x.r.Client.Get(ctx, types.NamespacedName{Namespace: x.namespace, Name: w.Name}, d); {
	case err == nil:
		objs.deployment = d
	case !apierrors.IsNotFound(err):
		return view, nil, fmt.Errorf("reading Deployment %s: %w", w.Name, err)
	}

	if objs.newRS != nil {
		state, err := ParseWorkloadState(objs.newRS.Annotations)
		if err != nil {
			return view, nil, fmt.Errorf("reading the state of version %s: %w", version, err)
		}
		view.State = &state
		view.New = ReplicaSetObservation(objs.newRS)
		view.Stable, view.StableReplicas, view.FullReplicas = state.Stable, state.StableReplicas, state.FullReplicas
		objs.stable = objs.find(state.Stable)
		if state.HPA != "" && state.Role == roleCanary {
			if objs.hpa, err = x.findHPA(ctx, w.Name, state.Stable); err != nil {
				return view, nil, err
			}
		}
	} else {
		var candidates []Candidate
		for i := range objs.versions {
			rs := &objs.versions[i]
			if rs.Annotations[RoleAnnotation] != roleCanary {
				candidates = append(candidates, Candidate{Ref: ObjectRef{Kind: KindReplicaSet, Name: rs.Name}, Replicas: ReplicaSetObservation(rs).SpecReplicas, Created: rs.CreationTimestamp})
			}
		}
		if d := objs.deployment; d != nil && d.DeletionTimestamp.IsZero() {
			candidates = append(candidates, Candidate{Ref: ObjectRef{Kind: KindDeployment, Name: d.Name}, Replicas: DeploymentObservation(d).SpecReplicas, Created: d.CreationTimestamp})
		}
		stable, hasStable := ChooseStable(candidates)
		view.Stable, view.StableReplicas = stable.Ref, stable.Replicas
		objs.stable = objs.find(stable.Ref)

		var err error
		if objs.hpa, err = x.findHPA(ctx, w.Name, stable.Ref); err != nil {
			return view, nil, err
		}
		var lo, hi int32
		hasHPA := true
		switch {
		case w.HPA != nil:
			lo, hi = HPABounds(w.HPA)
		case objs.hpa != nil:
			lo, hi = TypedHPABounds(objs.hpa)
		default:
			hasHPA = false
		}
		view.FullReplicas = FullReplicas(w.Replicas(), stable.Replicas, hasStable, hasHPA, lo, hi)
	}
	switch s := objs.stable.(type) {
	case *appsv1.ReplicaSet:
		view.StableObserved = ReplicaSetObservation(s)
	case *appsv1.Deployment:
		view.StableObserved = DeploymentObservation(s)
	}
	return view, objs, nil
}

// findHPA lists the namespace's HorizontalPodAutoscalers and returns the one that scales the
// workload name through stable, or nil.
func (x *execution) findHPA(ctx context.Context, name string, stable ObjectRef) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	if err := x.r.Client.List(ctx, &hpas, client.InNamespace(x.namespace)); err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
	}
	return FindHPA(hpas.Items, name, stable), nil
}

// find returns the object ref names among the workload's versions and Deployment, or nil (also
// when it is being deleted).
func (o *workloadObjects) find(ref ObjectRef) client.Object {
	switch ref.Kind {
	case KindReplicaSet:
		for i := range o.versions {
			if o.versions[i].Name == ref.Name {
				return &o.versions[i]
			}
		}
	case KindDeployment:
		if o.deployment != nil && o.deployment.Name == ref.Name && o.deployment.DeletionTimestamp.IsZero() {
			return o.deployment
		}
	}
	return nil
}
