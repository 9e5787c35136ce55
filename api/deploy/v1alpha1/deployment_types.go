package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeploymentSpec is a deploy.yml: its body pasted under spec is a valid Deployment. Manifests are
// carried inline (the aurora CLI resolves paths, directories and URLs before it submits).
// +kubebuilder:validation:XValidation:rule="self.targets.all(k, has(self.strategies) && self.targets[k].strategy in self.strategies)",message="targets[].strategy: every target's strategy must be the name of an entry in spec.strategies"
// +kubebuilder:validation:XValidation:rule="self.targets.all(k, !has(self.targets[k].constraints) || !has(self.targets[k].constraints.dependsOn) || self.targets[k].constraints.dependsOn.all(d, d in self.targets && d != k))",message="targets[].constraints.dependsOn: every name must be another key of spec.targets"
// +kubebuilder:validation:XValidation:rule="self.manifests.all(m, !has(m.targets) || m.targets.all(t, t in self.targets))",message="manifests[].targets: every name must be a key of spec.targets"
// +kubebuilder:validation:XValidation:rule="!has(self.targetFilters) || self.targetFilters.all(f, f.includeTarget in self.targets)",message="targetFilters[].includeTarget: every name must be a key of spec.targets"
type DeploymentSpec struct {
	// version is the deploy file's schema version.
	// +optional
	// +kubebuilder:default=v1
	// +kubebuilder:validation:Enum=v1
	Version string `json:"version,omitempty"`

	// kind is the kind of targets: kubernetes.
	// +optional
	// +kubebuilder:default=kubernetes
	// +kubebuilder:validation:Enum=kubernetes
	Kind string `json:"kind,omitempty"`

	// application is the name of the application. One deployment per application and tenant is in
	// flight at a time (see deploymentConfig.ifDeploymentInProgress).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Application string `json:"application"`

	// deploymentConfig holds settings that apply to every target.
	// +optional
	DeploymentConfig *DeploymentConfig `json:"deploymentConfig,omitempty"`

	// targets are the environments to deploy to, by name.
	// +required
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=64
	Targets map[string]Target `json:"targets"`

	// manifests are the Kubernetes manifests to deploy, each to every target or to some.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	Manifests []Manifest `json:"manifests"`

	// strategies are the named strategies that targets refer to.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Strategies map[string]Strategy `json:"strategies,omitempty"`

	// analysis holds the metric queries that analysis steps use.
	// +optional
	Analysis *AnalysisConfig `json:"analysis,omitempty"`

	// webhooks are the external automations that runWebhook steps call.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	Webhooks []Webhook `json:"webhooks,omitempty"`

	// trafficManagement says how traffic is split or switched in each target.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	TrafficManagement []TrafficManagement `json:"trafficManagement,omitempty"`

	// targetFilters narrow the deployment to some of its targets.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	TargetFilters []TargetFilter `json:"targetFilters,omitempty"`

	// contextOverrides supply {{context.*}} variables to every query and webhook.
	// +optional
	ContextOverrides map[string]string `json:"contextOverrides,omitempty"`
}

// DeploymentConfig holds settings that apply to every target.
type DeploymentConfig struct {
	// timeout bounds how long each target may take to become Ready. Default 30 minutes, at least
	// 60 seconds.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.unit != 'seconds' || self.duration >= 60",message="timeout must be at least 60 seconds"
	Timeout *Timeout `json:"timeout,omitempty"`

	// keepDeploymentObject keeps the apps/v1 Deployment object instead of turning it into managed
	// ReplicaSets.
	// +optional
	KeepDeploymentObject bool `json:"keepDeploymentObject,omitempty"`

	// ifDeploymentInProgress says what happens when this application already has a deployment in
	// flight: reject this one (default) or queue it.
	// +optional
	IfDeploymentInProgress *IfDeploymentInProgress `json:"ifDeploymentInProgress,omitempty"`
}

// InProgressStrategy says what to do with a deployment while another of the application runs.
// +kubebuilder:validation:Enum=reject;enqueueOne
type InProgressStrategy string

// What to do with a deployment while another one of the same application is in flight.
const (
	// RejectInProgress refuses the new deployment.
	RejectInProgress InProgressStrategy = "reject"
	// EnqueueOneInProgress queues the new deployment, replacing one already queued.
	EnqueueOneInProgress InProgressStrategy = "enqueueOne"
)

