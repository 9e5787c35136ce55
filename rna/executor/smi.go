package executor

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// TrafficSplitKind is the SMI TrafficSplit. Its version is the one the cluster prefers: v1alpha1
// to v1alpha4 all write backends as {service, weight}.
var TrafficSplitKind = schema.GroupKind{Group: "split.smi-spec.io", Kind: "TrafficSplit"}

// TrafficSplitFor is the TrafficSplit of an SMI block at weight: the root Service is the apex and
// the backend of the stable version (100 − weight), the canary Service the backend of the new one
// (weight).
func TrafficSplitFor(apiVersion, namespace string, s deployv1alpha1.SMITrafficManagement, weight int32) *unstructured.Unstructured {
	weight = min(max(weight, 0), 100)
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion,
		"kind":       TrafficSplitKind.Kind,
		"metadata":   map[string]any{"name": TrafficSplitName(s), "namespace": namespace},
		"spec": map[string]any{
			"service": s.RootServiceName,
			"backends": []any{
				map[string]any{"service": s.RootServiceName, "weight": int64(100 - weight)},
				map[string]any{"service": CanaryServiceName(s), "weight": int64(weight)},
			},
		},
	}}
	return u
}

// TrafficSplitWeights returns the backends' weights of a TrafficSplit, by Service.
func TrafficSplitWeights(u *unstructured.Unstructured) map[string]int64 {
	backends, _, _ := unstructured.NestedSlice(u.Object, "spec", "backends")
	out := map[string]int64{}
	for _, b := range backends {
		m, ok := b.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["service"].(string)
		switch w := m["weight"].(type) {
		case int64:
			out[name] = w
		case float64:
			out[name] = int64(w)
		}
	}
	return out
}

// CanaryServiceFor is the canary Service of an SMI block, made when it does not exist: the root
// Service's ports, selecting the new version.
func CanaryServiceFor(root *corev1.Service, name, version string) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: root.Namespace},
		Spec:       corev1.ServiceSpec{Selector: PinnedSelector(root.Spec.Selector, version)},
	}
	for _, p := range root.Spec.Ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.Port, TargetPort: p.TargetPort, AppProtocol: p.AppProtocol})
	}
	return svc
}
