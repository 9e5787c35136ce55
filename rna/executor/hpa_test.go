package executor

import (
	"testing"

	. "github.com/onsi/gomega"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func hpaOf(name, kind, target string) autoscalingv2.HorizontalPodAutoscaler {
	return autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team", UID: "u", ResourceVersion: "7", Labels: map[string]string{"l": "v"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}", "a": "b"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: target},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 9,
		},
	}
}

func TestFindHPA(t *testing.T) {
	g := NewWithT(t)
	stable := ObjectRef{Kind: KindReplicaSet, Name: "web-1"}
	hpas := []autoscalingv2.HorizontalPodAutoscaler{hpaOf("z", "Deployment", "web"), hpaOf("other", "Deployment", "api"), hpaOf("b", "ReplicaSet", "web-1")}
	g.Expect(FindHPA(hpas, "web", stable).Name).To(Equal("b"), "the first by name")
	g.Expect(FindHPA(hpas, "web", ObjectRef{}).Name).To(Equal("z"))
	g.Expect(FindHPA(hpas, "db", ObjectRef{})).To(BeNil())
	foreign := hpaOf("x", "Deployment", "web")
	foreign.Spec.ScaleTargetRef.APIVersion = "example.com/v1"
	g.Expect(FindHPA([]autoscalingv2.HorizontalPodAutoscaler{foreign}, "web", ObjectRef{})).To(BeNil())
}

func TestFreezeAndThawHPA(t *testing.T) {
	g := NewWithT(t)
	h := hpaOf("web", "Deployment", "web")
	frozen, err := FreezeHPA(&h)
	g.Expect(err).NotTo(HaveOccurred())

	back, err := ThawHPA(frozen, "team", ObjectRef{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(back.GetName()).To(Equal("web"))
	g.Expect(back.GetNamespace()).To(Equal("team"))
	g.Expect(back.GetUID()).To(BeEmpty())
	g.Expect(back.GetResourceVersion()).To(BeEmpty())
	g.Expect(back.GetAnnotations()).To(Equal(map[string]string{"a": "b"}))
	ref, _, _ := unstructured.NestedStringMap(back.Object, "spec", "scaleTargetRef")
	g.Expect(ref).To(Equal(map[string]string{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}), "the HPA's own target after a rollback")

	moved, err := ThawHPA(frozen, "team", ObjectRef{Kind: KindReplicaSet, Name: "web-2"})
	g.Expect(err).NotTo(HaveOccurred())
	ref, _, _ = unstructured.NestedStringMap(moved.Object, "spec", "scaleTargetRef")
	g.Expect(ref).To(Equal(map[string]string{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-2"}), "the new version after success")
	lo, hi := HPABounds(moved)
	g.Expect([]int32{lo, hi}).To(Equal([]int32{2, 9}))

	_, err = ThawHPA("{", "team", ObjectRef{})
	g.Expect(err).To(HaveOccurred())
}

func TestFullReplicas(t *testing.T) {
	tests := []struct {
		name              string
		manifest, stable  int32
		hasStable, hasHPA bool
		lo, hi, want      int32
	}{
		{"no HPA: the manifest's", 3, 8, true, false, 0, 0, 3},
		{"an HPA: the stable version's current count", 3, 8, true, true, 2, 10, 8},
		{"an HPA, nothing runs yet: the manifest's", 3, 0, false, true, 2, 10, 3},
		{"within the HPA's bounds, below", 1, 0, false, true, 2, 10, 2},
		{"within the HPA's bounds, above", 3, 20, true, true, 2, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(FullReplicas(tt.manifest, tt.stable, tt.hasStable, tt.hasHPA, tt.lo, tt.hi)).To(Equal(tt.want))
		})
	}
}

func TestTypedHPABounds(t *testing.T) {
	g := NewWithT(t)
	h := hpaOf("web", "Deployment", "web")
	lo, hi := TypedHPABounds(&h)
	g.Expect([]int32{lo, hi}).To(Equal([]int32{2, 9}))
	h.Spec.MinReplicas = nil
	lo, _ = TypedHPABounds(&h)
	g.Expect(lo).To(BeEquivalentTo(1))
}
