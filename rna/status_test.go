package rna

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestCloudObservedGeneration(t *testing.T) {
	for _, tc := range []struct {
		name                          string
		observed, target, cloud, want int64
	}{
		{"observed the current spec", 3, 3, 9, 9},
		{"observed past the current spec", 4, 3, 9, 9},
		{"observed an older spec", 2, 3, 9, 8},
		{"observed an older spec of the first cloud generation", 2, 3, 0, 0},
		{"nothing observed yet (CRD default)", -1, 3, 9, -1},
		{"nothing observed (zero)", 0, 1, 9, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cloudObservedGeneration(tc.observed, tc.target, tc.cloud); got != tc.want {
				t.Errorf("cloudObservedGeneration(%d, %d, %d) = %d, want %d", tc.observed, tc.target, tc.cloud, got, tc.want)
			}
		})
	}
}

func TestStatusReportChanged(t *testing.T) {
	base := mirrored("team", "web", "uid-1", "4", "t-1")
	base.Generation = 2
	base.Status = rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseProgressing, Weight: 25}
	for _, tc := range []struct {
		name   string
		mutate func(*rolloutv1alpha1.Rollout)
		want   bool
	}{
		{"nothing changed", func(*rolloutv1alpha1.Rollout) {}, false},
		{"only the resourceVersion and labels changed", func(r *rolloutv1alpha1.Rollout) {
			r.ResourceVersion = "99"
			r.Labels["other"] = "x"
		}, false},
		{"status changed", func(r *rolloutv1alpha1.Rollout) { r.Status.Weight = 50 }, true},
		{"a condition was added", func(r *rolloutv1alpha1.Rollout) {
			r.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue}}
		}, true},
		{"a new cloud generation was applied", func(r *rolloutv1alpha1.Rollout) {
			r.Annotations[rolloutv1alpha1.CloudGenerationAnnotation] = "5"
		}, true},
		{"the target generation moved", func(r *rolloutv1alpha1.Rollout) { r.Generation = 3 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			updated := base.DeepCopy()
			tc.mutate(updated)
			if got := statusReportChanged(&base, updated); got != tc.want {
				t.Errorf("statusReportChanged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStatusReport(t *testing.T) {
	r := mirrored("team", "web", "uid-1", "4", "t-1")
	r.Generation = 2
	started := metav1.NewTime(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	r.Status = rolloutv1alpha1.RolloutStatus{
		ObservedGeneration: 2, Phase: rolloutv1alpha1.PhaseProgressing, CurrentStep: 1, Weight: 25, StartedAt: &started,
		Conditions: []metav1.Condition{
			{Type: "Ready", Status: metav1.ConditionFalse, ObservedGeneration: 2, Reason: "Progressing"},
			{Type: "Reconciling", Status: metav1.ConditionTrue, ObservedGeneration: 1, Reason: "Progressing"},
		},
	}
	now := time.Date(2026, 11, 30, 12, 5, 0, 123456000, time.UTC)
	report, err := statusReport(&r, now)
	if err != nil {
		t.Fatal(err)
	}
	if !refsEqual(report.GetRef(), refOf(&r)) || report.GetObservedAtUnixNano() != now.UnixNano() {
		t.Errorf("ref %v observed at %d", report.GetRef(), report.GetObservedAtUnixNano())
	}
	var got rolloutv1alpha1.RolloutStatus
	if err := json.Unmarshal(report.GetStatus(), &got); err != nil {
		t.Fatal(err)
	}
	observedAt := metav1.NewMicroTime(now)
	want := *r.Status.DeepCopy()
	want.ObservedGeneration = 4
	want.Conditions[0].ObservedGeneration = 4
	want.Conditions[1].ObservedGeneration = 3
	want.AppliedGeneration = 4
	want.ObservedAt = &observedAt
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("status =\n%+v\nwant\n%+v", got, want)
	}
	if r.Status.ObservedGeneration != 2 || r.Status.Conditions[0].ObservedGeneration != 2 {
		t.Error("statusReport changed the cached rollout")
	}
}

func TestDueStatuses(t *testing.T) {
	d := newDueStatuses()
	select {
	case <-d.ready():
		t.Fatal("an empty set signals")
	default:
	}
	b := types.NamespacedName{Namespace: "b", Name: "x"}
	a2 := types.NamespacedName{Namespace: "a", Name: "z"}
	a1 := types.NamespacedName{Namespace: "a", Name: "y"}
	for _, k := range []types.NamespacedName{b, a2, b, a1, b} {
		d.mark(k)
	}
	select {
	case <-d.ready():
	default:
		t.Fatal("a marked set does not signal")
	}
	if got, want := d.take(), []types.NamespacedName{a1, a2, b}; !reflect.DeepEqual(got, want) {
		t.Errorf("take = %v, want %v (each once, sorted)", got, want)
	}
	if got := d.take(); len(got) != 0 {
		t.Errorf("take after take = %v, want nothing", got)
	}
}
