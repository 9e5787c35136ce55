package testcluster

import (
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReadyPodsByImageTag(t *testing.T) {
	pod := func(image string, ready, deleting bool) corev1.Pod {
		p := corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
		if deleting {
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		return p
	}
	got := ReadyPodsByImageTag([]corev1.Pod{
		pod("ghcr.io/aurora-cd/web:v1", true, false), pod("ghcr.io/aurora-cd/web:v1", true, false),
		pod("ghcr.io/aurora-cd/web:v2", true, false), pod("ghcr.io/aurora-cd/web:v2", false, false),
		pod("ghcr.io/aurora-cd/web:v1", true, true), {},
	})
	if want := map[string]int{"v1": 2, "v2": 1}; !maps.Equal(got, want) {
		t.Errorf("ReadyPodsByImageTag = %v, want %v", got, want)
	}
}
