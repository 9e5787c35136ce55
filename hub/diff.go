package hub

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// rolloutRef names one Rollout of the cloud cluster at one generation: the wire's RolloutRef as a
// comparable value.
type rolloutRef struct {
	UID        types.UID
	Namespace  string
	Name       string
	Generation int64
}

// toProto returns the wire form of the ref.
func (r rolloutRef) toProto() *tunnelv1.RolloutRef {
	return &tunnelv1.RolloutRef{Uid: string(r.UID), Namespace: r.Namespace, Name: r.Name, Generation: r.Generation}
}

// refFromProto returns the ref of a wire RolloutRef (the zero ref for nil).
func refFromProto(p *tunnelv1.RolloutRef) rolloutRef {
	return rolloutRef{UID: types.UID(p.GetUid()), Namespace: p.GetNamespace(), Name: p.GetName(), Generation: p.GetGeneration()}
}

// heldRollouts indexes the refs an agent reported in Hello by uid. Refs without a uid are dropped:
// they name nothing the Hub could compare. When a uid repeats, the highest generation wins.
func heldRollouts(refs []*tunnelv1.RolloutRef) map[types.UID]rolloutRef {
	held := make(map[types.UID]rolloutRef, len(refs))
	for _, p := range refs {
		ref := refFromProto(p)
		if ref.UID == "" {
			continue
		}
		if prev, ok := held[ref.UID]; ok && prev.Generation >= ref.Generation {
			continue
		}
		held[ref.UID] = ref
	}
	return held
}

// mirrorPlan is what the Hub sends an agent to make what it holds match the cloud.
type mirrorPlan struct {
	// Deletes are the Rollouts the agent holds that no longer exist in the cloud (for this agent),
	// as the agent named them.
	Deletes []rolloutRef
	// Applies are the cloud Rollouts the agent lacks or holds at an older generation.
	Applies []rolloutRef
}

// empty reports whether the plan sends nothing.
func (p mirrorPlan) empty() bool { return len(p.Deletes) == 0 && len(p.Applies) == 0 }

// diffRollouts compares what an agent holds with the cloud Rollouts meant for it, both by uid, and
// returns the applies and deletes that bring the agent up to date:
//
//   - a cloud Rollout the agent lacks, or holds at an older generation, is applied;
//   - a Rollout the agent holds that is not among the cloud's is deleted;
//   - a Rollout the agent holds at the cloud's generation, or a newer one (which only a restored
//     cloud could cause), is left alone.
//
// Deletes come first, so that a Rollout deleted and re-created under the same name (a new uid) is
// removed before its successor arrives. Each list is sorted by namespace, name and uid.
func diffRollouts(held, cloud map[types.UID]rolloutRef) mirrorPlan {
	var plan mirrorPlan
	for uid, want := range cloud {
		if have, ok := held[uid]; !ok || have.Generation < want.Generation {
			plan.Applies = append(plan.Applies, want)
		}
	}
	for uid, have := range held {
		if _, ok := cloud[uid]; !ok {
			plan.Deletes = append(plan.Deletes, have)
		}
	}
	slices.SortFunc(plan.Applies, compareRefs)
	slices.SortFunc(plan.Deletes, compareRefs)
	return plan
}

// compareRefs orders refs by namespace, name and uid.
func compareRefs(a, b rolloutRef) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.UID, b.UID))
}
