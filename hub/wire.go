package hub

import (
	"encoding/json"
	"fmt"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// wireRollout is the Rollout an ApplyRollout carries: what the agent needs to re-create it in its
// cluster, without the cloud's status, uid, resourceVersion or managed fields.
type wireRollout struct {
	APIVersion string                      `json:"apiVersion"`
	Kind       string                      `json:"kind"`
	Metadata   wireMetadata                `json:"metadata"`
	Spec       rolloutv1alpha1.RolloutSpec `json:"spec"`
}

// wireMetadata is the part of a Rollout's metadata an ApplyRollout carries.
type wireMetadata struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// rolloutJSON returns the JSON an ApplyRollout carries for r: apiVersion, kind, metadata (name,
// labels, annotations) and spec.
func rolloutJSON(r *rolloutv1alpha1.Rollout) ([]byte, error) {
	body, err := json.Marshal(wireRollout{
		APIVersion: rolloutv1alpha1.GroupVersion.String(),
		Kind:       "Rollout",
		Metadata:   wireMetadata{Name: r.Name, Labels: r.Labels, Annotations: r.Annotations},
		Spec:       r.Spec,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding Rollout %s/%s: %w", r.Namespace, r.Name, err)
	}
	return body, nil
}

// refOf returns the ref of a cloud Rollout at its current generation.
func refOf(r *rolloutv1alpha1.Rollout) rolloutRef {
	return rolloutRef{UID: r.UID, Namespace: r.Namespace, Name: r.Name, Generation: r.Generation}
}

// agentOf returns the agent a Rollout is labelled for, or "".
func agentOf(r *rolloutv1alpha1.Rollout) string {
	return r.Labels[deployv1alpha1.AgentLabel]
}

// Names of the Envelope payloads, as metrics and logs spell them.
const (
	payloadHello         = "hello"
	payloadWelcome       = "welcome"
	payloadApplyRollout  = "apply_rollout"
	payloadDeleteRollout = "delete_rollout"
	payloadAck           = "ack"
	payloadRolloutStatus = "rollout_status"
	payloadRequest       = "request"
	payloadResponse      = "response"
	payloadHeartbeat     = "heartbeat"
	payloadDrain         = "drain"
	payloadInventory     = "inventory"
	payloadHTTP          = "http"
	payloadUnknown       = "unknown"
)

// payloadNames lists every payload name, for metrics initialisation.
var payloadNames = []string{
	payloadHello, payloadWelcome, payloadApplyRollout, payloadDeleteRollout, payloadAck, payloadRolloutStatus,
	payloadRequest, payloadResponse, payloadHeartbeat, payloadDrain, payloadInventory, payloadHTTP, payloadUnknown,
}

// payloadName names the payload of env.
func payloadName(env *tunnelv1.Envelope) string {
	switch env.GetPayload().(type) {
	case *tunnelv1.Envelope_Hello:
		return payloadHello
	case *tunnelv1.Envelope_Welcome:
		return payloadWelcome
	case *tunnelv1.Envelope_ApplyRollout:
		return payloadApplyRollout
	case *tunnelv1.Envelope_DeleteRollout:
		return payloadDeleteRollout
	case *tunnelv1.Envelope_Ack:
		return payloadAck
	case *tunnelv1.Envelope_RolloutStatus:
		return payloadRolloutStatus
	case *tunnelv1.Envelope_Request:
		return payloadRequest
	case *tunnelv1.Envelope_Response:
		return payloadResponse
	case *tunnelv1.Envelope_Heartbeat:
		return payloadHeartbeat
	case *tunnelv1.Envelope_Drain:
		return payloadDrain
	case *tunnelv1.Envelope_Inventory:
		return payloadInventory
	case *tunnelv1.Envelope_HttpRequest, *tunnelv1.Envelope_HttpResponse, *tunnelv1.Envelope_HttpBody,
		*tunnelv1.Envelope_HttpWindow, *tunnelv1.Envelope_HttpCancel:
		return payloadHTTP
	default:
		return payloadUnknown
	}
}
