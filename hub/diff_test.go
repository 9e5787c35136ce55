package hub

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// refs indexes refs by uid.
func refs(list ...rolloutRef) map[types.UID]rolloutRef {
	m := make(map[types.UID]rolloutRef, len(list))
	for _, r := range list {
		m[r.UID] = r
	}
	return m
}

// ref is a ref in namespace ns.
func ref(uid, name string, generation int64) rolloutRef {
	return rolloutRef{UID: types.UID(uid), Namespace: "ns", Name: name, Generation: generation}
}

func TestDiffRollouts(t *testing.T) {
	tests := []struct {
		name        string
		held, cloud map[types.UID]rolloutRef
		want        mirrorPlan
	}{
		{name: "nothing anywhere"},
		{name: "fresh agent gets everything", cloud: refs(ref("b", "b", 1), ref("a", "a", 3)),
			want: mirrorPlan{Applies: []rolloutRef{ref("a", "a", 3), ref("b", "b", 1)}}},
		{name: "up to date agent gets nothing", held: refs(ref("a", "a", 3)), cloud: refs(ref("a", "a", 3))},
		{name: "stale generation is applied", held: refs(ref("a", "a", 2)), cloud: refs(ref("a", "a", 3)),
			want: mirrorPlan{Applies: []rolloutRef{ref("a", "a", 3)}}},
		{name: "newer generation on the agent is left alone", held: refs(ref("a", "a", 4)), cloud: refs(ref("a", "a", 3))},
		{name: "extra on the agent is deleted as the agent named it", held: refs(ref("x", "gone", 7)),
			want: mirrorPlan{Deletes: []rolloutRef{ref("x", "gone", 7)}}},
		{name: "recreated under the same name: old uid deleted, new uid applied",
			held: refs(ref("old", "web", 5)), cloud: refs(ref("new", "web", 1)),
			want: mirrorPlan{Deletes: []rolloutRef{ref("old", "web", 5)}, Applies: []rolloutRef{ref("new", "web", 1)}}},
		{name: "mixed", held: refs(ref("a", "a", 1), ref("b", "b", 1), ref("d", "d", 1)),
			cloud: refs(ref("a", "a", 2), ref("b", "b", 1), ref("c", "c", 1)),
			want:  mirrorPlan{Deletes: []rolloutRef{ref("d", "d", 1)}, Applies: []rolloutRef{ref("a", "a", 2), ref("c", "c", 1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffRollouts(tt.held, tt.cloud)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diffRollouts() = %+v, want %+v", got, tt.want)
			}
			if got.empty() != (len(tt.want.Applies) == 0 && len(tt.want.Deletes) == 0) {
				t.Errorf("empty() = %v", got.empty())
			}
		})
	}
}

func TestHeldRollouts(t *testing.T) {
	got := heldRollouts([]*tunnelv1.RolloutRef{
		{Uid: "a", Namespace: "ns", Name: "a", Generation: 1},
		{Uid: "a", Namespace: "ns", Name: "a", Generation: 3},
		{Uid: "a", Namespace: "ns", Name: "a", Generation: 2},
		{Uid: "", Name: "no-uid", Generation: 1},
		{Uid: "b", Namespace: "other", Name: "b", Generation: 1},
	})
	want := map[types.UID]rolloutRef{
		"a": ref("a", "a", 3),
		"b": {UID: "b", Namespace: "other", Name: "b", Generation: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("heldRollouts() = %+v, want %+v", got, want)
	}
	if p := ref("a", "a", 3).toProto(); refFromProto(p) != ref("a", "a", 3) {
		t.Errorf("ref round trip = %+v", refFromProto(p))
	}
}

func TestUnrecordedApplies(t *testing.T) {
	cloud := func(uid string, generation, applied int64) rolloutv1alpha1.Rollout {
		return rolloutv1alpha1.Rollout{
			ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Namespace: "ns", Name: uid, Generation: generation},
			Status:     rolloutv1alpha1.RolloutStatus{AppliedGeneration: applied},
		}
	}
	tests := []struct {
		name  string
		held  map[types.UID]rolloutRef
		cloud []rolloutv1alpha1.Rollout
		want  []rolloutRef
	}{
		{name: "nothing held", cloud: []rolloutv1alpha1.Rollout{cloud("a", 2, 0)}},
		{name: "held and recorded", held: refs(ref("a", "a", 2)), cloud: []rolloutv1alpha1.Rollout{cloud("a", 2, 2)}},
		{name: "held, not recorded", held: refs(ref("a", "a", 2)), cloud: []rolloutv1alpha1.Rollout{cloud("a", 2, 1)},
			want: []rolloutRef{ref("a", "a", 2)}},
		{name: "held at an older generation", held: refs(ref("a", "a", 1)), cloud: []rolloutv1alpha1.Rollout{cloud("a", 3, 0)},
			want: []rolloutRef{ref("a", "a", 1)}},
		{name: "held at a newer generation than the cloud's", held: refs(ref("a", "a", 5)), cloud: []rolloutv1alpha1.Rollout{cloud("a", 3, 0)}},
		{name: "held but gone from the cloud", held: refs(ref("x", "x", 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unrecordedApplies(tt.held, tt.cloud); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("unrecordedApplies() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
