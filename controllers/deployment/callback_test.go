package deployment

import (
	"testing"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestCallbackBaseURI(t *testing.T) {
	tests := []struct{ api, deployment, target, want string }{
		{"https://api.aurora.example:8444", "potato-facts-x7k2p", "prod", "https://api.aurora.example:8444/webhooks/potato-facts-x7k2p/prod"},
		{"https://api.aurora.example/", "d", "us east", "https://api.aurora.example/webhooks/d/us%20east"},
		{"", "d", "prod", ""},
	}
	for _, tt := range tests {
		if got := CallbackBaseURI(tt.api, tt.deployment, tt.target); got != tt.want {
			t.Errorf("CallbackBaseURI(%q, %q, %q) = %q, want %q", tt.api, tt.deployment, tt.target, got, tt.want)
		}
	}
	plan := Plan{Create: []*rolloutv1alpha1.Rollout{{Spec: rolloutv1alpha1.RolloutSpec{DeploymentName: "d", Target: "staging"}}}}
	setCallbackURIs(&plan, "https://api")
	if got := plan.Create[0].Spec.CallbackBaseURI; got != "https://api/webhooks/d/staging" {
		t.Errorf("callbackBaseURI = %q", got)
	}
}
