package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// Labels and annotations on a Rollout.
const (
	// CloudUIDAnnotation, on a Rollout mirrored into a target cluster, is the cloud Rollout's uid.
	CloudUIDAnnotation = "rollout.aurora.dev/cloud-uid"
	// CloudGenerationAnnotation, on a mirrored Rollout, is the cloud generation it carries.
	CloudGenerationAnnotation = "rollout.aurora.dev/cloud-generation"
	// CloudNamespaceAnnotation, on a mirrored Rollout, is the cloud Rollout's namespace.
	CloudNamespaceAnnotation = "rollout.aurora.dev/cloud-namespace"
	// MirroredLabel marks Rollouts that an agent mirrored into its cluster.
	MirroredLabel = "rollout.aurora.dev/mirrored"
	// DeploymentLabel names the Deployment a Rollout was generated for.
	DeploymentLabel = "rollout.aurora.dev/deployment"
	// TargetLabel names the deploy file target a Rollout was generated for.
	TargetLabel = "rollout.aurora.dev/target"
)

// Phase is where a Rollout is in its life.
// +kubebuilder:validation:Enum=Pending;Progressing;Paused;AwaitingApproval;Succeeded;Failed;RolledBack;Cancelled
type Phase string

// Phases of a Rollout.
const (
	// PhasePending has not been applied in the target cluster yet.
	PhasePending Phase = "Pending"
	// PhaseProgressing runs its steps.
	PhaseProgressing Phase = "Progressing"
	// PhasePaused waits for a timed pause.
	PhasePaused Phase = "Paused"
	// PhaseAwaitingApproval waits for a decision.
	PhaseAwaitingApproval Phase = "AwaitingApproval"
	// PhaseSucceeded runs the new version at full weight.
	PhaseSucceeded Phase = "Succeeded"
	// PhaseFailed could not roll back either; see the message.
	PhaseFailed Phase = "Failed"
	// PhaseRolledBack went back to the last stable version.
	PhaseRolledBack Phase = "RolledBack"
	// PhaseCancelled was cancelled and went back to the last stable version.
	PhaseCancelled Phase = "Cancelled"
)

// IsFinal reports whether a Rollout in this phase is done for good.
func (p Phase) IsFinal() bool {
	switch p {
	case PhaseSucceeded, PhaseFailed, PhaseRolledBack, PhaseCancelled:
		return true
	}
	return false
}

// RolloutSpec is what one target cluster must do: manifests, the resolved strategy and what the
// strategy's steps refer to.
type RolloutSpec struct {
	// deploymentName is the Deployment this Rollout belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	DeploymentName string `json:"deploymentName"`

	// application is the deploy file's application.
	// +required
	// +kubebuilder:validation:MinLength=1
	Application string `json:"application"`

	// target is the name of the deploy file target.
	// +required
	// +kubebuilder:validation:MinLength=1
	Target string `json:"target"`

	// account is the agentIdentifier of the agent that executes the Rollout.
	// +required
	// +kubebuilder:validation:MinLength=1
	Account string `json:"account"`

	// namespace is where the manifests are applied in the target cluster.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// manifests are the YAML documents to apply, each holding one or more objects.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	Manifests []string `json:"manifests"`

	// strategyName is the name of the strategy in the deploy file.
	// +optional
	StrategyName string `json:"strategyName,omitempty"`

	// strategy is the resolved strategy.
	// +required
	Strategy deployv1alpha1.Strategy `json:"strategy"`

	// beforeDeploymentWebhooks are the target's constraints.beforeDeployment runWebhook gates whose
	// webhook has networkMode remoteNetworkAgent, in order: the agent's executor calls them (from
	// inside the target's network) before it applies anything, all in parallel, and starts the
	// strategy once every one passed; a failed one ends the Rollout Failed with nothing applied.
	// Their gate is beforeDeployment[<index in constraints.beforeDeployment>]. Other beforeDeployment
	// gates stay with the Deployment controller, which creates the Rollout once they passed.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	BeforeDeploymentWebhooks []BeforeDeploymentWebhook `json:"beforeDeploymentWebhooks,omitempty"`

	// afterDeployment are the target's constraints.afterDeployment analysis gates, in order: the
	// executor runs them once the strategy reached 100% and before the Rollout succeeds, as analysis
	// steps whose gate is afterDeployment[<index in constraints.afterDeployment>]. Gates of other
	// kinds (pause, runWebhook) stay with the Deployment controller and are not listed.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	AfterDeployment []AfterDeploymentAnalysis `json:"afterDeployment,omitempty"`

	// afterDeploymentWebhooks are the target's constraints.afterDeployment runWebhook gates whose
	// webhook has networkMode remoteNetworkAgent, in order: the agent's executor calls them (from
	// inside the target's network) once the strategy reached 100% and before the Rollout succeeds,
	// as runWebhook steps whose gate is afterDeployment[<index in constraints.afterDeployment>],
	// beside the afterDeployment analysis gates. Webhook gates with networkMode direct stay with the
	// Deployment controller and are not listed.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	AfterDeploymentWebhooks []AfterDeploymentWebhook `json:"afterDeploymentWebhooks,omitempty"`

	// analysis holds the queries that the strategy's analysis steps and afterDeployment gates name.
	// +optional
	Analysis *deployv1alpha1.AnalysisConfig `json:"analysis,omitempty"`

	// webhooks are the webhooks that the strategy's runWebhook steps, beforeDeploymentWebhooks and
	// afterDeploymentWebhooks name.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Webhooks []deployv1alpha1.Webhook `json:"webhooks,omitempty"`

	// trafficManagement is the traffic configuration that applies to this target.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	TrafficManagement []deployv1alpha1.TrafficManagement `json:"trafficManagement,omitempty"`

	// timeout bounds how long the target may take to become Ready.
	// +optional
	Timeout *deployv1alpha1.Timeout `json:"timeout,omitempty"`

	// keepDeploymentObject keeps apps/v1 Deployments instead of managed ReplicaSets.
	// +optional
	KeepDeploymentObject bool `json:"keepDeploymentObject,omitempty"`

	// context supplies {{context.*}} variables.
	// +optional
	Context map[string]string `json:"context,omitempty"`

	// callbackBaseURI is <api>/webhooks/<deployment>/<target>: a runWebhook step's
	// {{armory.callbackUri}} is it followed by / and the step's gate, path-escaped.
	// +optional
	CallbackBaseURI string `json:"callbackBaseURI,omitempty"`

	// decisions are the Judgments that reached this Rollout, in order.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=name
	Decisions []RolloutDecision `json:"decisions,omitempty"`
}

