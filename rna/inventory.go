package rna

import (
	"cmp"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// This file holds the pure construction of the Inventory from listed objects; listing is in
// cluster.go.

// RequestKindInventory is the Request kind answered with the cluster's inventory: a Response whose
// body is the Inventory message as protobuf JSON (protojson).
const RequestKindInventory = "inventory"

// Workload kinds of the inventory.
const (
	kindDeployment  = "Deployment"
	kindStatefulSet = "StatefulSet"
	kindDaemonSet   = "DaemonSet"
	kindReplicaSet  = "ReplicaSet"
)

// clusterObjects are the objects an inventory is built from.
type clusterObjects struct {
	namespaces   []corev1.Namespace
	deployments  []appsv1.Deployment
	statefulSets []appsv1.StatefulSet
	daemonSets   []appsv1.DaemonSet
	replicaSets  []appsv1.ReplicaSet
}

// buildInventory returns the Inventory of objects observed at now: namespace names and workloads,
// both sorted. ReplicaSets owned by a Deployment are left out (the Deployment stands for them);
// standalone ones, such as those the Rollout executor manages, are listed.
func buildInventory(objects clusterObjects, now time.Time) *tunnelv1.Inventory {
	inv := &tunnelv1.Inventory{ObservedAtUnixNano: now.UnixNano()}
	for _, ns := range objects.namespaces {
		inv.Namespaces = append(inv.Namespaces, ns.Name)
	}
	slices.Sort(inv.Namespaces)
	for i := range objects.deployments {
		inv.Workloads = append(inv.Workloads, deploymentWorkload(&objects.deployments[i]))
	}
	for i := range objects.statefulSets {
		inv.Workloads = append(inv.Workloads, statefulSetWorkload(&objects.statefulSets[i]))
	}
	for i := range objects.daemonSets {
		inv.Workloads = append(inv.Workloads, daemonSetWorkload(&objects.daemonSets[i]))
	}
	for i := range objects.replicaSets {
		if ownedByDeployment(&objects.replicaSets[i]) {
			continue
		}
		inv.Workloads = append(inv.Workloads, replicaSetWorkload(&objects.replicaSets[i]))
	}
	slices.SortFunc(inv.Workloads, func(a, b *tunnelv1.Workload) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return inv
}

// wantedReplicas is spec.replicas, which defaults to 1.
func wantedReplicas(replicas *int32) int32 {
	if replicas == nil {
		return 1
	}
	return *replicas
}

func deploymentWorkload(d *appsv1.Deployment) *tunnelv1.Workload {
	wanted := wantedReplicas(d.Spec.Replicas)
	s := d.Status
	return &tunnelv1.Workload{
		Kind: kindDeployment, Namespace: d.Namespace, Name: d.Name,
		Replicas: wanted, ReadyReplicas: s.ReadyReplicas, UpdatedReplicas: s.UpdatedReplicas,
		Images: images(&d.Spec.Template.Spec),
		// Old pods still running (status.replicas above wanted) mean the rollout is not over.
		Ready: s.ObservedGeneration >= d.Generation && s.UpdatedReplicas >= wanted && s.ReadyReplicas >= wanted && s.Replicas <= wanted,
	}
}

func statefulSetWorkload(s *appsv1.StatefulSet) *tunnelv1.Workload {
	wanted := wantedReplicas(s.Spec.Replicas)
	st := s.Status
	return &tunnelv1.Workload{
		Kind: kindStatefulSet, Namespace: s.Namespace, Name: s.Name,
		Replicas: wanted, ReadyReplicas: st.ReadyReplicas, UpdatedReplicas: st.UpdatedReplicas,
		Images: images(&s.Spec.Template.Spec),
		Ready:  st.ObservedGeneration >= s.Generation && st.UpdatedReplicas >= wanted && st.ReadyReplicas >= wanted,
	}
}

func daemonSetWorkload(d *appsv1.DaemonSet) *tunnelv1.Workload {
	s := d.Status
	return &tunnelv1.Workload{
		Kind: kindDaemonSet, Namespace: d.Namespace, Name: d.Name,
		Replicas: s.DesiredNumberScheduled, ReadyReplicas: s.NumberReady, UpdatedReplicas: s.UpdatedNumberScheduled,
		Images: images(&d.Spec.Template.Spec),
		Ready: s.ObservedGeneration >= d.Generation && s.UpdatedNumberScheduled >= s.DesiredNumberScheduled &&
			s.NumberReady >= s.DesiredNumberScheduled,
	}
}

// replicaSetWorkload counts every pod of a standalone ReplicaSet as updated: a ReplicaSet's pods
// are its template's (a ReplicaSet does not replace pods when its template changes, which is why
// the executor creates a new ReplicaSet per version).
func replicaSetWorkload(r *appsv1.ReplicaSet) *tunnelv1.Workload {
	wanted := wantedReplicas(r.Spec.Replicas)
	s := r.Status
	return &tunnelv1.Workload{
		Kind: kindReplicaSet, Namespace: r.Namespace, Name: r.Name,
		Replicas: wanted, ReadyReplicas: s.ReadyReplicas, UpdatedReplicas: s.Replicas,
		Images: images(&r.Spec.Template.Spec),
		Ready:  s.ObservedGeneration >= r.Generation && s.Replicas >= wanted && s.ReadyReplicas >= wanted,
	}
}

// images returns the images of a pod's containers, without repeats, in order.
func images(pod *corev1.PodSpec) []string {
	var out []string
	for _, c := range pod.Containers {
		if c.Image != "" && !slices.Contains(out, c.Image) {
			out = append(out, c.Image)
		}
	}
	return out
}

func ownedByDeployment(o metav1.Object) bool {
	for _, owner := range o.GetOwnerReferences() {
		if owner.Kind == kindDeployment && owner.APIVersion == appsv1.SchemeGroupVersion.String() {
			return true
		}
	}
	return false
}