// IfDeploymentInProgress says what happens when the application already has a deployment in flight.
type IfDeploymentInProgress struct {
	// strategy is reject (default) or enqueueOne.
	// +required
	Strategy InProgressStrategy `json:"strategy"`
}

// Target is one environment to deploy to.
type Target struct {
	// account is the agentIdentifier of the Remote Network Agent in the target cluster.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Account string `json:"account"`

	// namespace overrides the namespace of the manifests.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// strategy is the name of an entry in spec.strategies.
	// +required
	// +kubebuilder:validation:MinLength=1
	Strategy string `json:"strategy"`

	// constraints order the targets and gate them.
	// +optional
	Constraints *Constraints `json:"constraints,omitempty"`
}

// Constraints order a target after others and gate its start and its dependants.
type Constraints struct {
	// dependsOn are targets that must succeed (with their afterDeployment gates) before this one.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	DependsOn []string `json:"dependsOn,omitempty"`

	// beforeDeployment are gates, evaluated in parallel, before this target starts.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	BeforeDeployment []BeforeDeploymentStep `json:"beforeDeployment,omitempty"`

	// afterDeployment are gates, evaluated in parallel, after this target and before its dependants.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	AfterDeployment []AfterDeploymentStep `json:"afterDeployment,omitempty"`
}

// BeforeDeploymentStep is a gate before a target starts: a pause or a webhook.
// +kubebuilder:validation:XValidation:rule="has(self.pause) != has(self.runWebhook)",message="a beforeDeployment gate sets exactly one of pause or runWebhook"
type BeforeDeploymentStep struct {
	// pause waits for a duration or until approved.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`
	// runWebhook calls a webhook and waits for its callback.
	// +optional
	RunWebhook *RunWebhookStep `json:"runWebhook,omitempty"`
}

// AfterDeploymentStep is a gate after a target and before its dependants.
// +kubebuilder:validation:XValidation:rule="[has(self.pause), has(self.runWebhook), has(self.analysis)].filter(x, x).size() == 1",message="an afterDeployment gate sets exactly one of pause, runWebhook or analysis"
type AfterDeploymentStep struct {
	// pause waits for a duration or until approved.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`
	// runWebhook calls a webhook and waits for its callback.
	// +optional
	RunWebhook *RunWebhookStep `json:"runWebhook,omitempty"`
	// analysis runs metric queries against the deployed version.
	// +optional
	Analysis *AnalysisStep `json:"analysis,omitempty"`
}

// Manifest is one or more Kubernetes manifests, as YAML, for every target or for some.
// +kubebuilder:validation:XValidation:rule="!has(self.path)",message="path is resolved by the aurora CLI (aurora deploy start); a Deployment resource carries its manifests inline"
// +kubebuilder:validation:XValidation:rule="has(self.inline) && self.inline.size() > 0",message="inline must hold at least one manifest"
type Manifest struct {
	// inline is YAML: one or more documents separated by ---.
	// +optional
	Inline string `json:"inline,omitempty"`

	// path is a file, directory or URL in a deploy.yml; the aurora CLI reads it into inline. A
	// Deployment resource must not set it.
	// +optional
	Path string `json:"path,omitempty"`

	// targets are the targets to deploy this manifest to; leave out for every target.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	Targets []string `json:"targets,omitempty"`
}

// TargetFilter keeps one target in the deployment.
type TargetFilter struct {
	// includeTarget is the name of a target to deploy.
	// +required
	// +kubebuilder:validation:MinLength=1
	IncludeTarget string `json:"includeTarget"`
}

// DeploymentState is the status word of a deployment, as Armory's users know it.
// +kubebuilder:validation:Enum=QUEUED;RUNNING;PAUSED;AWAITING_APPROVAL;SUCCEEDED;FAILED;CANCELLED;ROLLED_BACK;REJECTED
type DeploymentState string

