package hub

import (
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
)

// t0 is when the test connections open.
var t0 = time.Date(2031, 3, 4, 5, 6, 7, 500_000_000, time.UTC)

// connected is a record of an open tunnel.
func connected(session string, at time.Time) connectionRecord {
	return connectionRecord{SessionID: session, Connected: true, ConnectedAt: at, LastHeartbeatAt: at,
		AgentVersion: "1.2.3", KubernetesVersion: "v1.37.2", ClientID: "client-1", RemoteAddress: "10.0.0.1:5000"}
}

// disconnected is rec ended at at.
func disconnected(rec connectionRecord, at time.Time, reason string) connectionRecord {
	rec.Connected, rec.DisconnectedAt, rec.DisconnectReason = false, at, reason
	return rec
}

func TestPlanAgentWrite(t *testing.T) {
	rec := connected("s1", t0)
	later := rec
	later.LastHeartbeatAt = t0.Add(time.Minute)
	sameSecond := rec
	sameSecond.LastHeartbeatAt = t0.Add(400 * time.Millisecond)
	tests := []struct {
		name    string
		rec     connectionRecord
		written writtenState
		want    agentWrite
	}{
		{name: "never written", rec: rec, want: writeConnection},
		{name: "written", rec: rec, written: writtenState{SessionID: "s1", Connected: true, Heartbeat: apiTime(t0)}, want: writeNothing},
		{name: "heartbeat moved", rec: later, written: writtenState{SessionID: "s1", Connected: true, Heartbeat: apiTime(t0)}, want: writeHeartbeat},
		{name: "heartbeat within the second", rec: sameSecond, written: writtenState{SessionID: "s1", Connected: true, Heartbeat: apiTime(t0)}, want: writeNothing},
		{name: "tunnel ended", rec: disconnected(later, t0.Add(time.Hour), ""), written: writtenState{SessionID: "s1", Connected: true, Heartbeat: apiTime(t0)}, want: writeConnection},
		{name: "ended and written", rec: disconnected(rec, t0.Add(time.Hour), ""), written: writtenState{SessionID: "s1", Heartbeat: apiTime(t0)}, want: writeNothing},
		{name: "new session", rec: connected("s2", t0), written: writtenState{SessionID: "s1", Connected: true, Heartbeat: apiTime(t0)}, want: writeConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planAgentWrite(tt.rec, tt.written); got != tt.want {
				t.Errorf("planAgentWrite() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewerConnectionShown(t *testing.T) {
	rec := connected("s1", t0)
	shown := func(at time.Time, replica, remote string) deployv1alpha1.AgentStatus {
		return deployv1alpha1.AgentStatus{Connected: true, ConnectedAt: metaTime(at), HubReplica: replica, RemoteAddress: remote, ClientID: "client-1"}
	}
	tests := []struct {
		name    string
		current deployv1alpha1.AgentStatus
		want    bool
	}{
		{name: "nothing shown", current: deployv1alpha1.AgentStatus{}},
		{name: "disconnected shown", current: deployv1alpha1.AgentStatus{Connected: false, ConnectedAt: metaTime(t0.Add(time.Hour))}},
		{name: "our own connection", current: shown(t0, "hub-0", rec.RemoteAddress)},
		{name: "an older connection", current: shown(t0.Add(-time.Minute), "hub-1", "10.0.0.2:1")},
		{name: "a newer connection", current: shown(t0.Add(time.Minute), "hub-0", rec.RemoteAddress), want: true},
		{name: "same second, another replica", current: shown(t0, "hub-1", rec.RemoteAddress), want: true},
		{name: "same second, another address", current: shown(t0, "hub-0", "10.0.0.9:1"), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newerConnectionShown(tt.current, rec, "hub-0"); got != tt.want {
				t.Errorf("newerConnectionShown() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApplyConnection(t *testing.T) {
	agent := &deployv1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Name: "prod", Generation: 2}}
	rec := connected("s1", t0)
	if !applyConnection(agent, rec, "hub-0") {
		t.Fatal("connecting changed nothing")
	}
	st := agent.Status
	if !st.Connected || !st.ConnectedAt.Equal(metaTime(t0)) || st.AgentVersion != "1.2.3" || st.KubernetesVersion != "v1.37.2" ||
		st.ClientID != "client-1" || st.RemoteAddress != "10.0.0.1:5000" || st.HubReplica != "hub-0" ||
		!st.LastHeartbeatAt.Equal(metaTime(t0)) || st.ObservedGeneration != 2 || st.DisconnectedAt != nil {
		t.Errorf("connected status = %+v", st)
	}
	ready := apimeta.FindStatusCondition(st.Conditions, meta.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionTrue || ready.Reason != deployv1alpha1.ReasonConnected || ready.ObservedGeneration != 2 ||
		!ready.LastTransitionTime.Equal(metaTime(t0)) {
		t.Errorf("Ready = %+v", ready)
	}
	if applyConnection(agent, rec, "hub-0") {
		t.Error("writing the same record again reported a change")
	}
	beat := rec
	beat.LastHeartbeatAt = t0.Add(time.Minute)
	if !applyConnection(agent, beat, "hub-0") || !agent.Status.LastHeartbeatAt.Equal(metaTime(t0.Add(time.Minute))) {
		t.Errorf("heartbeat not applied: %+v", agent.Status.LastHeartbeatAt)
	}

	ended := disconnected(beat, t0.Add(2*time.Minute), "heartbeats stopped")
	if !applyConnection(agent, ended, "hub-0") {
		t.Fatal("disconnecting changed nothing")
	}
	st = agent.Status
	if st.Connected || !st.DisconnectedAt.Equal(metaTime(t0.Add(2*time.Minute))) || !st.ConnectedAt.Equal(metaTime(t0)) {
		t.Errorf("disconnected status = %+v", st)
	}
	ready = apimeta.FindStatusCondition(st.Conditions, meta.ReadyCondition)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != deployv1alpha1.ReasonDisconnected ||
		ready.Message != "The agent's tunnel to hub replica hub-0 ended: heartbeats stopped." {
		t.Errorf("Ready = %+v", ready)
	}

	// A newer connection (through another replica) is shown: an older tunnel's end changes nothing.
	newer := &deployv1alpha1.Agent{Status: deployv1alpha1.AgentStatus{Connected: true, ConnectedAt: metaTime(t0.Add(time.Hour)), HubReplica: "hub-1"}}
	if applyConnection(newer, ended, "hub-0") || !newer.Status.Connected || newer.Status.HubReplica != "hub-1" {
		t.Errorf("an older tunnel's end overwrote a newer connection: %+v", newer.Status)
	}
}
