package hub

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

func TestRolloutJSON(t *testing.T) {
	now := metav1.NewTime(time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC))
	r := &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-prod", Namespace: "aurora-acme-prod", UID: "uid-1", ResourceVersion: "42", Generation: 3,
			CreationTimestamp: now,
			Labels:            map[string]string{deployv1alpha1.AgentLabel: "prod"},
			Annotations:       map[string]string{"note": "x"},
			ManagedFields:     []metav1.ManagedFieldsEntry{{Manager: "controller"}},
			OwnerReferences:   []metav1.OwnerReference{{Name: "deploy-1", UID: "owner"}},
		},
		Spec:   rolloutv1alpha1.RolloutSpec{DeploymentName: "deploy-1", Application: "web", Target: "prod", Account: "prod", Manifests: []string{"kind: Service"}},
		Status: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseProgressing, AppliedGeneration: 2},
	}
	body, err := rolloutJSON(r)
	if err != nil {
		t.Fatalf("rolloutJSON: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if got["apiVersion"] != "rollout.aurora.dev/v1alpha1" || got["kind"] != "Rollout" {
		t.Errorf("type = %v %v", got["apiVersion"], got["kind"])
	}
	if _, ok := got["status"]; ok {
		t.Errorf("status must not travel: %s", body)
	}
	metadata := got["metadata"].(map[string]any)
	wantMetadata := map[string]any{
		"name":        "web-prod",
		"labels":      map[string]any{deployv1alpha1.AgentLabel: "prod"},
		"annotations": map[string]any{"note": "x"},
	}
	if !reflect.DeepEqual(metadata, wantMetadata) {
		t.Errorf("metadata = %v, want %v", metadata, wantMetadata)
	}
	var decoded rolloutv1alpha1.Rollout
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatalf("decoding as a Rollout: %v", err)
	}
	if !reflect.DeepEqual(decoded.Spec, r.Spec) {
		t.Errorf("spec = %+v, want %+v", decoded.Spec, r.Spec)
	}
	if want := (rolloutRef{UID: "uid-1", Namespace: "aurora-acme-prod", Name: "web-prod", Generation: 3}); refOf(r) != want {
		t.Errorf("refOf = %+v, want %+v", refOf(r), want)
	}
}

func TestMarksForChange(t *testing.T) {
	rollout := func(uid, agent string, generation int64) *rolloutv1alpha1.Rollout {
		r := &rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r", UID: types.UID(uid), Generation: generation}}
		if agent != "" {
			r.Labels = map[string]string{deployv1alpha1.AgentLabel: agent}
		}
		return r
	}
	mark := func(agent, uid string) rolloutMark {
		return rolloutMark{key: agentKey{namespace: "ns", agent: agent}, uid: types.UID(uid), name: "r"}
	}
	tests := []struct {
		name         string
		old, updated *rolloutv1alpha1.Rollout
		want         []rolloutMark
	}{
		{name: "add", updated: rollout("u", "a", 1), want: []rolloutMark{mark("a", "u")}},
		{name: "add without label", updated: rollout("u", "", 1)},
		{name: "delete", old: rollout("u", "a", 4), want: []rolloutMark{mark("a", "u")}},
		{name: "new generation", old: rollout("u", "a", 1), updated: rollout("u", "a", 2), want: []rolloutMark{mark("a", "u")}},
		{name: "status only", old: rollout("u", "a", 2), updated: rollout("u", "a", 2)},
		{name: "moved to another agent", old: rollout("u", "a", 2), updated: rollout("u", "b", 2),
			want: []rolloutMark{mark("a", "u"), mark("b", "u")}},
		{name: "label removed", old: rollout("u", "a", 2), updated: rollout("u", "", 2), want: []rolloutMark{mark("a", "u")}},
		{name: "nothing", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := marksForChange(tt.old, tt.updated); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("marksForChange() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPayloadName(t *testing.T) {
	tests := []struct {
		env  *tunnelv1.Envelope
		want string
	}{
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{}}, payloadHello},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Welcome{}}, payloadWelcome},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_ApplyRollout{}}, payloadApplyRollout},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_DeleteRollout{}}, payloadDeleteRollout},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Ack{}}, payloadAck},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_RolloutStatus{}}, payloadRolloutStatus},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Request{}}, payloadRequest},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Response{}}, payloadResponse},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{}}, payloadHeartbeat},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Drain{}}, payloadDrain},
		{&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Inventory{}}, payloadInventory},
		{&tunnelv1.Envelope{}, payloadUnknown},
		{nil, payloadUnknown},
	}
	for _, tt := range tests {
		if got := payloadName(tt.env); got != tt.want {
			t.Errorf("payloadName(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}
