package deployment

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// t0 is the time every pure test starts at.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const webManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
`

// newSpec is a valid deploy file: staging, then prod after an approval.
func newSpec() deployv1alpha1.DeploymentSpec {
	return deployv1alpha1.DeploymentSpec{
		Application: "web",
		Targets: map[string]deployv1alpha1.Target{
			"staging": {Account: "staging", Namespace: "web", Strategy: "rolling"},
			"prod": {Account: "prod", Namespace: "web", Strategy: "canary", Constraints: &deployv1alpha1.Constraints{
				DependsOn:        []string{"staging"},
				BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true, RequiresRoles: []string{"release-manager"}}}},
			}},
		},
		Manifests: []deployv1alpha1.Manifest{{Inline: webManifest}},
		Strategies: map[string]deployv1alpha1.Strategy{
			"rolling": {Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}}}}},
			"canary": {Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
				{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 25}},
				{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](30), Unit: deployv1alpha1.Seconds}},
				{Pause: &deployv1alpha1.PauseStep{UntilApproved: true, RequiresRoles: []string{"sre"}}},
				{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}},
			}}},
		},
	}
}

func newDeployment(mutate ...func(*deployv1alpha1.Deployment)) *deployv1alpha1.Deployment {
	d := &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "tenant", UID: types.UID("uid-web-1"), Generation: 1,
			CreationTimestamp: metav1.NewTime(t0)},
		Spec: newSpec(),
	}
	d.Status.StartedAt = timePtr(t0)
	for _, m := range mutate {
		m(d)
	}
	return d
}

// rollout is the Rollout of a target, created at created, in phase.
func rollout(d *deployv1alpha1.Deployment, target string, created time.Time, phase rolloutv1alpha1.Phase) rolloutv1alpha1.Rollout {
	ro := desiredRollout(d, target)
	ro.CreationTimestamp = metav1.NewTime(created)
	ro.Status.Phase = phase
	return *ro
}

// accepted is a Judgment the Judgment controller accepted for d at at, bound to appliedTo.
func accepted(d *deployv1alpha1.Deployment, name string, decision deployv1alpha1.Decision, at time.Time, appliedTo ...string) deployv1alpha1.Judgment {
	j := deployv1alpha1.Judgment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "deploy.aurora.dev/v1alpha1", Kind: "Deployment", Name: d.Name, UID: d.UID}}},
		Spec: deployv1alpha1.JudgmentSpec{DeploymentName: d.Name, Decision: decision, Author: "jane"},
	}
	j.Status.AppliedAt = timePtr(at)
	j.Status.AppliedTo = appliedTo
	meta.MarkReady(&j, deployv1alpha1.ReasonApplied, "applied")
	return j
}
