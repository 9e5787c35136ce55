package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Scope is a permission in Armory's `type:resource:permission` grammar.
// +kubebuilder:validation:Enum=api:organization:full;api:tenant:full;api:deployment:full;api:agentHub:full;read:infrastructure:data
type Scope string

// The scopes a MachineCredential may carry.
const (
	// ScopeOrganizationFull allows everything within the organization.
	ScopeOrganizationFull Scope = "api:organization:full"
	// ScopeTenantFull allows everything within the tenant (organization + environment).
	ScopeTenantFull Scope = "api:tenant:full"
	// ScopeDeploymentFull allows starting, watching and deciding on deployments.
	ScopeDeploymentFull Scope = "api:deployment:full"
	// ScopeAgentHubFull allows a Remote Network Agent to connect to the Agent Hub.
	ScopeAgentHubFull Scope = "api:agentHub:full"
	// ScopeInfrastructureRead allows reading the inventory the agents report.
	ScopeInfrastructureRead Scope = "read:infrastructure:data"
)

// KnownScopes lists every scope Aurora understands.
var KnownScopes = []Scope{ScopeOrganizationFull, ScopeTenantFull, ScopeDeploymentFull, ScopeAgentHubFull, ScopeInfrastructureRead}

// Reasons of the MachineCredential's conditions.
const (
	// ExpiredReason means the credential's expiry has passed; it issues no more tokens.
	ExpiredReason = "Expired"
	// SecretIssuedReason means a client secret was generated and written once into its Secret.
	SecretIssuedReason = "SecretIssued"
)

// MachineCredentialSpec describes a client id and secret with scopes, used by a machine: a Remote
// Network Agent, a CI pipeline or an integration.
// +kubebuilder:validation:XValidation:rule="!has(self.rotationGracePeriod) || has(self.rotationRequest)",message="rotationGracePeriod needs rotationRequest"
type MachineCredentialSpec struct {
	// description says what the credential is for.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Description string `json:"description,omitempty"`

	// scopes are the permissions a token issued to this credential may carry.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=5
	// +listType=set
	Scopes []Scope `json:"scopes"`

	// roles are the RBAC roles granted to the credential within its tenant, such as the roles a
	// pause step's requiresRoles names; no commas or spaces.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[^,\s]+$`
	// +listType=set
	Roles []string `json:"roles,omitempty"`

	// agentIdentifiers limits the Remote Network Agents this credential may connect to the Agent Hub
	// as. Empty means any agent of the tenant.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	AgentIdentifiers []string `json:"agentIdentifiers,omitempty"`

	// expiresAt is when the credential stops issuing tokens. Unset means it never expires.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// rotationRequest is a value of your choosing (a timestamp, say): each new value issues a new
	// client secret. The previous secret keeps working for rotationGracePeriod.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	RotationRequest string `json:"rotationRequest,omitempty"`

	// rotationGracePeriod is how long a rotated-out secret stays valid. Default 1h.
	// +optional
	RotationGracePeriod *metav1.Duration `json:"rotationGracePeriod,omitempty"`
}

// SecretHash is the verifier of one client secret: only the hash is stored, never the secret.
type SecretHash struct {
	// hash is the salted hash of the client secret, in the format of the hashing scheme.
	// +required
	Hash string `json:"hash"`
	// createdAt is when the secret was generated.
	// +required
	CreatedAt metav1.Time `json:"createdAt"`
	// validUntil ends a rotated-out secret's grace period. Unset for the current secret.
	// +optional
	ValidUntil *metav1.Time `json:"validUntil,omitempty"`
}

// MachineCredentialStatus is the observed state of a MachineCredential.
type MachineCredentialStatus struct {
	// observedGeneration is the generation of the spec the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready, Reconciling and Stalled, as kstatus reads them.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// clientID identifies the credential in the client-credentials grant.
	// +optional
	ClientID string `json:"clientID,omitempty"`

	// secretName is the Secret, owned by the credential, that holds the client secret once.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// secretHashes verify the current client secret and any rotated-out secret in its grace period.
	// +optional
	// +listType=atomic
	SecretHashes []SecretHash `json:"secretHashes,omitempty"`

	// observedRotationRequest is the spec.rotationRequest that issued the current secret.
	// +optional
	ObservedRotationRequest string `json:"observedRotationRequest,omitempty"`

	// lastRotatedAt is when the current secret was issued.
	// +optional
	LastRotatedAt *metav1.Time `json:"lastRotatedAt,omitempty"`
}

// MachineCredential is a client id and secret with scopes for a machine. The secret is shown once;
// only its hash is kept.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mcred,categories=aurora
// +kubebuilder:printcolumn:name="Client ID",type=string,JSONPath=`.status.clientID`
// +kubebuilder:printcolumn:name="Scopes",type=string,JSONPath=`.spec.scopes`
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.spec.expiresAt`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MachineCredential struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec holds the credential's scopes, roles, expiry and rotation.
	// +required
	Spec MachineCredentialSpec `json:"spec"`

	// status is the observed state of the credential.
	// +optional
	// +kubebuilder:default:={"observedGeneration":-1}
	Status MachineCredentialStatus `json:"status,omitempty"`
}

// GetConditions returns the credential's status conditions.
func (m *MachineCredential) GetConditions() []metav1.Condition { return m.Status.Conditions }

// SetConditions replaces the credential's status conditions.
func (m *MachineCredential) SetConditions(c []metav1.Condition) { m.Status.Conditions = c }

// MachineCredentialList is a list of MachineCredentials.
// +kubebuilder:object:root=true
type MachineCredentialList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the credentials.
	Items []MachineCredential `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MachineCredential{}, &MachineCredentialList{})
}
