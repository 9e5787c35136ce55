package v1alpha1

// TrafficManagement says how traffic reaches the versions of the application in some targets.
type TrafficManagement struct {
	// targets this block applies to; leave out to apply it to every target.
	// +optional
	// +listType=set
	Targets []string `json:"targets,omitempty"`

	// smi splits traffic with an SMI TrafficSplit (Linkerd, for example).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	SMI []SMITrafficManagement `json:"smi,omitempty"`

	// istio splits traffic with an Istio VirtualService and DestinationRule.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Istio []IstioTrafficManagement `json:"istio,omitempty"`

	// kubernetes switches plain Services between versions (blue/green by selector).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Kubernetes []KubernetesTrafficManagement `json:"kubernetes,omitempty"`
}

// SMITrafficManagement names the Services of an SMI traffic split.
type SMITrafficManagement struct {
	// rootServiceName is the Service clients call.
	// +required
	// +kubebuilder:validation:MinLength=1
	RootServiceName string `json:"rootServiceName"`
	// canaryServiceName is the Service of the new version; default <root>-canary.
	// +optional
	CanaryServiceName string `json:"canaryServiceName,omitempty"`
	// trafficSplitName is the TrafficSplit's name; default generated.
	// +optional
	TrafficSplitName string `json:"trafficSplitName,omitempty"`
}

// IstioTrafficManagement names the Istio objects that split traffic.
type IstioTrafficManagement struct {
	// virtualService is the VirtualService whose route weights are set.
	// +required
	VirtualService IstioVirtualService `json:"virtualService"`
	// destinationRule is the DestinationRule whose subsets select the versions.
	// +required
	DestinationRule IstioDestinationRule `json:"destinationRule"`
}

// IstioVirtualService names a VirtualService and, optionally, one of its HTTP routes.
type IstioVirtualService struct {
	// name of the VirtualService.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// httpRouteName is the route to weigh; needed when the VirtualService has several.
	// +optional
	HTTPRouteName string `json:"httpRouteName,omitempty"`
}

// IstioDestinationRule names a DestinationRule and its subsets.
type IstioDestinationRule struct {
	// name of the DestinationRule.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// activeSubsetName is the subset of the stable version.
	// +optional
	ActiveSubsetName string `json:"activeSubsetName,omitempty"`
	// canarySubsetName is the subset of the new version.
	// +optional
	CanarySubsetName string `json:"canarySubsetName,omitempty"`
}

// KubernetesTrafficManagement names the Services switched by a blue/green deployment.
type KubernetesTrafficManagement struct {
	// activeService carries production traffic.
	// +required
	// +kubebuilder:validation:MinLength=1
	ActiveService string `json:"activeService"`
	// previewService points at the new version before the switch.
	// +optional
	PreviewService string `json:"previewService,omitempty"`
}
