package hub

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestLeaseLive(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	renewed := func(ago time.Duration) *metav1.MicroTime { m := metav1.NewMicroTime(now.Add(-ago)); return &m }
	tests := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want bool
	}{
		{"renewed within its duration", coordinationv1.LeaseSpec{RenewTime: renewed(2 * time.Second), LeaseDurationSeconds: ptr.To[int32](3)}, true},
		{"renewed exactly a duration ago", coordinationv1.LeaseSpec{RenewTime: renewed(3 * time.Second), LeaseDurationSeconds: ptr.To[int32](3)}, false},
		{"expired", coordinationv1.LeaseSpec{RenewTime: renewed(time.Minute), LeaseDurationSeconds: ptr.To[int32](15)}, false},
		{"never renewed", coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](15)}, false},
		{"no duration", coordinationv1.LeaseSpec{RenewTime: renewed(0)}, false},
	}
	for _, tt := range tests {
		if got := leaseLive(tt.spec, now); got != tt.want {
			t.Errorf("%s: leaseLive = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestClaimAgentLease(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	held := func(replica, session string, transitions int32) *coordinationv1.Lease {
		l := &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(replica), LeaseTransitions: ptr.To(transitions)}}
		l.Annotations = map[string]string{LeaseSessionAnnotation: session}
		return l
	}
	tests := []struct {
		name            string
		lease           *coordinationv1.Lease
		wantChanged     bool
		wantTransitions int32
	}{
		{"a new lease", &coordinationv1.Lease{}, true, 0},
		{"held by this session already", held("hub-a", "s1", 2), false, 2},
		{"a newer session of the same replica", held("hub-a", "s0", 2), true, 2},
		{"taken from another replica", held("hub-b", "s9", 2), true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := claimAgentLease(tt.lease, "hub-a", "s1", 15*time.Second, now)
			if changed != tt.wantChanged {
				t.Fatalf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if got := ptr.Deref(tt.lease.Spec.LeaseTransitions, 0); got != tt.wantTransitions {
				t.Errorf("leaseTransitions = %d, want %d", got, tt.wantTransitions)
			}
			if *tt.lease.Spec.HolderIdentity != "hub-a" || tt.lease.Annotations[LeaseSessionAnnotation] != "s1" {
				t.Errorf("holder = %s/%s, want hub-a/s1", *tt.lease.Spec.HolderIdentity, tt.lease.Annotations[LeaseSessionAnnotation])
			}
			if tt.wantChanged && (!tt.lease.Spec.RenewTime.Time.Equal(now) || *tt.lease.Spec.LeaseDurationSeconds != 15) {
				t.Errorf("renewTime %v, duration %d; want now and 15", tt.lease.Spec.RenewTime, *tt.lease.Spec.LeaseDurationSeconds)
			}
			if holder, lost := lostAgentLease(tt.lease, "hub-a", "s1"); lost || holder != "hub-a" {
				t.Errorf("after the claim lostAgentLease = %s, %v; want hub-a, false", holder, lost)
			}
			if _, lost := lostAgentLease(tt.lease, "hub-b", "s9"); !lost {
				t.Error("the former holder should see the lease lost")
			}
		})
	}
}
