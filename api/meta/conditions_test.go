package meta_test

import (
	"testing"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
)

// TestMarkersFollowKstatus checks that every marker leaves conditions that kstatus reads as the
// state they stand for, and that Reconciling and Stalled never appear together.
func TestMarkersFollowKstatus(t *testing.T) {
	tests := []struct {
		name        string
		mark        func(meta.ObjectWithConditions)
		observed    int64
		wantStatus  status.Status
		wantReady   metav1.ConditionStatus
		wantPresent []string
		wantAbsent  []string
	}{
		{
			name:        "reconciling is in progress",
			mark:        func(o meta.ObjectWithConditions) { meta.MarkReconciling(o, meta.ProgressingReason, "planning") },
			observed:    3,
			wantStatus:  status.InProgressStatus,
			wantReady:   metav1.ConditionUnknown,
			wantPresent: []string{meta.ReconcilingCondition},
			wantAbsent:  []string{meta.StalledCondition},
		},
		{
			name:       "ready is current",
			mark:       func(o meta.ObjectWithConditions) { meta.MarkReady(o, meta.SucceededReason, "done") },
			observed:   3,
			wantStatus: status.CurrentStatus,
			wantReady:  metav1.ConditionTrue,
			wantAbsent: []string{meta.ReconcilingCondition, meta.StalledCondition},
		},
		{
			name: "stalled is failed",
			mark: func(o meta.ObjectWithConditions) {
				meta.MarkStalled(o, meta.InvalidSpecReason, "spec.targets.prod.strategy: unknown")
			},
			observed:    3,
			wantStatus:  status.FailedStatus,
			wantReady:   metav1.ConditionFalse,
			wantPresent: []string{meta.StalledCondition},
			wantAbsent:  []string{meta.ReconcilingCondition},
		},
		{
			name:        "a retried failure is in progress",
			mark:        func(o meta.ObjectWithConditions) { meta.MarkNotReady(o, "ApplyFailed", "conflict") },
			observed:    3,
			wantStatus:  status.InProgressStatus,
			wantReady:   metav1.ConditionFalse,
			wantPresent: []string{meta.ReconcilingCondition},
			wantAbsent:  []string{meta.StalledCondition},
		},
		{
			name:       "ready for an older generation is still in progress",
			mark:       func(o meta.ObjectWithConditions) { meta.MarkReady(o, meta.SucceededReason, "done") },
			observed:   2,
			wantStatus: status.InProgressStatus,
			wantReady:  metav1.ConditionTrue,
		},
		{
			name: "stalled after reconciling drops reconciling",
			mark: func(o meta.ObjectWithConditions) {
				meta.MarkReconciling(o, meta.ProgressingReason, "working")
				meta.MarkStalled(o, meta.InvalidSpecReason, "bad")
			},
			observed:    3,
			wantStatus:  status.FailedStatus,
			wantReady:   metav1.ConditionFalse,
			wantPresent: []string{meta.StalledCondition},
			wantAbsent:  []string{meta.ReconcilingCondition},
		},
		{
			name: "ready after stalled drops stalled",
			mark: func(o meta.ObjectWithConditions) {
				meta.MarkStalled(o, meta.InvalidSpecReason, "bad")
				meta.MarkReady(o, meta.SucceededReason, "fixed")
			},
			observed:   3,
			wantStatus: status.CurrentStatus,
			wantReady:  metav1.ConditionTrue,
			wantAbsent: []string{meta.ReconcilingCondition, meta.StalledCondition},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := &deployv1alpha1.Deployment{
				TypeMeta:   metav1.TypeMeta{APIVersion: deployv1alpha1.GroupVersion.String(), Kind: "Deployment"},
				ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "n", Generation: 3},
			}
			tt.mark(d)
			d.Status.ObservedGeneration = tt.observed

			ready := apimeta.FindStatusCondition(d.Status.Conditions, meta.ReadyCondition)
			g.Expect(ready).NotTo(BeNil(), "Ready is always present")
			g.Expect(ready.Status).To(Equal(tt.wantReady))
			g.Expect(ready.ObservedGeneration).To(Equal(int64(3)))
			g.Expect(ready.Reason).NotTo(BeEmpty())
			for _, c := range tt.wantPresent {
				g.Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, c)).To(BeTrue(), c)
			}
			for _, c := range tt.wantAbsent {
				g.Expect(apimeta.FindStatusCondition(d.Status.Conditions, c)).To(BeNil(), c)
			}

			obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
			g.Expect(err).NotTo(HaveOccurred())
			res, err := status.Compute(&unstructured.Unstructured{Object: obj})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Status).To(Equal(tt.wantStatus), res.Message)
		})
	}
}
