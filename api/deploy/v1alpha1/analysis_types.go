package v1alpha1

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
