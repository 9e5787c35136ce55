package principal

import (
	"testing"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

func TestHasScope(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		ask    iamv1alpha1.Scope
		want   bool
	}{
		{"exact scope", []string{"api:deployment:full"}, iamv1alpha1.ScopeDeploymentFull, true},
		{"other scope", []string{"api:deployment:full"}, iamv1alpha1.ScopeAgentHubFull, false},
		{"no scopes", nil, iamv1alpha1.ScopeDeploymentFull, false},
		{"tenant implies deployment", []string{"api:tenant:full"}, iamv1alpha1.ScopeDeploymentFull, true},
		{"tenant implies agent hub", []string{"api:tenant:full"}, iamv1alpha1.ScopeAgentHubFull, true},
		{"tenant does not imply organization", []string{"api:tenant:full"}, iamv1alpha1.ScopeOrganizationFull, false},
		{"organization implies tenant", []string{"api:organization:full"}, iamv1alpha1.ScopeTenantFull, true},
		{"organization implies read", []string{"api:organization:full"}, iamv1alpha1.ScopeInfrastructureRead, true},
		{"read does not imply deployment", []string{"read:infrastructure:data"}, iamv1alpha1.ScopeDeploymentFull, false},
		{"unknown scope grants nothing", []string{"api:everything:full"}, iamv1alpha1.ScopeDeploymentFull, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Principal{Scopes: tt.scopes}
			if got := p.HasScope(tt.ask); got != tt.want {
				t.Errorf("HasScope(%s) with %v = %v, want %v", tt.ask, tt.scopes, got, tt.want)
			}
		})
	}
}

func TestNamespaceAndTenant(t *testing.T) {
	p := Principal{Organization: "acme", Environment: "prod"}
	if got := p.Namespace(); got != "aurora-acme-prod" {
		t.Errorf("Namespace() = %q", got)
	}
	if !p.InTenant("acme", "prod") || p.InTenant("acme", "staging") || p.InTenant("globex", "prod") {
		t.Error("InTenant mismatched")
	}
}

func TestScopeStringRoundTrip(t *testing.T) {
	in := []string{"api:deployment:full", "read:infrastructure:data"}
	out := ParseScope(ScopeString(in))
	if len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Errorf("round trip = %v", out)
	}
}

func TestMayActAsAgent(t *testing.T) {
	hub := []string{"api:agentHub:full"}
	tests := []struct {
		name string
		p    Principal
		id   string
		want bool
	}{
		{"any agent of the tenant", Principal{Scopes: hub}, "staging", true},
		{"a listed agent", Principal{Scopes: hub, Agents: []string{"staging", "prod"}}, "prod", true},
		{"an unlisted agent", Principal{Scopes: hub, Agents: []string{"staging"}}, "prod", false},
		{"no hub scope", Principal{Scopes: []string{"api:deployment:full"}}, "staging", false},
		{"tenant scope implies the hub", Principal{Scopes: []string{"api:tenant:full"}}, "staging", true},
		{"an empty identifier", Principal{Scopes: hub}, "", false},
	}
	for _, tt := range tests {
		if got := tt.p.MayActAsAgent(tt.id); got != tt.want {
			t.Errorf("%s: MayActAsAgent(%q) = %v, want %v", tt.name, tt.id, got, tt.want)
		}
	}
}
