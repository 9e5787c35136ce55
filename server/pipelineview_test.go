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

func TestTargetDeploymentPreviewsAndBlueGreen(t *testing.T) {
	expires := metav1.NewTime(time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC))
	later := metav1.NewTime(expires.Add(time.Hour))
	expose := &deployv1alpha1.ExposeServicesStep{Services: []string{"web-preview"}}
	blueGreen := &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "app-abcde-prod"},
		Spec: rolloutv1alpha1.RolloutSpec{DeploymentName: "app-abcde", Target: "prod", Account: "prd", Strategy: deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{
			ActiveService: "web", PreviewService: "web-preview",
			RedirectTrafficAfter:    []deployv1alpha1.BlueGreenCondition{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}, {ExposeServices: expose}},
			ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{"web"}}}},
		}}},
		Status: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseAwaitingApproval, CurrentStep: 2, TotalSteps: 3, StableRevision: "web-1", CanaryRevision: "web-2",
			BlueGreen: &rolloutv1alpha1.BlueGreenStatus{ActiveVersion: "web-1", PreviewVersion: "web-2", Conditions: []rolloutv1alpha1.StrategyConditionStatus{
				{Gate: "redirectTrafficAfter[0]", Kind: "pause", State: rolloutv1alpha1.ConditionAwaitingApproval, Message: "waiting for approval"},
				{Gate: "redirectTrafficAfter[1]", Kind: "exposeServices", State: rolloutv1alpha1.ConditionPassed, Message: "preview links to web-preview for 5m"},
				{Gate: "shutDownOldVersionAfter[0]", Kind: "exposeServices", State: rolloutv1alpha1.ConditionPending},
			}},
			Previews: []deployv1alpha1.PreviewLink{
				{Service: "web-preview", Namespace: "web", URL: "https://hub.example/preview/t1/", ExpiresAt: expires, Step: "redirectTrafficAfter[1]"},
				{Service: "api", Namespace: "web", ExpiresAt: later, Step: "redirectTrafficAfter[1]"}, // not signed yet
			}},
	}
	td := TargetDeploymentOf(blueGreen)
	if want := map[string]string{"web-preview": "https://hub.example/preview/t1/"}; !reflect.DeepEqual(td.Previews, want) {
		t.Errorf("previews = %v, want %v", td.Previews, want)
	}
	if td.PreviewsExpireAt != "2026-11-30T12:30:00Z" {
		t.Errorf("previewsExpiresAtIso8601 = %q", td.PreviewsExpireAt)
	}
	var steps []string
	for _, s := range td.Steps {
		steps = append(steps, s.Gate+" "+s.Type+" "+s.Status+" "+s.State)
	}
	if want := []string{
		"redirectTrafficAfter[0] pause AWAITING_APPROVAL AwaitingApproval",
		"redirectTrafficAfter[1] exposeServices SUCCEEDED Passed",
		"shutDownOldVersionAfter[0] exposeServices QUEUED Pending",
	}; !reflect.DeepEqual(steps, want) {
		t.Errorf("steps = %q, want %q", steps, want)
	}
	if p := td.Steps[1].Preview; p == nil || !reflect.DeepEqual(*p, StepPreview{Previews: map[string]string{"web-preview": "https://hub.example/preview/t1/"}, ExpiresAt: "2026-11-30T12:30:00Z"}) {
		t.Errorf("the exposeServices condition's preview = %+v", p)
	}
	if td.Steps[0].Preview != nil || td.Steps[2].Preview != nil {
		t.Error("only the condition that made links shows a preview")
	}
	if td.Steps[1].Message != "preview links to web-preview for 5m" {
		t.Errorf("message = %q", td.Steps[1].Message)
	}
	want := &RolloutBlueGreen{ActiveVersion: "web-1", PreviewVersion: "web-2", Conditions: []BlueGreenConditionView{
		{Gate: "redirectTrafficAfter[0]", Kind: "pause", State: "AwaitingApproval", Status: "AWAITING_APPROVAL", Message: "waiting for approval"},
		{Gate: "redirectTrafficAfter[1]", Kind: "exposeServices", State: "Passed", Status: "SUCCEEDED", Message: "preview links to web-preview for 5m"},
		{Gate: "shutDownOldVersionAfter[0]", Kind: "exposeServices", State: "Pending", Status: "QUEUED"},
	}}
	if !reflect.DeepEqual(td.BlueGreen, want) {
		t.Errorf("blueGreen = %+v, want %+v", td.BlueGreen, want)
	}

	blueGreen.Status = rolloutv1alpha1.RolloutStatus{}
	td = TargetDeploymentOf(blueGreen)
	if len(td.Previews) != 0 || td.PreviewsExpireAt != "" || td.BlueGreen == nil || len(td.BlueGreen.Conditions) != 0 {
		t.Errorf("before the agent reports: previews %v (%q), blueGreen %+v", td.Previews, td.PreviewsExpireAt, td.BlueGreen)
	}
	for _, s := range td.Steps {
		if s.Status != "QUEUED" || s.State != "" {
			t.Errorf("before the agent reports, step %s is %s/%s", s.Gate, s.Status, s.State)
		}
	}

	canary := &rolloutv1alpha1.Rollout{Spec: rolloutv1alpha1.RolloutSpec{Strategy: deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
		{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 25}}, {ExposeServices: expose}}}}},
		Status: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseProgressing, CurrentStep: 3,
			Previews: []deployv1alpha1.PreviewLink{{Service: "web-preview", URL: "https://hub.example/preview/t2/", ExpiresAt: later, Step: "steps[1]"}}}}
	td = TargetDeploymentOf(canary)
	if td.BlueGreen != nil {
		t.Error("a canary has no blueGreen")
	}
	if p := td.Steps[1].Preview; td.Steps[1].Type != "exposeServices" || p == nil || p.Previews["web-preview"] != "https://hub.example/preview/t2/" || p.ExpiresAt != "2026-11-30T13:30:00Z" {
		t.Errorf("the canary's exposeServices step = %+v (preview %+v)", td.Steps[1], p)
	}
}

func TestPipelineStepShowsTheTargetsPreviews(t *testing.T) {
	d := twoTargetDeployment()
	expires := metav1.NewTime(time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC))
	d.Status.Targets = []deployv1alpha1.TargetStatus{{Name: "staging", RolloutName: "app-abcde-staging",
		Previews: []deployv1alpha1.PreviewLink{{Service: "web", URL: "https://hub.example/preview/t/", ExpiresAt: expires, Step: "steps[0]"}}}}
	var staging, prod *StepDeployment
	for _, s := range PipelineOf(d).Steps {
		if s.Deployment != nil && s.Ref == "staging" {
			staging = s.Deployment
		}
		if s.Deployment != nil && s.Ref == "prod" {
			prod = s.Deployment
		}
	}
	if staging == nil || !reflect.DeepEqual(staging.Previews, map[string]string{"web": "https://hub.example/preview/t/"}) || staging.PreviewsExpireAt != "2026-11-30T12:30:00Z" {
		t.Errorf("staging's deployment step = %+v", staging)
	}
	if prod == nil || prod.Previews != nil || prod.PreviewsExpireAt != "" {
		t.Errorf("prod has no previews, got %+v", prod)
	}
}