// Status words of a deployment.
const (
	// StateQueued waits for another deployment of the application to finish.
	StateQueued DeploymentState = "QUEUED"
	// StateRunning is in progress.
	StateRunning DeploymentState = "RUNNING"
	// StatePaused waits for a timed pause.
	StatePaused DeploymentState = "PAUSED"
	// StateAwaitingApproval waits for a Judgment.
	StateAwaitingApproval DeploymentState = "AWAITING_APPROVAL"
	// StateSucceeded finished: every target runs the new version.
	StateSucceeded DeploymentState = "SUCCEEDED"
	// StateFailed finished without reaching every target.
	StateFailed DeploymentState = "FAILED"
	// StateCancelled was cancelled by a Judgment or an expired approval.
	StateCancelled DeploymentState = "CANCELLED"
	// StateRolledBack was rolled back to the previous version.
	StateRolledBack DeploymentState = "ROLLED_BACK"
	// StateRejected was refused because another deployment of the application was in flight.
	StateRejected DeploymentState = "REJECTED"
)

// IsFinal reports whether a deployment in this state is done for good.
func (s DeploymentState) IsFinal() bool {
	switch s {
	case StateSucceeded, StateFailed, StateCancelled, StateRolledBack, StateRejected:
		return true
	}
	return false
}

// Reasons of the Deployment's conditions.
const (
	// ReasonRejected means another deployment of the same application was in flight.
	ReasonRejected = "DeploymentInProgress"
	// ReasonQueued means the deployment waits for another one of the application.
	ReasonQueued = "Queued"
	// ReasonAwaitingApproval means a gate or pause waits for a Judgment.
	ReasonAwaitingApproval = "AwaitingApproval"
	// ReasonAgentUnreachable means a target's agent is not connected.
	ReasonAgentUnreachable = "AgentUnreachable"
	// ReasonTimedOut means a target did not finish within deploymentConfig.timeout.
	ReasonTimedOut = "TimedOut"
	// ReasonRolledBack means a target was rolled back.
	ReasonRolledBack = "RolledBack"
	// ReasonCancelled means a Judgment or an expired approval cancelled the deployment.
	ReasonCancelled = "Cancelled"
	// ReasonFailed means a target failed.
	ReasonFailed = "Failed"
)

// TargetStatus is the progress of one target.
type TargetStatus struct {
	// name of the target.
	// +required
	Name string `json:"name"`
	// account is the target's agent.
	// +optional
	Account string `json:"account,omitempty"`
	// namespace the target deploys into.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// state is the target's status word.
	// +optional
	State DeploymentState `json:"state,omitempty"`
	// rolloutName is the Rollout generated for the target.
	// +optional
	RolloutName string `json:"rolloutName,omitempty"`
	// currentStep is the 1-based index of the strategy step being run; 0 before the first.
	// +optional
	CurrentStep int32 `json:"currentStep,omitempty"`
	// totalSteps is the number of steps of the resolved strategy.
	// +optional
	TotalSteps int32 `json:"totalSteps,omitempty"`
	// weight is the share of the new version, 0 to 100.
	// +optional
	Weight int32 `json:"weight,omitempty"`
	// message says what the target is doing or why it failed.
	// +optional
	Message string `json:"message,omitempty"`
	// startedAt is when the target's Rollout was created.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// finishedAt is when the target reached a final state.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// previews are the preview links of the target's exposeServices steps.
	// +optional
	// +listType=atomic
	Previews []PreviewLink `json:"previews,omitempty"`

	// analysis are the runs of the target's analysis steps, as its Rollout reports them.
	// +optional
	// +kubebuilder:validation:MaxItems=512
	// +listType=atomic
	Analysis []AnalysisRun `json:"analysis,omitempty"`
	// webhooks are the calls of the target's runWebhook steps and gates.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Webhooks []WebhookCall `json:"webhooks,omitempty"`
}

// PreviewLink is a temporary link to a Service of the new version, made by an exposeServices step.
type PreviewLink struct {
	// service is the Service's name.
	// +required
	Service string `json:"service"`
	// namespace is the Service's namespace in the target cluster.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// url reaches the Service through the Agent Hub and the agent's tunnel until expiresAt. It is
	// empty until the Hub signed it (the agent was disconnected).
	// +optional
	URL string `json:"url,omitempty"`
	// expiresAt is when the link stops working.
	// +required
	ExpiresAt metav1.Time `json:"expiresAt"`
	// step is the gate of the exposeServices step that made the link, such as steps[2].
	// +optional
	Step string `json:"step,omitempty"`
}

