package rna

import (
	"fmt"
	"testing"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

func TestApplyLaneKeepsARolloutsMessagesTogether(t *testing.T) {
	apply := func(uid string) *tunnelv1.Envelope {
		return &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_ApplyRollout{ApplyRollout: &tunnelv1.ApplyRollout{Ref: &tunnelv1.RolloutRef{Uid: uid}}}}
	}
	remove := func(uid string) *tunnelv1.Envelope {
		return &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_DeleteRollout{DeleteRollout: &tunnelv1.DeleteRollout{Ref: &tunnelv1.RolloutRef{Uid: uid}}}}
	}
	used := map[int]bool{}
	for i := range 64 {
		uid := fmt.Sprintf("5f0c8e1a-%04d-4c1e-9a51-7d1f3a0b2c%02d", i, i)
		lane := applyLane(apply(uid))
		if lane < 0 || lane >= applyLanes {
			t.Fatalf("lane %d of %s is out of [0, %d)", lane, uid, applyLanes)
		}
		if again := applyLane(apply(uid)); again != lane {
			t.Errorf("two applies of %s went to lanes %d and %d", uid, lane, again)
		}
		if del := applyLane(remove(uid)); del != lane {
			t.Errorf("the apply of %s went to lane %d, its delete to %d: they could be handled out of order", uid, lane, del)
		}
		used[lane] = true
	}
	if len(used) != applyLanes {
		t.Errorf("64 Rollouts used lanes %v, want all %d", used, applyLanes)
	}
}
