// Package v1alpha1 contains the Rollout kind: what one target cluster must do for one Deployment.
// +kubebuilder:object:generate=true
// +groupName=rollout.aurora.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the Rollout kind.
	GroupVersion = schema.GroupVersion{Group: "rollout.aurora.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the Rollout kind with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Rollout kind to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