// RolloutDecision is a Judgment passed down to the target cluster.
type RolloutDecision struct {
	// name is the Judgment's name.
	// +required
	Name string `json:"name"`
	// gate is the step the decision is for, such as steps[2]; empty for any that waits.
	// +optional
	Gate string `json:"gate,omitempty"`
	// decision is approve, reject, skip, rollback or cancel.
	// +required
	Decision deployv1alpha1.Decision `json:"decision"`
	// reason is the Judgment's reason, such as a webhook callback's mdMessage.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
}

// RolloutStatus is the progress of a Rollout in its target cluster.
type RolloutStatus struct {
	// observedGeneration is the generation of the spec the executor last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready, Reconciling and Stalled, as kstatus reads them.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// phase is Pending, Progressing, Paused, AwaitingApproval, Succeeded, Failed, RolledBack or
	// Cancelled.
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// currentStep is the 1-based index of the step being run; 0 before the first.
	// +optional
	CurrentStep int32 `json:"currentStep,omitempty"`

	// totalSteps is the number of steps of the resolved strategy.
	// +optional
	TotalSteps int32 `json:"totalSteps,omitempty"`

	// weight is the share of the new version, 0 to 100.
	// +optional
	Weight int32 `json:"weight,omitempty"`

	// message says what the Rollout is doing or why it failed.
	// +optional
	Message string `json:"message,omitempty"`

	// stableRevision names the version that ran before this Rollout.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`

	// canaryRevision names the version this Rollout brings.
	// +optional
	CanaryRevision string `json:"canaryRevision,omitempty"`

	// replicas, readyReplicas and updatedReplicas count the pods of the application.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// readyReplicas counts the Ready pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// updatedReplicas counts the pods of the new version.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`

	// waitingFor names the gate or step waiting for a decision.
	// +optional
	WaitingFor string `json:"waitingFor,omitempty"`

	// appliedGeneration is the generation the agent applied in the target cluster.
	// +optional
	AppliedGeneration int64 `json:"appliedGeneration,omitempty"`

	// observedAt is when the agent read this status in the target cluster; the Hub writes only
	// observations newer than this one.
	// +optional
	ObservedAt *metav1.MicroTime `json:"observedAt,omitempty"`

	// startedAt is when the executor started the Rollout.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// finishedAt is when the Rollout reached a final phase.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// blueGreen is the progress of a blue/green strategy: the version each Service selects and the
	// state of each condition.
	// +optional
	BlueGreen *BlueGreenStatus `json:"blueGreen,omitempty"`

	// previews are the preview links of the exposeServices steps run so far; the values of
	// {{armory.preview.<service>}} come from them (deployv1alpha1.PreviewURLs).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Previews []deployv1alpha1.PreviewLink `json:"previews,omitempty"`

	// analysis are the runs of the analysis steps: each query's value and verdict.
	// +optional
	// +kubebuilder:validation:MaxItems=512
	// +listType=atomic
	Analysis []deployv1alpha1.AnalysisRun `json:"analysis,omitempty"`

	// webhooks are the calls of the runWebhook steps and their outcome.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Webhooks []deployv1alpha1.WebhookCall `json:"webhooks,omitempty"`
}

