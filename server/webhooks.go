package server

import (
	"fmt"
	"net/http"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

// WebhookCallback is the body of POST /webhooks/{pipelineId}/{target}/{gate}/callback.
type WebhookCallback struct {
	// Success approves the gate; false rolls the target back.
	Success *bool `json:"success"`
	// MDMessage is markdown that becomes the Judgment's reason.
	MDMessage string `json:"mdMessage,omitempty"`
}

// webhookCallback turns a webhook's callback into a Judgment: success approves the gate, failure
// rolls the target back with mdMessage as the reason.
func (s *Server) webhookCallback(w http.ResponseWriter, r *http.Request, c *caller) error {
	var cb WebhookCallback
	if err := decodeJSONBody(r, &cb); err != nil {
		return err
	}
	if cb.Success == nil {
		return invalidField("success", "required: true approves the gate, false rolls the target back")
	}
	target, gate := r.PathValue("target"), r.PathValue("gate")
	if _, _, ok := deployment.ParseGate(gate); !ok {
		return invalidField("gate", "expected a gate name such as steps[1] (path-escaped steps%%5B1%%5D), got %q", gate)
	}
	d, err := s.deploymentOf(r.Context(), c, r.PathValue("pipelineId"))
	if err != nil {
		return err
	}
	if _, ok := d.Spec.Targets[target]; !ok {
		return notFound("pipeline %s has no target %q", d.Name, target)
	}
	reason := truncate(cb.MDMessage, maxReasonLength)
	req := JudgmentRequest{Target: target, Gate: gate, Reason: reason}
	decision := deployv1alpha1.DecisionApprove
	if !*cb.Success {
		decision = deployv1alpha1.DecisionRollback
		req.Gate = ""
		if req.Reason == "" {
			req.Reason = fmt.Sprintf("webhook of %s reported failure", gate)
		}
	}
	ans, err := s.decide(r.Context(), c, d, decision, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, ans)
	return nil
}
