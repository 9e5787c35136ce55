package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnalysisConfig holds the metric queries that analysis steps name.
type AnalysisConfig struct {
	// defaultMetricProviderName is the metric provider used by queries that name none.
	// +optional
	DefaultMetricProviderName string `json:"defaultMetricProviderName,omitempty"`

	// queries are the metric queries, referred to by name from analysis steps.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	Queries []Query `json:"queries"`
}

// Query is a metric query with the limits its result must stay within.
// +kubebuilder:validation:XValidation:rule="has(self.upperLimit) || has(self.lowerLimit)",message="a query needs an upperLimit, a lowerLimit or both"
// +kubebuilder:validation:XValidation:rule="!has(self.upperLimit) || !has(self.lowerLimit) || self.lowerLimit <= self.upperLimit",message="lowerLimit must not be greater than upperLimit"
type Query struct {
	// name identifies the query in analysis steps.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// upperLimit fails the query when its result is above it.
	// +optional
	UpperLimit *float64 `json:"upperLimit,omitempty"`

	// lowerLimit fails the query when its result is below it.
	// +optional
	LowerLimit *float64 `json:"lowerLimit,omitempty"`

	// metricProviderName overrides the default metric provider for this query.
	// +optional
	MetricProviderName string `json:"metricProviderName,omitempty"`

	// queryTemplate is the query, with {{armory.*}}, {{context.*}} and {{secrets.*}} variables.
	// +required
	// +kubebuilder:validation:MinLength=1
	QueryTemplate string `json:"queryTemplate"`
}

// AnalysisVerdict is the outcome of a query, a run or an analysis step.
// +kubebuilder:validation:Enum=Pass;Fail;Error
type AnalysisVerdict string

// Verdicts of an analysis.
const (
	// VerdictPass: within the limits.
	VerdictPass AnalysisVerdict = "Pass"
	// VerdictFail: outside the limits.
	VerdictFail AnalysisVerdict = "Fail"
	// VerdictError: the query could not be run or returned no value; it counts as a failure.
	VerdictError AnalysisVerdict = "Error"
)

// AnalysisRun is one query of one judgment run of an analysis step or gate.
type AnalysisRun struct {
	// gate is the step or gate, such as steps[2] or afterDeployment[0].
	// +required
	Gate string `json:"gate"`
	// run is the 1-based judgment run.
	// +required
	Run int32 `json:"run"`
	// query is the query's name.
	// +required
	Query string `json:"query"`
	// provider is the metric provider that ran it.
	// +optional
	Provider string `json:"provider,omitempty"`
	// rendered is the query sent to the provider, with {{secrets.*}} left unresolved.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Rendered string `json:"rendered,omitempty"`
	// value is the result, as a decimal string; empty when there was none.
	// +optional
	Value string `json:"value,omitempty"`
	// verdict is Pass, Fail or Error.
	// +required
	Verdict AnalysisVerdict `json:"verdict"`
	// message says why it failed.
	// +optional
	Message string `json:"message,omitempty"`
	// start and end bound the window queried.
	// +optional
	Start *metav1.Time `json:"start,omitempty"`
	// end is the end of the window queried.
	// +optional
	End *metav1.Time `json:"end,omitempty"`
}