// BlueGreenStatus is the progress of a blue/green strategy.
type BlueGreenStatus struct {
	// activeVersion is the version the active Services select: the stable one until the switch, the
	// new one after it.
	// +optional
	ActiveVersion string `json:"activeVersion,omitempty"`

	// previewVersion is the version the preview Services select.
	// +optional
	PreviewVersion string `json:"previewVersion,omitempty"`

	// conditions are the states of the redirectTrafficAfter and shutDownOldVersionAfter conditions.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=gate
	Conditions []StrategyConditionStatus `json:"conditions,omitempty"`
}

// ConditionState is where a blue/green condition is.
// +kubebuilder:validation:Enum=Pending;Running;Paused;AwaitingApproval;Passed;Failed
type ConditionState string

// States of a blue/green condition.
const (
	// ConditionPending has not started: its group has not been reached.
	ConditionPending ConditionState = "Pending"
	// ConditionRunning runs (an analysis, a webhook waiting for its callback, ...).
	ConditionRunning ConditionState = "Running"
	// ConditionPaused is a timed pause that runs.
	ConditionPaused ConditionState = "Paused"
	// ConditionAwaitingApproval is a pause that waits for an approve or reject decision.
	ConditionAwaitingApproval ConditionState = "AwaitingApproval"
	// ConditionPassed has passed.
	ConditionPassed ConditionState = "Passed"
	// ConditionFailed has failed; the Rollout rolls back.
	ConditionFailed ConditionState = "Failed"
)

// StrategyConditionStatus is the state of one blue/green condition.
type StrategyConditionStatus struct {
	// gate names the condition as decisions do, such as redirectTrafficAfter[0].
	// +required
	Gate string `json:"gate"`

	// kind is pause, analysis, runWebhook or exposeServices.
	// +required
	Kind string `json:"kind"`

	// state is Pending, Running, Paused, AwaitingApproval, Passed or Failed.
	// +required
	State ConditionState `json:"state"`

	// message says what the condition waits for, or why it passed or failed.
	// +optional
	Message string `json:"message,omitempty"`
}

// Rollout is what one target must do for one Deployment. The Deployment controller generates it in
// the cloud cluster; the Hub and the agent mirror it into the target cluster, where the agent's
// executor runs it and reports status back.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=arol;arollout,categories=aurora
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.target`
// +kubebuilder:printcolumn:name="Account",type=string,JSONPath=`.spec.account`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Step",type=integer,JSONPath=`.status.currentStep`
// +kubebuilder:printcolumn:name="Steps",type=integer,JSONPath=`.status.totalSteps`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.weight`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Rollout struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the target must do.
	// +required
	Spec RolloutSpec `json:"spec"`

	// status is the progress in the target cluster.
	// +optional
	// +kubebuilder:default:={"observedGeneration":-1}
	Status RolloutStatus `json:"status,omitempty"`
}

// GetConditions returns the rollout's status conditions.
func (r *Rollout) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions replaces the rollout's status conditions.
func (r *Rollout) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }

// RolloutList is a list of Rollouts.
// +kubebuilder:object:root=true
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the rollouts.
	Items []Rollout `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Rollout{}, &RolloutList{})
}

// AfterDeploymentAnalysis is an analysis gate of a target's constraints.afterDeployment, run by the
// executor at the end of the Rollout.
type AfterDeploymentAnalysis struct {
	// index is the gate's index in the target's constraints.afterDeployment: its gate name is
	// afterDeployment[<index>].
	// +kubebuilder:validation:Minimum=0
	Index int32 `json:"index"`
	// analysis is the gate's analysis, as in deploy.yml.
	Analysis deployv1alpha1.AnalysisStep `json:"analysis"`
}

// AfterDeploymentWebhook is a runWebhook gate of a target's constraints.afterDeployment whose
// webhook has networkMode remoteNetworkAgent, called by the executor at the end of the Rollout.
type AfterDeploymentWebhook struct {
	// index is the gate's index in the target's constraints.afterDeployment: its gate name is
	// afterDeployment[<index>].
	// +kubebuilder:validation:Minimum=0
	Index int32 `json:"index"`
	// runWebhook is the gate's runWebhook, as in deploy.yml; the webhook it names is in
	// spec.webhooks.
	RunWebhook deployv1alpha1.RunWebhookStep `json:"runWebhook"`
}

// BeforeDeploymentWebhook is a runWebhook gate of a target's constraints.beforeDeployment whose webhook
// has networkMode remoteNetworkAgent, called by the executor before the Rollout applies anything.
type BeforeDeploymentWebhook struct {
	// index is the gate's index in the target's constraints.beforeDeployment: its gate name is
	// beforeDeployment[<index>].
	// +kubebuilder:validation:Minimum=0
	Index int32 `json:"index"`
	// runWebhook is the gate's runWebhook, as in deploy.yml; the webhook it names is in
	// spec.webhooks.
	RunWebhook deployv1alpha1.RunWebhookStep `json:"runWebhook"`
}
