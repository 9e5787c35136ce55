package v1alpha1

// Strategy is a named way to roll a new version out: canary or blue/green, exactly one.
// +kubebuilder:validation:XValidation:rule="has(self.canary) != has(self.blueGreen)",message="a strategy sets exactly one of canary or blueGreen"
type Strategy struct {
	// canary replaces the old version step by step: setWeight, pause, analysis, runWebhook and
	// exposeServices steps, in order.
	// +optional
	Canary *CanaryStrategy `json:"canary,omitempty"`

	// blueGreen starts the new version beside the old one and switches the active Service to it
	// once the redirectTrafficAfter conditions pass.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
}

// CanaryStrategy is an ordered list of canary steps. Aurora adds a final setWeight of 100.
type CanaryStrategy struct {
	// steps run in order; a failure rolls back to the last stable version.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Steps []CanaryStep `json:"steps"`
}

// CanaryStep is one step of a canary strategy: exactly one of its fields is set.
// +kubebuilder:validation:XValidation:rule="[has(self.setWeight), has(self.pause), has(self.analysis), has(self.runWebhook), has(self.exposeServices)].filter(x, x).size() == 1",message="a canary step sets exactly one of setWeight, pause, analysis, runWebhook or exposeServices"
type CanaryStep struct {
	// setWeight sends this share of the application to the new version: a pod ratio without a
	// service mesh, a traffic split with SMI or Istio.
	// +optional
	SetWeight *SetWeightStep `json:"setWeight,omitempty"`

	// pause waits for a duration or until a person approves.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`

	// analysis runs metric queries against the new version and rolls back when they fail.
	// +optional
	Analysis *AnalysisStep `json:"analysis,omitempty"`

	// runWebhook calls a webhook from spec.webhooks and waits for its callback.
	// +optional
	RunWebhook *RunWebhookStep `json:"runWebhook,omitempty"`

	// exposeServices creates temporary preview links to Services of the new version.
	// +optional
	ExposeServices *ExposeServicesStep `json:"exposeServices,omitempty"`
}

// SetWeightStep sets the share of the new version.
type SetWeightStep struct {
	// weight is the percentage of the new version, 0 to 100; it should grow from step to step.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
}

// PauseStep waits either for a duration or until approved: exactly one of the two.
// +kubebuilder:validation:XValidation:rule="has(self.duration) != (has(self.untilApproved) && self.untilApproved)",message="a pause sets exactly one of duration (with unit) or untilApproved: true"
// +kubebuilder:validation:XValidation:rule="!has(self.duration) || has(self.unit)",message="a pause with a duration needs a unit (seconds, minutes or hours)"
// +kubebuilder:validation:XValidation:rule="(!has(self.requiresRoles) && !has(self.approvalExpiration)) || (has(self.untilApproved) && self.untilApproved)",message="requiresRoles and approvalExpiration apply only to a pause with untilApproved: true"
type PauseStep struct {
	// duration is how long to wait, in unit.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Duration *int32 `json:"duration,omitempty"`

	// unit is the unit of duration: seconds, minutes or hours.
	// +optional
	Unit TimeUnit `json:"unit,omitempty"`

	// untilApproved waits until a Judgment approves (or rejects) the deployment.
	// +optional
	UntilApproved bool `json:"untilApproved,omitempty"`

	// requiresRoles limits who may approve to the holders of one of these roles. Organization and
	// tenant admins can always approve.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	RequiresRoles []string `json:"requiresRoles,omitempty"`

	// approvalExpiration cancels (or rolls back) the deployment when nobody approves in time.
	// +optional
	ApprovalExpiration *Timeout `json:"approvalExpiration,omitempty"`
}

// MetricUnit is the unit of an analysis interval.
// +kubebuilder:validation:Enum=none;seconds;minutes;hours
type MetricUnit string

// JudgmentMode says whether an analysis verdict acts by itself or waits for a person.
// +kubebuilder:validation:Enum=automatic;manual
type JudgmentMode string

// Judgment modes of an analysis step.
const (
	// Automatic acts on the verdict at once.
	Automatic JudgmentMode = "automatic"
	// Manual waits for a Judgment before acting on the verdict.
	Manual JudgmentMode = "manual"
)

// LookbackMethod says which window each analysis run queries.
// +kubebuilder:validation:Enum=growing;sliding
type LookbackMethod string

