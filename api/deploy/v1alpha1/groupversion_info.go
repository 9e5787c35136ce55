// Package v1alpha1 contains the deployment kinds of Aurora: Deployment (one run of a deploy.yml),
// Judgment (a decision on a running Deployment) and Agent (a registered Remote Network Agent).
// +kubebuilder:object:generate=true
// +groupName=deploy.aurora.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the deployment kinds.
	GroupVersion = schema.GroupVersion{Group: "deploy.aurora.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the deployment kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the deployment kinds to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
