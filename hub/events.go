package hub

import (
	"k8s.io/apimachinery/pkg/types"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// agentKey names one agent of one tenant: the tenant namespace (from the agent's token) and the
// agent identifier.
type agentKey struct {
	namespace string
	agent     string
}

// String returns namespace/agent.
func (k agentKey) String() string { return k.namespace + "/" + k.agent }

// rolloutMark asks the session of an agent to look at one Rollout again.
type rolloutMark struct {
	key  agentKey
	uid  types.UID
	name string
}

// marksForChange returns the agents a change of a cloud Rollout concerns; old is nil for an
// addition and updated is nil for a deletion. Only what the agent must act on counts: an update
// that keeps the generation and the agent label (a status write, a metadata-only change) concerns
// nobody. A Rollout whose agent label changed concerns both agents: the old one must delete it,
// the new one apply it.
func marksForChange(old, updated *rolloutv1alpha1.Rollout) []rolloutMark {
	var marks []rolloutMark
	mark := func(r *rolloutv1alpha1.Rollout) {
		if agent := agentOf(r); agent != "" {
			marks = append(marks, rolloutMark{key: agentKey{namespace: r.Namespace, agent: agent}, uid: r.UID, name: r.Name})
		}
	}
	switch {
	case old == nil && updated == nil:
	case old == nil:
		mark(updated)
	case updated == nil:
		mark(old)
	case agentOf(old) != agentOf(updated) || old.UID != updated.UID:
		mark(old)
		mark(updated)
	case old.Generation != updated.Generation:
		mark(updated)
	}
	return marks
}
