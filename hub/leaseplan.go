package hub

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations of the Hub's Leases.
const (
	// LeaseKindLabel marks the Hub's Leases: "replica" for a replica's own Lease, "agent" for the
	// Lease of an agent's tunnel.
	LeaseKindLabel = "hub.aurora.dev/lease"
	// LeaseAgentLabel names the agent of an agent Lease.
	LeaseAgentLabel = "hub.aurora.dev/agent"
	// LeaseAddressAnnotation is the address (host:port) at which a replica serves its peers, on its
	// replica Lease.
	LeaseAddressAnnotation = "hub.aurora.dev/address"
	// LeaseSessionAnnotation is the session id of the stream holding an agent Lease.
	LeaseSessionAnnotation = "hub.aurora.dev/session"

	leaseKindReplica = "replica"
	leaseKindAgent   = "agent"
)

// replicaLeaseName is the name of a replica's Lease.
func replicaLeaseName(replica string) string { return "aurora-hub-" + replica }

// agentLeaseName is the name of an agent's Lease in its tenant namespace.
func agentLeaseName(agent string) string { return "aurora-agent-" + agent }

// leaseLive reports whether a Lease was renewed within its duration at now.
func leaseLive(spec coordinationv1.LeaseSpec, now time.Time) bool {
	if spec.RenewTime == nil || spec.LeaseDurationSeconds == nil {
		return false
	}
	return now.Before(spec.RenewTime.Add(time.Duration(*spec.LeaseDurationSeconds) * time.Second))
}

// claimAgentLease sets lease to show that session of replica holds the agent's tunnel from now,
// counting a change of holder in leaseTransitions, and reports whether anything changed.
func claimAgentLease(lease *coordinationv1.Lease, replica, session string, duration time.Duration, now time.Time) bool {
	if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity == replica &&
		lease.Annotations[LeaseSessionAnnotation] == session {
		return false
	}
	if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != replica {
		transitions := int32(1)
		if lease.Spec.LeaseTransitions != nil {
			transitions = *lease.Spec.LeaseTransitions + 1
		}
		lease.Spec.LeaseTransitions = &transitions
	}
	if lease.Annotations == nil {
		lease.Annotations = map[string]string{}
	}
	lease.Annotations[LeaseSessionAnnotation] = session
	seconds := int32(duration / time.Second)
	at := metav1.NewMicroTime(now)
	lease.Spec.HolderIdentity = &replica
	lease.Spec.LeaseDurationSeconds = &seconds
	lease.Spec.AcquireTime = &at
	lease.Spec.RenewTime = &at
	return true
}

// lostAgentLease reports whether an agent Lease shows another holder than the session of replica:
// the session must end.
func lostAgentLease(lease *coordinationv1.Lease, replica, session string) (holder string, lost bool) {
	if lease.Spec.HolderIdentity == nil {
		return "", false
	}
	holder = *lease.Spec.HolderIdentity
	return holder, holder != replica || lease.Annotations[LeaseSessionAnnotation] != session
}
