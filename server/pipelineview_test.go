package server

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func twoTargetDeployment() *deployv1alpha1.Deployment {
	one := int32(5)
	return &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "app-abcde", Annotations: map[string]string{InitiatedByAnnotation: "ci"}},
		Spec: deployv1alpha1.DeploymentSpec{
			Application: "app",
			Targets: map[string]deployv1alpha1.Target{
				"staging": {Account: "stg", Strategy: "c", Constraints: &deployv1alpha1.Constraints{
					BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: &one, Unit: deployv1alpha1.Seconds}}}}},
				"prod": {Account: "prd", Strategy: "c", Constraints: &deployv1alpha1.Constraints{DependsOn: []string{"staging"},
					BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true, RequiresRoles: []string{"boss"}}}}}},
			},
			Manifests:  []deployv1alpha1.Manifest{{Inline: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"}},
			Strategies: map[string]deployv1alpha1.Strategy{"c": {Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}}}}}},
		},
	}
}

func TestPipelineOf(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	tests := []struct {
		name       string
		status     deployv1alpha1.DeploymentStatus
		wantStatus string
		wantSteps  map[string]string // ref → type/status
		wantEnvs   []string
	}{
		{
			name: "new: unknown, every step queued", wantStatus: "UNKNOWN", wantEnvs: []string{"staging", "prod"},
			wantSteps: map[string]string{"staging/beforeDeployment[0]": "pause/QUEUED", "staging": "deployment/QUEUED", "prod/beforeDeployment[0]": "pause/QUEUED", "prod": "deployment/QUEUED"},
		},
		{
			name: "staging done, prod awaiting its approval; a strategy pause of staging waits too",
			status: deployv1alpha1.DeploymentStatus{State: deployv1alpha1.StateAwaitingApproval, StartedAt: &at,
				Targets: []deployv1alpha1.TargetStatus{
					{Name: "staging", State: deployv1alpha1.StateSucceeded, RolloutName: "app-abcde-staging", CurrentStep: 1, TotalSteps: 1, Weight: 100},
					{Name: "prod", State: deployv1alpha1.StateAwaitingApproval},
				},
				PendingApprovals: []deployv1alpha1.PendingApproval{{Target: "prod", Gate: "beforeDeployment[0]", RequiresRoles: []string{"boss"}, Since: &at}},
			},
			wantStatus: "AWAITING_APPROVAL", wantEnvs: []string{"staging", "prod"},
			wantSteps: map[string]string{"staging/beforeDeployment[0]": "pause/SUCCEEDED", "staging": "deployment/SUCCEEDED", "prod/beforeDeployment[0]": "pause/AWAITING_APPROVAL", "prod": "deployment/AWAITING_APPROVAL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := twoTargetDeployment()
			d.Status = tt.status
			p := PipelineOf(d)
			if p.Status != tt.wantStatus || p.InitiatedBy != "ci" || p.Application != "app" {
				t.Errorf("summary = %+v", p.PipelineSummary)
			}
			if !reflect.DeepEqual(p.Environments, tt.wantEnvs) {
				t.Errorf("environments = %v, want %v (dependency order)", p.Environments, tt.wantEnvs)
			}
			got := map[string]string{}
			for _, st := range p.Steps {
				got[st.Ref] = st.Type + "/" + st.Status
			}
			if !reflect.DeepEqual(got, tt.wantSteps) {
				t.Errorf("steps = %v, want %v", got, tt.wantSteps)
			}
			for _, st := range p.Steps {
				if st.Ref == "prod" && !reflect.DeepEqual(st.DependsOn, []string{"staging"}) {
					t.Errorf("prod dependsOn = %v", st.DependsOn)
				}
			}
			if p.PendingApprovals == nil || p.Judgments == nil || p.Context == nil {
				t.Error("lists and maps are never null")
			}
		})
	}
}

func TestTargetDeploymentOf(t *testing.T) {
	ro := &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "app-abcde-prod"},
		Spec: rolloutv1alpha1.RolloutSpec{DeploymentName: "app-abcde", Target: "prod", Account: "prd", Strategy: deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
			{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 25}}, {RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}, {Pause: &deployv1alpha1.PauseStep{UntilApproved: true}},
		}}}},
		Status: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseAwaitingApproval, CurrentStep: 3, TotalSteps: 3, Weight: 25},
	}
	td := TargetDeploymentOf(ro)
	if td.Status != "AWAITING_APPROVAL" || td.PipelineID != "app-abcde" || td.Weight != 25 {
		t.Errorf("got %+v", td)
	}
	var statuses []string
	for _, s := range td.Steps {
		statuses = append(statuses, s.Type+"/"+s.Status)
	}
	if want := []string{"setWeight/SUCCEEDED", "runWebhook/SUCCEEDED", "pause/AWAITING_APPROVAL"}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("steps = %v, want %v", statuses, want)
	}
	if !reflect.DeepEqual(td.Webhooks, []RolloutWebhook{{Gate: "steps[1]", Name: "smoke"}}) {
		t.Errorf("webhooks = %v", td.Webhooks)
	}
	ro.Status = rolloutv1alpha1.RolloutStatus{}
	if got := TargetDeploymentOf(ro).Status; got != "QUEUED" {
		t.Errorf("a Rollout the agent has not started is QUEUED, got %s", got)
	}
}

func TestPaginate(t *testing.T) {
	items := []pageKey{{3, "c"}, {3, "d"}, {2, "a"}, {1, "b"}, {1, "e"}}
	id := func(k pageKey) pageKey { return k }
	for _, limit := range []int{1, 2, 3, 5, 50} {
		var walked []pageKey
		pr := pageRequest{limit: limit}
		for range 10 {
			page, next := paginate(items, id, pr)
			walked = append(walked, page...)
			if next == "" {
				break
			}
			r := mustRequest(t, "/x?continue="+next)
			var err error
			if pr, err = parsePage(r); err != nil {
				t.Fatal(err)
			}
			pr.limit = limit
		}
		if !reflect.DeepEqual(walked, items) {
			t.Errorf("limit %d walked %v", limit, walked)
		}
	}
	// An item deleted between two pages does not make the walk skip or repeat others.
	page, next := paginate(items, id, pageRequest{limit: 2})
	if len(page) != 2 || next == "" {
		t.Fatalf("first page %v %q", page, next)
	}
	pr, _ := parsePage(mustRequest(t, "/x?continue="+next))
	pr.limit = 10
	rest, _ := paginate(append(items[:1:1], items[2:]...), id, pr)
	if !reflect.DeepEqual(rest, items[2:]) {
		t.Errorf("after a deletion: %v, want %v", rest, items[2:])
	}
}
