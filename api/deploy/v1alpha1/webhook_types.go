package v1alpha1

// NetworkMode says where a webhook is called from.
// +kubebuilder:validation:Enum=direct;remoteNetworkAgent
type NetworkMode string

// Network modes of a webhook.
const (
	// NetworkModeDirect calls the webhook from the control plane.
	NetworkModeDirect NetworkMode = "direct"
	// NetworkModeRemoteNetworkAgent calls the webhook from a Remote Network Agent, inside its network.
	NetworkModeRemoteNetworkAgent NetworkMode = "remoteNetworkAgent"
)

// Webhook is an external automation that a runWebhook step calls; it answers through a callback.
type Webhook struct {
	// name identifies the webhook in runWebhook steps.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// method is the HTTP method.
	// +required
	// +kubebuilder:validation:Enum=GET;HEAD;POST;PUT;PATCH;DELETE;OPTIONS
	Method string `json:"method"`

	// uriTemplate is the URL, with {{armory.*}}, {{context.*}} and {{secrets.*}} variables.
	// +required
	// +kubebuilder:validation:MinLength=1
	URITemplate string `json:"uriTemplate"`

	// networkMode is direct (from the control plane) or remoteNetworkAgent (from an RNA).
	// +optional
	NetworkMode NetworkMode `json:"networkMode,omitempty"`

	// isRemoteNetworkAgent is the older form of networkMode: remoteNetworkAgent.
	// +optional
	IsRemoteNetworkAgent bool `json:"isRemoteNetworkAgent,omitempty"`

	// agentIdentifier is the RNA that makes the call; default the RNA of the target's account.
	// +optional
	AgentIdentifier string `json:"agentIdentifier,omitempty"`

	// headers are sent with the request; their values are templated.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Headers []WebhookHeader `json:"headers,omitempty"`

	// bodyTemplate is the templated request body.
	// +optional
	BodyTemplate *BodyTemplate `json:"bodyTemplate,omitempty"`

	// retryCount is how many times a failed call is retried. Default 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	RetryCount int32 `json:"retryCount,omitempty"`

	// disableCallback makes the step go on once the call succeeds, without waiting for a callback.
	// +optional
	DisableCallback bool `json:"disableCallback,omitempty"`
}

// WebhookHeader is one HTTP header of a webhook call.
type WebhookHeader struct {
	// key is the header's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
	// value is the header's templated value.
	// +required
	Value string `json:"value"`
}

// BodyTemplate is the body of a webhook call.
type BodyTemplate struct {
	// inline is the templated body.
	// +required
	Inline string `json:"inline"`
}
