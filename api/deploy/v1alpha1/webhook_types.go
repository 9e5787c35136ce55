package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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

	// timeout is how long the step waits for the callback before it fails. Default 24 hours.
	// +optional
	Timeout *Timeout `json:"timeout,omitempty"`
}

// WebhookCall is one runWebhook step or gate: its calls and how it ended.
type WebhookCall struct {
	// gate is the step or gate, such as steps[2] or beforeDeployment[0].
	// +required
	Gate string `json:"gate"`
	// name is the webhook's name.
	// +required
	Name string `json:"name"`
	// attempts counts the calls made (1 + retries).
	// +optional
	Attempts int32 `json:"attempts,omitempty"`
	// statusCode is the HTTP status of the last call; 0 when it got no answer.
	// +optional
	StatusCode int32 `json:"statusCode,omitempty"`
	// calledAt is when the call succeeded (or the last attempt failed).
	// +optional
	CalledAt *metav1.Time `json:"calledAt,omitempty"`
	// phase is Calling, AwaitingCallback, Succeeded, Failed or TimedOut.
	// +optional
	Phase WebhookPhase `json:"phase,omitempty"`
	// message is the callback's mdMessage, or why the call failed; empty while an attempt is being
	// made.
	// +optional
	Message string `json:"message,omitempty"`
}

// WebhookPhase is where a webhook step stands.
// +kubebuilder:validation:Enum=Calling;AwaitingCallback;Succeeded;Failed;TimedOut
type WebhookPhase string

// Phases of a webhook step.
const (
	// WebhookCalling is calling (or retrying) the webhook.
	WebhookCalling WebhookPhase = "Calling"
	// WebhookAwaitingCallback waits for the receiver's callback.
	WebhookAwaitingCallback WebhookPhase = "AwaitingCallback"
	// WebhookSucceeded got a successful callback (or the call succeeded, with disableCallback).
	WebhookSucceeded WebhookPhase = "Succeeded"
	// WebhookFailed got a failed callback, or every attempt of the call failed.
	WebhookFailed WebhookPhase = "Failed"
	// WebhookTimedOut got no callback within the timeout.
	WebhookTimedOut WebhookPhase = "TimedOut"
)

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
