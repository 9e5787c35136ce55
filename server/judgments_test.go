package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/judgment"
)

func mustRequest(t *testing.T, target string) *http.Request {
	t.Helper()
	return httptest.NewRequest(http.MethodGet, target, nil)
}

func TestResolveGate(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	started := metav1.NewTime(now.Add(-time.Minute))
	d := twoTargetDeployment()
	d.Spec.Targets["prod"] = deployv1alpha1.Target{Account: "prd", Strategy: "c", Constraints: &deployv1alpha1.Constraints{
		BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}}}}
	d.Spec.Targets["staging"] = deployv1alpha1.Target{Account: "stg", Strategy: "c", Constraints: &deployv1alpha1.Constraints{
		BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}}}}
	d.Status = deployv1alpha1.DeploymentStatus{State: deployv1alpha1.StateAwaitingApproval, StartedAt: &started,
		Targets: []deployv1alpha1.TargetStatus{{Name: "staging", State: deployv1alpha1.StateAwaitingApproval, StartedAt: &started}, {Name: "prod", State: deployv1alpha1.StateAwaitingApproval, StartedAt: &started}}}
	in := judgment.Inputs{Deployment: d, Now: now}

	tests := []struct {
		name                 string
		decision             deployv1alpha1.Decision
		target, gate         string
		wantTarget, wantGate string
		wantCode             string
		wantDetails          int
	}{
		{name: "two wait, none named", decision: deployv1alpha1.DecisionApprove, wantCode: CodeAmbiguous, wantDetails: 2},
		{name: "the target names one", decision: deployv1alpha1.DecisionApprove, target: "prod", wantTarget: "prod", wantGate: "beforeDeployment[0]"},
		{name: "reject resolves the same way", decision: deployv1alpha1.DecisionReject, target: "staging", wantTarget: "staging", wantGate: "beforeDeployment[0]"},
		{name: "a named gate passes through", decision: deployv1alpha1.DecisionApprove, target: "prod", gate: "steps[3]", wantTarget: "prod", wantGate: "steps[3]"},
		{name: "skip: no timed pause, passes through for Decide to refuse", decision: deployv1alpha1.DecisionSkip},
		// A gate-less approval would bind to whatever waits next, whatever roles it requires.
		{name: "nothing waits on the target: approve needs a gate", decision: deployv1alpha1.DecisionApprove, target: "qa", wantCode: CodeConflict},
		{name: "nothing waits on the target: reject needs a gate", decision: deployv1alpha1.DecisionReject, target: "qa", wantCode: CodeConflict},
		{name: "rollback passes through", decision: deployv1alpha1.DecisionRollback, target: "prod", wantTarget: "prod"},
		{name: "cancel passes through", decision: deployv1alpha1.DecisionCancel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, gate, err := ResolveGate(in, tt.decision, tt.target, tt.gate)
			if tt.wantCode != "" {
				e, ok := err.(*Error)
				if !ok || e.Code != tt.wantCode || len(e.Details) != tt.wantDetails || e.Status != http.StatusConflict {
					t.Fatalf("err = %v, want %s with %d details", err, tt.wantCode, tt.wantDetails)
				}
				return
			}
			if err != nil || target != tt.wantTarget || gate != tt.wantGate {
				t.Errorf("got %q %q %v, want %q %q", target, gate, err, tt.wantTarget, tt.wantGate)
			}
		})
	}
}

func TestNewJudgmentAuthor(t *testing.T) {
	d := twoTargetDeployment()
	d.Namespace = "aurora-acme-prod"
	for _, tt := range []struct {
		scopes    []string
		roles     []string
		wantRoles string
		wantAdmin string
	}{
		{scopes: []string{string(iamv1alpha1.ScopeDeploymentFull)}, roles: []string{"b", "a"}, wantRoles: "a,b", wantAdmin: "false"},
		{scopes: []string{string(iamv1alpha1.ScopeTenantFull)}, wantRoles: "", wantAdmin: "true"},
		{scopes: []string{string(iamv1alpha1.ScopeOrganizationFull)}, wantRoles: "", wantAdmin: "true"},
	} {
		c := &caller{namespace: d.Namespace}
		c.Name, c.Scopes, c.Roles = "someone", tt.scopes, tt.roles
		j := newJudgment(c, d, deployv1alpha1.DecisionApprove, "prod", "beforeDeployment[0]", "ok")
		if j.Annotations[judgment.AuthorRolesAnnotation] != tt.wantRoles || j.Annotations[judgment.AuthorAdminAnnotation] != tt.wantAdmin {
			t.Errorf("scopes %v: annotations %v", tt.scopes, j.Annotations)
		}
		a := judgment.AuthorOf(j)
		if a.Name != "someone" || j.Namespace != d.Namespace || j.Spec.DeploymentName != d.Name {
			t.Errorf("judgment %+v", j)
		}
	}
}

func TestCheckCredentialRequest(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tenantAdmin := func(s iamv1alpha1.Scope) bool { return s != iamv1alpha1.ScopeOrganizationFull }
	tests := []struct {
		name   string
		req    CredentialRequest
		fields []string
	}{
		{name: "good", req: CredentialRequest{Name: "ci", Scopes: []string{"api:deployment:full"}, ExpiresAtIso8601: "2027-01-01T00:00:00Z"}},
		{name: "nothing", req: CredentialRequest{}, fields: []string{"name", "scopes"}},
		{name: "bad everything", req: CredentialRequest{Name: "CI!", Scopes: []string{"x", "api:organization:full"}, AgentIdentifiers: []string{""}, Roles: []string{""}, ExpiresAtIso8601: "2020-01-01T00:00:00Z"},
			fields: []string{"name", "scopes[0]", "scopes[1]", "agentIdentifiers[0]", "roles[0]", "expiresAtIso8601"}},
		// Roles travel joined by commas (a Judgment's author roles): a comma would make two.
		{name: "a role with a comma", req: CredentialRequest{Name: "ci", Scopes: []string{"api:deployment:full"}, Roles: []string{"qa", "viewer,release-manager"}},
			fields: []string{"roles[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			details, expires := CheckCredentialRequest(tt.req, tenantAdmin, now)
			var fields []string
			for _, d := range details {
				fields = append(fields, d.Field)
			}
			if len(fields) != len(tt.fields) {
				t.Fatalf("fields %v, want %v (%v)", fields, tt.fields, details)
			}
			for i := range fields {
				if fields[i] != tt.fields[i] {
					t.Errorf("fields %v, want %v", fields, tt.fields)
				}
			}
			if len(tt.fields) == 0 && (expires == nil || expires.Year() != 2027) {
				t.Errorf("expires %v", expires)
			}
		})
	}
}
