package hub

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
)

// connectionRecord is what the Hub knows of an agent's last tunnel: the state its Agent's status
// should show.
type connectionRecord struct {
	SessionID         string
	Connected         bool
	ConnectedAt       time.Time
	DisconnectedAt    time.Time
	LastHeartbeatAt   time.Time
	AgentVersion      string
	KubernetesVersion string
	ClientID          string
	RemoteAddress     string
	// DisconnectReason says, for people, why the tunnel ended.
	DisconnectReason string
}

// writtenState is what the Hub last wrote of a connection record to the Agent.
type writtenState struct {
	SessionID string
	Connected bool
	Heartbeat time.Time
}

// agentWrite is the kind of write an Agent's status needs.
type agentWrite int

// Kinds of Agent status writes.
const (
	// writeNothing: the Agent shows the record already.
	writeNothing agentWrite = iota
	// writeHeartbeat: only lastHeartbeatAt moved; a small patch without a read does.
	writeHeartbeat
	// writeConnection: the tunnel opened or ended; the whole connection status is written.
	writeConnection
)

// planAgentWrite decides what to write to show rec, given what was written last. Heartbeats are
// compared at the API's resolution of one second.
func planAgentWrite(rec connectionRecord, written writtenState) agentWrite {
	switch {
	case rec.SessionID != written.SessionID || rec.Connected != written.Connected:
		return writeConnection
	case rec.Connected && apiTime(rec.LastHeartbeatAt).After(written.Heartbeat):
		return writeHeartbeat
	default:
		return writeNothing
	}
}

// apiTime is t as the API keeps a metav1.Time: whole seconds, UTC.
func apiTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// newerConnectionShown reports whether an Agent's status shows a live connection other than rec's
// that is at least as recent: then rec's end must not mark the Agent disconnected (another stream,
// perhaps through another Hub replica, took over).
func newerConnectionShown(current deployv1alpha1.AgentStatus, rec connectionRecord, replica string) bool {
	if !current.Connected || current.ConnectedAt == nil {
		return false
	}
	shown, mine := current.ConnectedAt.UTC(), apiTime(rec.ConnectedAt)
	switch {
	case shown.After(mine):
		return true
	case shown.Before(mine):
		return false
	default:
		return current.HubReplica != replica || current.RemoteAddress != rec.RemoteAddress || current.ClientID != rec.ClientID
	}
}

// applyConnection sets agent's status to show rec as seen by the Hub replica and reports whether the
// status changed. A record of an ended tunnel changes nothing when the Agent shows a newer
// connection.
func applyConnection(agent *deployv1alpha1.Agent, rec connectionRecord, replica string) bool {
	if !rec.Connected && newerConnectionShown(agent.Status, rec, replica) {
		return false
	}
	before := agent.Status.DeepCopy()
	status := &agent.Status
	status.ObservedGeneration = agent.Generation
	status.Connected = rec.Connected
	status.ConnectedAt = metaTime(rec.ConnectedAt)
	status.AgentVersion = rec.AgentVersion
	status.KubernetesVersion = rec.KubernetesVersion
	status.ClientID = rec.ClientID
	status.RemoteAddress = rec.RemoteAddress
	status.HubReplica = replica
	if heartbeat := later(rec.LastHeartbeatAt, rec.ConnectedAt); status.LastHeartbeatAt == nil || apiTime(heartbeat).After(status.LastHeartbeatAt.UTC()) {
		status.LastHeartbeatAt = metaTime(heartbeat)
	}
	if rec.Connected {
		setReady(agent, metav1.ConditionTrue, deployv1alpha1.ReasonConnected,
			fmt.Sprintf("The agent's tunnel is open to hub replica %s.", replica), rec.ConnectedAt)
	} else {
		status.DisconnectedAt = metaTime(rec.DisconnectedAt)
		message := fmt.Sprintf("The agent's tunnel to hub replica %s ended.", replica)
		if rec.DisconnectReason != "" {
			message = fmt.Sprintf("The agent's tunnel to hub replica %s ended: %s.", replica, rec.DisconnectReason)
		}
		setReady(agent, metav1.ConditionFalse, deployv1alpha1.ReasonDisconnected, message, rec.DisconnectedAt)
	}
	return !equality.Semantic.DeepEqual(before, &agent.Status)
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// setReady sets the Agent's Ready condition, its transition at the given time, and removes
// Reconciling and Stalled (which the Hub never sets): an agent is either connected or not.
func setReady(agent *deployv1alpha1.Agent, status metav1.ConditionStatus, reason, message string, at time.Time) {
	conditions := agent.Status.Conditions
	apimeta.RemoveStatusCondition(&conditions, meta.ReconcilingCondition)
	apimeta.RemoveStatusCondition(&conditions, meta.StalledCondition)
	apimeta.SetStatusCondition(&conditions, metav1.Condition{
		Type: meta.ReadyCondition, Status: status, Reason: reason, Message: message,
		ObservedGeneration: agent.Generation, LastTransitionTime: *metaTime(at),
	})
	agent.Status.Conditions = conditions
}

// metaTime returns t as a metav1.Time at the API's resolution.
func metaTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(apiTime(t))
	return &mt
}