// PreviewURLs returns the links by Service name, the values of {{armory.preview.<service>}}: the
// latest link of each Service that has a URL.
func PreviewURLs(previews []PreviewLink) map[string]string {
	urls := make(map[string]string, len(previews))
	for _, p := range previews {
		if p.URL != "" {
			urls[p.Service] = p.URL
		}
	}
	return urls
}

// PendingApproval is a gate or pause waiting for a Judgment.
type PendingApproval struct {
	// target waiting.
	// +required
	Target string `json:"target"`
	// gate says what waits, such as beforeDeployment[0], afterDeployment[1] or steps[2].
	// +required
	Gate string `json:"gate"`
	// requiresRoles are the roles allowed to decide, if limited.
	// +optional
	RequiresRoles []string `json:"requiresRoles,omitempty"`
	// since is when the wait began.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// expiresAt is when the approval expires, if it does.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// AppliedJudgment records a Judgment applied to a deployment: who decided what, on what, when.
type AppliedJudgment struct {
	// name is the Judgment's name.
	// +required
	Name string `json:"name"`
	// decision is approve, reject, skip, rollback or cancel.
	// +required
	Decision Decision `json:"decision"`
	// author is who decided.
	// +optional
	Author string `json:"author,omitempty"`
	// reason says why.
	// +optional
	Reason string `json:"reason,omitempty"`
	// appliedTo lists the targets and gates the decision acted on, such as prod/steps[2].
	// +optional
	// +listType=atomic
	AppliedTo []string `json:"appliedTo,omitempty"`
	// appliedAt is when the decision was applied.
	// +optional
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`
}

// DeploymentStatus is the observed state of a Deployment.
type DeploymentStatus struct {
	// observedGeneration is the generation of the spec the controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are Ready, Reconciling and Stalled, as kstatus reads them.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// state is the deployment's status word: QUEUED, RUNNING, PAUSED, AWAITING_APPROVAL,
	// SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK or REJECTED.
	// +optional
	State DeploymentState `json:"state,omitempty"`

	// targetProgress is "done/total" targets, for kubectl get.
	// +optional
	TargetProgress string `json:"targetProgress,omitempty"`

	// targets is the progress of each target.
	// +optional
	// +listType=map
	// +listMapKey=name
	Targets []TargetStatus `json:"targets,omitempty"`

	// pendingApprovals are the gates and pauses waiting for a Judgment.
	// +optional
	// +listType=atomic
	PendingApprovals []PendingApproval `json:"pendingApprovals,omitempty"`

	// judgments is the audit trail: every Judgment applied to the deployment, in the order applied.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=name
	Judgments []AppliedJudgment `json:"judgments,omitempty"`

	// blockedBy names the deployment of the same application this one waits for.
	// +optional
	BlockedBy string `json:"blockedBy,omitempty"`

	// replacedBy names the queued deployment that replaced this one.
	// +optional
	ReplacedBy string `json:"replacedBy,omitempty"`

	// startedAt is when the deployment started running.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// finishedAt is when the deployment reached a final state.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
}

// Deployment is one run of a deploy.yml: it rolls a new version of an application out to its
// targets, in dependency order, through gates, with the named strategies.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=adep;adeploy,categories=aurora
// +kubebuilder:printcolumn:name="Application",type=string,JSONPath=`.spec.application`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Targets",type=string,JSONPath=`.status.targetProgress`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Deployment struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the deploy.yml.
	// +required
	Spec DeploymentSpec `json:"spec"`

	// status is the progress of the deployment.
	// +optional
	// +kubebuilder:default:={"observedGeneration":-1}
	Status DeploymentStatus `json:"status,omitempty"`
}

// GetConditions returns the deployment's status conditions.
func (d *Deployment) GetConditions() []metav1.Condition { return d.Status.Conditions }

// SetConditions replaces the deployment's status conditions.
func (d *Deployment) SetConditions(c []metav1.Condition) { d.Status.Conditions = c }

// DeploymentList is a list of Deployments.
// +kubebuilder:object:root=true
type DeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the deployments.
	Items []Deployment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Deployment{}, &DeploymentList{})
}
