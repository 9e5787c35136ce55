package executor

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// An HPA that scales a workload would fight the executor over replicas while a Rollout moves pods
// between versions. The executor freezes it instead, as Armory did: at the start the HPA's object
// is kept (as JSON in HPAAnnotation of the new version) and deleted; the Rollout's replica count is
// the HPA's latest decision; at the end the HPA comes back, scaling the version that then runs (the
// new one after success, the stable one after a rollback).

// ScalesWorkload reports whether an HPA scales the workload: the manifest's apps/v1 Deployment
// name, or the stable version stable.
func ScalesWorkload(hpa *autoscalingv2.HorizontalPodAutoscaler, name string, stable ObjectRef) bool {
	ref := hpa.Spec.ScaleTargetRef
	if !strings.HasPrefix(ref.APIVersion, "apps/") {
		return false
	}
	return (ref.Kind == KindDeployment && ref.Name == name) || (!stable.IsZero() && ref.Kind == stable.Kind && ref.Name == stable.Name)
}

// FindHPA returns the first HPA, by name, that scales the workload, or nil.
func FindHPA(hpas []autoscalingv2.HorizontalPodAutoscaler, name string, stable ObjectRef) *autoscalingv2.HorizontalPodAutoscaler {
	var found []*autoscalingv2.HorizontalPodAutoscaler
	for i := range hpas {
		if hpas[i].DeletionTimestamp.IsZero() && ScalesWorkload(&hpas[i], name, stable) {
			found = append(found, &hpas[i])
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b *autoscalingv2.HorizontalPodAutoscaler) int { return strings.Compare(a.Name, b.Name) })
	return found[0]
}

// FreezeHPA returns the JSON kept for an HPA: its apiVersion, kind, name, labels, annotations and
// spec, enough to create it again.
func FreezeHPA(hpa *autoscalingv2.HorizontalPodAutoscaler) (string, error) {
	kept := map[string]any{
		"apiVersion": "autoscaling/v2",
		"kind":       "HorizontalPodAutoscaler",
		"metadata": map[string]any{
			"name":        hpa.Name,
			"labels":      hpa.Labels,
			"annotations": withoutLastApplied(hpa.Annotations),
		},
		"spec": hpa.Spec,
	}
	body, err := json.Marshal(kept)
	if err != nil {
		return "", fmt.Errorf("encoding HPA %s: %w", hpa.Name, err)
	}
	return string(body), nil
}

func withoutLastApplied(a map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		if k != "kubectl.kubernetes.io/last-applied-configuration" {
			out[k] = v
		}
	}
	return out
}

// ThawHPA returns the object to apply to bring a frozen HPA back in namespace, scaling target; a
// zero target keeps the HPA's own.
func ThawHPA(frozen, namespace string, target ObjectRef) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(frozen)); err != nil {
		return nil, fmt.Errorf("decoding a frozen HPA: %w", err)
	}
	return RetargetHPA(u, namespace, target)
}

// RetargetHPA returns a copy of an HPA (autoscaling v1 or v2) in namespace that scales target; a
// zero target keeps the HPA's own.
func RetargetHPA(hpa *unstructured.Unstructured, namespace string, target ObjectRef) (*unstructured.Unstructured, error) {
	u := hpa.DeepCopy()
	u.SetNamespace(namespace)
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(u.Object, "status")
	if !target.IsZero() {
		ref := map[string]any{"apiVersion": "apps/v1", "kind": target.Kind, "name": target.Name}
		if err := unstructured.SetNestedMap(u.Object, ref, "spec", "scaleTargetRef"); err != nil {
			return nil, fmt.Errorf("retargeting HPA %s: %w", u.GetName(), err)
		}
	}
	return u, nil
}

// HPABounds returns the replica bounds of an HPA (autoscaling v1 or v2 as unstructured, or typed
// via FreezeHPA's JSON): minReplicas (default 1) and maxReplicas.
func HPABounds(hpa *unstructured.Unstructured) (lo, hi int32) {
	lo = 1
	if v, ok, _ := unstructured.NestedInt64(hpa.Object, "spec", "minReplicas"); ok {
		lo = int32(v)
	}
	hi = lo
	if v, ok, _ := unstructured.NestedInt64(hpa.Object, "spec", "maxReplicas"); ok {
		hi = max(int32(v), lo)
	}
	return lo, hi
}

// TypedHPABounds is HPABounds of a typed HPA.
func TypedHPABounds(hpa *autoscalingv2.HorizontalPodAutoscaler) (lo, hi int32) {
	lo = ptr.Deref(hpa.Spec.MinReplicas, 1)
	return lo, max(hpa.Spec.MaxReplicas, lo)
}

// FullReplicas returns the replica count the weights of a Rollout split for one workload. Without
// an HPA it is the manifest's replicas. With one (in the cluster or in the manifests) the HPA owns
// the count: the stable version's current replicas (the HPA's latest decision), or the manifest's
// when nothing runs yet, kept within the HPA's bounds.
func FullReplicas(manifest int32, stableReplicas int32, hasStable, hasHPA bool, lo, hi int32) int32 {
	if !hasHPA {
		return manifest
	}
	n := manifest
	if hasStable {
		n = stableReplicas
	}
	return min(max(n, lo), hi)
}