// AnalysisStep judges the new version by metric queries. Every query must pass.
type AnalysisStep struct {
	// interval is the length of one judgment run, in units.
	// +required
	// +kubebuilder:validation:Minimum=1
	Interval int32 `json:"interval"`

	// units is the unit of interval: none, seconds, minutes or hours.
	// +required
	Units MetricUnit `json:"units"`

	// numberOfJudgmentRuns is how many runs are made; the verdict averages them.
	// +required
	// +kubebuilder:validation:Minimum=1
	NumberOfJudgmentRuns int32 `json:"numberOfJudgmentRuns"`

	// rollBackMode is automatic (roll back on a failed verdict) or manual (wait for a Judgment).
	// +optional
	// +kubebuilder:default=automatic
	RollBackMode JudgmentMode `json:"rollBackMode,omitempty"`

	// rollForwardMode is automatic (go on after a passing verdict) or manual (wait for a Judgment).
	// +optional
	// +kubebuilder:default=automatic
	RollForwardMode JudgmentMode `json:"rollForwardMode,omitempty"`

	// queries are names of spec.analysis.queries to run.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Queries []string `json:"queries"`

	// lookbackMethod is growing (each run queries from the start) or sliding (only its interval).
	// +optional
	LookbackMethod LookbackMethod `json:"lookbackMethod,omitempty"`

	// abortOnFailedJudgment stops at the first failed run instead of finishing every run.
	// +optional
	AbortOnFailedJudgment bool `json:"abortOnFailedJudgment,omitempty"`

	// metricProviderName overrides spec.analysis.defaultMetricProviderName for this step.
	// +optional
	MetricProviderName string `json:"metricProviderName,omitempty"`

	// context supplies the {{context.*}} variables of the queries.
	// +optional
	Context map[string]string `json:"context,omitempty"`
}

// RunWebhookStep calls a webhook and waits for its callback.
type RunWebhookStep struct {
	// name is the name of an entry in spec.webhooks.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// context supplies the {{context.*}} variables of the webhook.
	// +optional
	Context map[string]string `json:"context,omitempty"`
}

// ExposeServicesStep creates temporary preview links to Services of the new version.
// +kubebuilder:validation:XValidation:rule="!has(self.ttl) || ((self.ttl.unit == 'seconds' ? self.ttl.duration : (self.ttl.unit == 'minutes' ? self.ttl.duration * 60 : self.ttl.duration * 3600)) >= 60 && (self.ttl.unit == 'seconds' ? self.ttl.duration : (self.ttl.unit == 'minutes' ? self.ttl.duration * 60 : self.ttl.duration * 3600)) <= 86400)",message="ttl must be between 1 minute and 24 hours"
type ExposeServicesStep struct {
	// services are Services in the application's namespace, each with a single HTTP port.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	Services []string `json:"services"`

	// ttl is how long the links live: 1 minute to 24 hours, default 5 minutes.
	// +optional
	TTL *Timeout `json:"ttl,omitempty"`
}

// BlueGreenStrategy runs the new version beside the old and switches the active Service to it.
type BlueGreenStrategy struct {
	// activeService carries production traffic; it is switched to the new version. It can also
	// come from spec.trafficManagement[].kubernetes[].activeService.
	// +optional
	ActiveService string `json:"activeService,omitempty"`

	// previewService points at the new version at once, for testing before the switch.
	// +optional
	PreviewService string `json:"previewService,omitempty"`

	// redirectTrafficAfter are conditions, run in parallel, that must pass before the switch.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	RedirectTrafficAfter []BlueGreenCondition `json:"redirectTrafficAfter,omitempty"`

	// shutDownOldVersionAfter are conditions, run in parallel, that must pass before the old
	// version is removed.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	ShutDownOldVersionAfter []BlueGreenCondition `json:"shutDownOldVersionAfter,omitempty"`
}

// BlueGreenCondition is one condition of a blue/green strategy: exactly one field is set.
// +kubebuilder:validation:XValidation:rule="[has(self.pause), has(self.analysis), has(self.runWebhook), has(self.exposeServices)].filter(x, x).size() == 1",message="a blue/green condition sets exactly one of pause, analysis, runWebhook or exposeServices"
type BlueGreenCondition struct {
	// pause waits for a duration or until approved.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`
	// analysis runs metric queries against the new version.
	// +optional
	Analysis *AnalysisStep `json:"analysis,omitempty"`
	// runWebhook calls a webhook and waits for its callback.
	// +optional
	RunWebhook *RunWebhookStep `json:"runWebhook,omitempty"`
	// exposeServices creates temporary preview links.
	// +optional
	ExposeServices *ExposeServicesStep `json:"exposeServices,omitempty"`
}
