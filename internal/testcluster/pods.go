package testcluster

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ReadyPodsByImageTag counts the Ready pods that are not being deleted by the tag of their first
// container's image: what a test of a rollout waits for ("v1": 3, "v2": 1).
func ReadyPodsByImageTag(pods []corev1.Pod) map[string]int {
	counts := map[string]int{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || len(p.Spec.Containers) == 0 {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				image := p.Spec.Containers[0].Image
				counts[image[strings.LastIndex(image, ":")+1:]]++
			}
		}
	}
	return counts
}
