package rna

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

func podSpec(images ...string) corev1.PodTemplateSpec {
	var containers []corev1.Container
	for _, image := range images {
		containers = append(containers, corev1.Container{Image: image})
	}
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Image: "init:v1"}}, Containers: containers,
	}}
}

func meta(namespace, name string, generation int64) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Generation: generation}
}

func TestBuildInventory(t *testing.T) {
	owned := appsv1.ReplicaSet{ObjectMeta: meta("web", "web-abc", 1), Spec: appsv1.ReplicaSetSpec{Template: podSpec("web:v2")}}
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}
	objects := clusterObjects{
		namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, {ObjectMeta: metav1.ObjectMeta{Name: "default"}}},
		deployments: []appsv1.Deployment{
			{ObjectMeta: meta("web", "web", 3), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Template: podSpec("web:v2", "proxy:v1", "web:v2")},
				Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3}},
			{ObjectMeta: meta("web", "rolling", 2), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: podSpec("web:v3")},
				Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 2}},
			{ObjectMeta: meta("default", "stale", 5), Spec: appsv1.DeploymentSpec{Template: podSpec("a:v1")},
				Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1}},
		},
		statefulSets: []appsv1.StatefulSet{
			{ObjectMeta: meta("web", "db", 1), Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), Template: podSpec("postgres:17")},
				Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 1, UpdatedReplicas: 2}},
		},
		daemonSets: []appsv1.DaemonSet{
			{ObjectMeta: meta("web", "agent", 1), Spec: appsv1.DaemonSetSpec{Template: podSpec("agent:v1")},
				Status: appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 4, NumberReady: 4, UpdatedNumberScheduled: 4}},
		},
		replicaSets: []appsv1.ReplicaSet{
			owned,
			{ObjectMeta: meta("web", "web-canary", 1), Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1), Template: podSpec("web:v2")},
				Status: appsv1.ReplicaSetStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1}},
		},
	}
	now := time.Unix(1_800_000_000, 0)
	got := buildInventory(objects, now)
	want := &tunnelv1.Inventory{
		ObservedAtUnixNano: now.UnixNano(),
		Namespaces:         []string{"default", "web"},
		Workloads: []*tunnelv1.Workload{
			{Kind: "DaemonSet", Namespace: "web", Name: "agent", Replicas: 4, ReadyReplicas: 4, UpdatedReplicas: 4, Images: []string{"agent:v1"}, Ready: true},
			{Kind: "Deployment", Namespace: "default", Name: "stale", Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1, Images: []string{"a:v1"}, Ready: false},
			{Kind: "Deployment", Namespace: "web", Name: "rolling", Replicas: 2, ReadyReplicas: 3, UpdatedReplicas: 2, Images: []string{"web:v3"}, Ready: false},
			{Kind: "Deployment", Namespace: "web", Name: "web", Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3, Images: []string{"web:v2", "proxy:v1"}, Ready: true},
			{Kind: "ReplicaSet", Namespace: "web", Name: "web-canary", Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1, Images: []string{"web:v2"}, Ready: true},
			{Kind: "StatefulSet", Namespace: "web", Name: "db", Replicas: 2, ReadyReplicas: 1, UpdatedReplicas: 2, Images: []string{"postgres:17"}, Ready: false},
		},
	}
	if len(got.Workloads) != len(want.Workloads) {
		t.Fatalf("workloads = %v\nwant %v", got.Workloads, want.Workloads)
	}
	for i := range want.Workloads {
		g, w := got.Workloads[i], want.Workloads[i]
		if g.Kind != w.Kind || g.Namespace != w.Namespace || g.Name != w.Name || g.Replicas != w.Replicas || g.ReadyReplicas != w.ReadyReplicas ||
			g.UpdatedReplicas != w.UpdatedReplicas || g.Ready != w.Ready || !reflect.DeepEqual(g.Images, w.Images) {
			t.Errorf("workload %d = %v\nwant %v", i, g, w)
		}
	}
	if got.ObservedAtUnixNano != want.ObservedAtUnixNano || !reflect.DeepEqual(got.Namespaces, want.Namespaces) {
		t.Errorf("inventory observed at %d namespaces %v", got.ObservedAtUnixNano, got.Namespaces)
	}
}

func TestBuildInventoryOfAnEmptyCluster(t *testing.T) {
	got := buildInventory(clusterObjects{}, time.Unix(1, 0))
	if len(got.Namespaces) != 0 || len(got.Workloads) != 0 || got.ObservedAtUnixNano != 1e9 {
		t.Errorf("inventory = %v", got)
	}
}
