package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels Aurora puts on the objects that belong to a tenant.
const (
	// TenantLabel names the Tenant that owns a namespace or an object.
	TenantLabel = "iam.aurora.dev/tenant"
	// OrganizationLabel carries the tenant's organization.
	OrganizationLabel = "iam.aurora.dev/organization"
	// EnvironmentLabel carries the tenant's environment.
	EnvironmentLabel = "iam.aurora.dev/environment"
)

// Reasons of the Tenant's conditions.
const (
	// NamespaceConflictReason means the tenant's namespace exists and belongs to something else.
	NamespaceConflictReason = "NamespaceConflict"
)

// NamespaceName is the namespace of the cloud cluster that holds the resources of the tenant of
// this organization and environment: aurora-<organization>-<environment>.
func NamespaceName(organization, environment string) string {
	return "aurora-" + organization + "-" + environment
}

// TenantSpec is an organization and one of its environments.
type TenantSpec struct {
	// organization is the name of the organization the tenant belongs to: lower-case letters and
	// digits, at most 27 characters. No hyphen, so that the namespace aurora-<organization>-
	// <environment> names exactly one tenant (acme + corp-prod never meets acme-corp + prod).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=27
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organization is immutable"
	Organization string `json:"organization"`

	// environment is the environment of the organization, such as staging or prod: a DNS label of
	// at most 27 characters.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=27
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="environment is immutable"
	Environment string `json:"environment"`

	// displayName is the name people see in the Console and the CLI.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`
}

// TenantStatus is the observed state of a Tenant.
type TenantStatus struct {
	// observedGeneration is the generation of the spec the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready, Reconciling and Stalled, as kstatus reads them.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// namespace is the namespace of the cloud cluster that holds the tenant's resources.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// Tenant is an organization and environment. It owns one namespace in the cloud cluster, in which
// all its other resources (credentials, deployments, agents, rollouts) live.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tnt,categories=aurora
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.spec.organization`
// +kubebuilder:printcolumn:name="Environment",type=string,JSONPath=`.spec.environment`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tenant struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec names the organization and environment.
	// +required
	Spec TenantSpec `json:"spec"`

	// status is the observed state of the tenant.
	// +optional
	// +kubebuilder:default:={"observedGeneration":-1}
	Status TenantStatus `json:"status,omitempty"`
}

// GetConditions returns the tenant's status conditions.
func (t *Tenant) GetConditions() []metav1.Condition { return t.Status.Conditions }

// SetConditions replaces the tenant's status conditions.
func (t *Tenant) SetConditions(c []metav1.Condition) { t.Status.Conditions = c }

// TenantList is a list of Tenants.
// +kubebuilder:object:root=true
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the tenants.
	Items []Tenant `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Tenant{}, &TenantList{})
}
