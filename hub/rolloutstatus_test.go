package hub

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

func TestMergeReportedStatus(t *testing.T) {
	t0 := time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.UTC)
	micro := func(t time.Time) *metav1.MicroTime {
		mt := metav1.NewMicroTime(t.Truncate(time.Microsecond))
		return &mt
	}
	reported := rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhasePaused, CurrentStep: 2, AppliedGeneration: 3, ObservedGeneration: 3}
	tests := []struct {
		name       string
		current    rolloutv1alpha1.RolloutStatus
		reported   rolloutv1alpha1.RolloutStatus
		observedAt time.Time
		want       rolloutv1alpha1.RolloutStatus
		write      bool
	}{
		{name: "first observation is written", reported: reported, observedAt: t0, write: true,
			want: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhasePaused, CurrentStep: 2, AppliedGeneration: 3,
				ObservedGeneration: 3, ObservedAt: micro(t0)}},
		{name: "newer observation replaces the status", reported: reported, observedAt: t0.Add(time.Second), write: true,
			current: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseProgressing, ObservedAt: micro(t0), Message: "old"},
			want: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhasePaused, CurrentStep: 2, AppliedGeneration: 3,
				ObservedGeneration: 3, ObservedAt: micro(t0.Add(time.Second))}},
		{name: "older observation is dropped", reported: reported, observedAt: t0.Add(-time.Second),
			current: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseProgressing, ObservedAt: micro(t0)},
			want:    rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseProgressing, ObservedAt: micro(t0)}},
		{name: "same observation (to the microsecond) is dropped", reported: reported, observedAt: t0.Add(100 * time.Nanosecond),
			current: rolloutv1alpha1.RolloutStatus{ObservedAt: micro(t0)},
			want:    rolloutv1alpha1.RolloutStatus{ObservedAt: micro(t0)}},
		{name: "appliedGeneration is never lowered", observedAt: t0, write: true,
			current:  rolloutv1alpha1.RolloutStatus{AppliedGeneration: 5},
			reported: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseSucceeded, AppliedGeneration: 4},
			want:     rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseSucceeded, AppliedGeneration: 5, ObservedAt: micro(t0)}},
		{name: "the reported observedAt is replaced by the message's", observedAt: t0, write: true,
			reported: rolloutv1alpha1.RolloutStatus{ObservedAt: micro(t0.Add(time.Hour))},
			want:     rolloutv1alpha1.RolloutStatus{ObservedAt: micro(t0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, write := mergeReportedStatus(tt.current, tt.reported, tt.observedAt)
			if write != tt.write || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mergeReportedStatus() = %+v, %v; want %+v, %v", got, write, tt.want, tt.write)
			}
		})
	}
}

func TestRaiseAppliedGeneration(t *testing.T) {
	tests := []struct {
		current, generation, want int64
		changed                   bool
	}{
		{0, 1, 1, true}, {1, 3, 3, true}, {3, 3, 3, false}, {4, 3, 4, false}, {0, 0, 0, false},
	}
	for _, tt := range tests {
		status := rolloutv1alpha1.RolloutStatus{AppliedGeneration: tt.current}
		if changed := raiseAppliedGeneration(&status, tt.generation); changed != tt.changed || status.AppliedGeneration != tt.want {
			t.Errorf("raise(%d, %d) = %d, %v; want %d, %v", tt.current, tt.generation, status.AppliedGeneration, changed, tt.want, tt.changed)
		}
	}
}

func TestDecodeRolloutStatus(t *testing.T) {
	key := agentKey{namespace: "aurora-acme-prod", agent: "prod"}
	body, err := json.Marshal(rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	ref := &tunnelv1.RolloutRef{Uid: "u", Namespace: key.namespace, Name: "r", Generation: 2}
	tests := []struct {
		name    string
		msg     *tunnelv1.RolloutStatus
		wantErr string
	}{
		{name: "valid", msg: &tunnelv1.RolloutStatus{Ref: ref, Status: body, ObservedAtUnixNano: 1}},
		{name: "valid without namespace", msg: &tunnelv1.RolloutStatus{Ref: &tunnelv1.RolloutRef{Uid: "u", Name: "r"}, Status: body, ObservedAtUnixNano: 1}},
		{name: "no ref", msg: &tunnelv1.RolloutStatus{Status: body, ObservedAtUnixNano: 1}, wantErr: "names no Rollout"},
		{name: "no uid", msg: &tunnelv1.RolloutStatus{Ref: &tunnelv1.RolloutRef{Name: "r"}, Status: body, ObservedAtUnixNano: 1}, wantErr: "names no Rollout"},
		{name: "another namespace", msg: &tunnelv1.RolloutStatus{Ref: &tunnelv1.RolloutRef{Uid: "u", Name: "r", Namespace: "aurora-evil-prod"},
			Status: body, ObservedAtUnixNano: 1}, wantErr: "not the tenant's"},
		{name: "no observation time", msg: &tunnelv1.RolloutStatus{Ref: ref, Status: body}, wantErr: "observed_at_unix_nano"},
		{name: "no status", msg: &tunnelv1.RolloutStatus{Ref: ref, ObservedAtUnixNano: 1}, wantErr: "empty"},
		{name: "not JSON", msg: &tunnelv1.RolloutStatus{Ref: ref, Status: []byte("{"), ObservedAtUnixNano: 1}, wantErr: "not a RolloutStatus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRolloutStatus(key, tt.msg)
			if tt.wantErr != "" {
				if err == nil || !isRefusal(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a refusal containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got.status.Phase != rolloutv1alpha1.PhaseSucceeded || got.ref.UID != "u" || !got.observedAt.Equal(time.Unix(0, 1)) {
				t.Errorf("decoded = %+v", got)
			}
		})
	}
}
