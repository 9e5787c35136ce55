// Package v1alpha1 contains the identity kinds of Aurora: Tenant, MachineCredential and User.
// +kubebuilder:object:generate=true
// +groupName=iam.aurora.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the identity kinds.
	GroupVersion = schema.GroupVersion{Group: "iam.aurora.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the identity kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the identity kinds to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
