package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Decision is what a Judgment decides.
// +kubebuilder:validation:Enum=approve;reject;skip;rollback;cancel
type Decision string

// Decisions a Judgment can make.
const (
	// DecisionApprove lets a pause or gate waiting for approval go on.
	DecisionApprove Decision = "approve"
	// DecisionReject refuses an approval: the target rolls back.
	DecisionReject Decision = "reject"
	// DecisionSkip ends a timed pause early.
	DecisionSkip Decision = "skip"
	// DecisionRollback rolls the target (or every running target) back to the previous version.
	DecisionRollback Decision = "rollback"
	// DecisionCancel stops the deployment: running targets roll back, pending ones never start.
	DecisionCancel Decision = "cancel"
)

// Reasons of the Judgment's conditions.
const (
	// ReasonApplied means the decision was applied to the deployment.
	ReasonApplied = "Applied"
	// ReasonNotApplicable means nothing waited for this decision (the deployment finished, say).
	ReasonNotApplicable = "NotApplicable"
	// ReasonForbidden means the author lacks a role the gate requires.
	ReasonForbidden = "Forbidden"
)

// JudgmentSpec is a decision on a Deployment. It cannot be changed once made.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a Judgment cannot be changed; create a new one"
// +kubebuilder:validation:XValidation:rule="!has(self.gate) || has(self.target)",message="gate needs target"
type JudgmentSpec struct {
	// deploymentName is the Deployment, in the Judgment's namespace, decided on.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	DeploymentName string `json:"deploymentName"`

	// target narrows the decision to one target; leave out for every target that waits.
	// +optional
	Target string `json:"target,omitempty"`

	// gate narrows the decision to one gate or step of the target, as the Deployment's
	// status.pendingApprovals names it (beforeDeployment[0], steps[2], ...).
	// +optional
	Gate string `json:"gate,omitempty"`

	// decision is approve, reject, skip, rollback or cancel.
	// +required
	Decision Decision `json:"decision"`

	// author is who decided: a user or a machine credential. The REST API sets it from the caller's
	// token.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Author string `json:"author,omitempty"`

	// reason says why.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
}

// JudgmentStatus is the outcome of a Judgment.
type JudgmentStatus struct {
	// observedGeneration is the generation of the spec the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready, Reconciling and Stalled, as kstatus reads them. Ready=True once the
	// decision was applied.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// appliedAt is when the decision was applied to the deployment.
	// +optional
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`

	// appliedTo lists the targets and gates the decision acted on.
	// +optional
	// +listType=atomic
	AppliedTo []string `json:"appliedTo,omitempty"`
}

// Judgment is a person's or a machine's decision on a Deployment: approve, reject, skip a pause,
// roll back or cancel. A separate object, so GitOps tools that own the Deployment never fight it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=jdg,categories=aurora
// +kubebuilder:printcolumn:name="Deployment",type=string,JSONPath=`.spec.deploymentName`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.target`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="Author",type=string,JSONPath=`.spec.author`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Judgment struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the decision.
	// +required
	Spec JudgmentSpec `json:"spec"`

	// status is the outcome.
	// +optional
	// +kubebuilder:default:={"observedGeneration":-1}
	Status JudgmentStatus `json:"status,omitempty"`
}

// GetConditions returns the judgment's status conditions.
func (j *Judgment) GetConditions() []metav1.Condition { return j.Status.Conditions }

// SetConditions replaces the judgment's status conditions.
func (j *Judgment) SetConditions(c []metav1.Condition) { j.Status.Conditions = c }

// JudgmentList is a list of Judgments.
// +kubebuilder:object:root=true
type JudgmentList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the judgments.
	Items []Judgment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Judgment{}, &JudgmentList{})
}
