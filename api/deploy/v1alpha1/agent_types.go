package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AgentLabel names the agent (agentIdentifier) an object is meant for.
const AgentLabel = "deploy.aurora.dev/agent"

// Reasons of the Agent's conditions.
const (
	// ReasonConnected means the agent holds a live tunnel to a Hub replica.
	ReasonConnected = "Connected"
	// ReasonDisconnected means the agent's tunnel ended or its heartbeats stopped.
	ReasonDisconnected = "Disconnected"
)

// AgentSpec identifies a Remote Network Agent.
type AgentSpec struct {
	// agentIdentifier is the name the agent connects with; deploy files name it as a target's
	// account. Lower-case letters, digits, '-' and '.', as it also names the Agent object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="agentIdentifier is immutable"
	AgentIdentifier string `json:"agentIdentifier"`

	// description says which cluster the agent runs in.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Description string `json:"description,omitempty"`
}

// AgentStatus is what the Hub knows of the agent's connection.
type AgentStatus struct {
	// observedGeneration is the generation of the spec the Hub last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready (True while connected), Reconciling and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// connected is true while the agent holds a live tunnel.
	// +optional
	Connected bool `json:"connected,omitempty"`

	// connectedAt is when the current (or last) tunnel was opened.
	// +optional
	ConnectedAt *metav1.Time `json:"connectedAt,omitempty"`

	// disconnectedAt is when the last tunnel ended.
	// +optional
	DisconnectedAt *metav1.Time `json:"disconnectedAt,omitempty"`

	// lastHeartbeatAt is when the Hub last heard from the agent.
	// +optional
	LastHeartbeatAt *metav1.Time `json:"lastHeartbeatAt,omitempty"`

	// agentVersion is the version the agent reported.
	// +optional
	AgentVersion string `json:"agentVersion,omitempty"`

	// kubernetesVersion is the version of the agent's cluster.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`

	// clientID is the machine credential the agent authenticated with.
	// +optional
	ClientID string `json:"clientID,omitempty"`

	// remoteAddress is the address the tunnel came from.
	// +optional
	RemoteAddress string `json:"remoteAddress,omitempty"`

	// hubReplica is the Hub replica that holds the tunnel.
	// +optional
	HubReplica string `json:"hubReplica,omitempty"`
}

// Agent is a registered Remote Network Agent: the Hub creates and updates it when the agent
// connects, and deploy files name it as a target's account.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=agt;rna,categories=aurora
// +kubebuilder:printcolumn:name="Identifier",type=string,JSONPath=`.spec.agentIdentifier`
// +kubebuilder:printcolumn:name="Connected",type=boolean,JSONPath=`.status.connected`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.agentVersion`
// +kubebuilder:printcolumn:name="Hub",type=string,JSONPath=`.status.hubReplica`,priority=1
// +kubebuilder:printcolumn:name="Heartbeat",type=date,JSONPath=`.status.lastHeartbeatAt`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Agent struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec identifies the agent.
	// +required
	Spec AgentSpec `json:"spec"`

	// status is the agent's connection as the Hub sees it.
	// +optional
	// +kubebuilder:default:={"observedGeneration":-1}
	Status AgentStatus `json:"status,omitempty"`
}

// GetConditions returns the agent's status conditions.
func (a *Agent) GetConditions() []metav1.Condition { return a.Status.Conditions }

// SetConditions replaces the agent's status conditions.
func (a *Agent) SetConditions(c []metav1.Condition) { a.Status.Conditions = c }

// AgentList is a list of Agents.
// +kubebuilder:object:root=true
type AgentList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the agents.
	Items []Agent `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Agent{}, &AgentList{})
}
