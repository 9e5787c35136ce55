package judgment

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"

// newDeployment is a started deployment: staging, then prod after an approval that requires the
// release-manager role; prod's canary waits for an sre at steps[1].
func newDeployment() *deployv1alpha1.Deployment {
	d := &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "tenant", UID: "uid-web-1", CreationTimestamp: metav1.NewTime(t0)},
		Spec: deployv1alpha1.DeploymentSpec{
			Application: "web",
			Targets: map[string]deployv1alpha1.Target{
				"staging": {Account: "staging", Strategy: "canary", Constraints: &deployv1alpha1.Constraints{
					BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](10), Unit: deployv1alpha1.Minutes}}},
				}},
				"prod": {Account: "prod", Strategy: "canary", Constraints: &deployv1alpha1.Constraints{
					DependsOn:        []string{"staging"},
					BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{Pause: &deployv1alpha1.PauseStep{UntilApproved: true, RequiresRoles: []string{"release-manager"}}}},
				}},
			},
			Manifests: []deployv1alpha1.Manifest{{Inline: manifest}},
			Strategies: map[string]deployv1alpha1.Strategy{"canary": {Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
				{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 50}},
				{Pause: &deployv1alpha1.PauseStep{UntilApproved: true, RequiresRoles: []string{"sre"}}},
				{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](1), Unit: deployv1alpha1.Minutes}},
			}}}},
		},
	}
	d.Status.StartedAt = &metav1.Time{Time: t0}
	d.Status.State = deployv1alpha1.StateRunning
	d.Status.Targets = []deployv1alpha1.TargetStatus{{Name: "staging", StartedAt: &metav1.Time{Time: t0}}}
	return d
}

func rolloutOf(d *deployv1alpha1.Deployment, target string, phase rolloutv1alpha1.Phase, waitingFor string) rolloutv1alpha1.Rollout {
	s := d.Spec.Strategies[d.Spec.Targets[target].Strategy]
	return rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: deployment.RolloutName(d.Name, target), Namespace: d.Namespace, CreationTimestamp: metav1.NewTime(t0)},
		Spec:       rolloutv1alpha1.RolloutSpec{DeploymentName: d.Name, Target: target, Account: target, Strategy: *s.DeepCopy()},
		Status:     rolloutv1alpha1.RolloutStatus{Phase: phase, WaitingFor: waitingFor},
	}
}

func judgment(decision deployv1alpha1.Decision, target, gate string, annotations map[string]string) *deployv1alpha1.Judgment {
	return &deployv1alpha1.Judgment{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "tenant", Annotations: annotations},
		Spec:       deployv1alpha1.JudgmentSpec{DeploymentName: "web-1", Target: target, Gate: gate, Decision: decision, Author: "jane"},
	}
}

func acceptedJudgment(d *deployv1alpha1.Deployment, name string, decision deployv1alpha1.Decision, appliedTo ...string) deployv1alpha1.Judgment {
	j := deployv1alpha1.Judgment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace, OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: d.Name, UID: d.UID}}},
		Spec:       deployv1alpha1.JudgmentSpec{DeploymentName: d.Name, Decision: decision},
		Status:     deployv1alpha1.JudgmentStatus{AppliedAt: &metav1.Time{Time: t0.Add(time.Minute)}, AppliedTo: appliedTo},
	}
	meta.MarkReady(&j, deployv1alpha1.ReasonApplied, "applied")
	return j
}

var (
	releaseManager = map[string]string{AuthorRolesAnnotation: "dev, release-manager"}
	sre            = map[string]string{AuthorRolesAnnotation: "sre"}
	admin          = map[string]string{AuthorAdminAnnotation: "true"}
)

func TestDecide(t *testing.T) {
	now := t0.Add(2 * time.Minute)
	stagingDone := func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
		return []rolloutv1alpha1.Rollout{rolloutOf(d, "staging", rolloutv1alpha1.PhaseSucceeded, "")}
	}
	prodWaits := func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
		return append(stagingDone(d), rolloutOf(d, "prod", rolloutv1alpha1.PhaseAwaitingApproval, "steps[1]"))
	}
	prodRuns := func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
		return append(stagingDone(d), rolloutOf(d, "prod", rolloutv1alpha1.PhaseProgressing, ""))
	}
	tests := []struct {
		name      string
		j         *deployv1alpha1.Judgment
		d         func() *deployv1alpha1.Deployment
		rollouts  func(*deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout
		accepted  func(*deployv1alpha1.Deployment) []deployv1alpha1.Judgment
		reason    string
		appliedTo []string
		message   string
	}{
		{name: "no such deployment", j: judgment("approve", "", "", nil), d: func() *deployv1alpha1.Deployment { return nil },
			reason: deployv1alpha1.ReasonNotApplicable, message: "Deployment web-1 does not exist in namespace tenant"},
		{name: "a finished deployment", j: judgment("cancel", "", "", nil),
			d: func() *deployv1alpha1.Deployment {
				d := newDeployment()
				d.Status.State = deployv1alpha1.StateSucceeded
				return d
			},
			reason: deployv1alpha1.ReasonNotApplicable, message: "deployment web-1 has finished (SUCCEEDED)"},
		{name: "an unknown target", j: judgment("approve", "qa", "", nil), d: newDeployment,
			reason: deployv1alpha1.ReasonNotApplicable, message: `deployment web-1 has no target "qa"`},
		{name: "a queued deployment takes only cancel", j: judgment("approve", "", "", nil),
			d: func() *deployv1alpha1.Deployment {
				d := newDeployment()
				d.Status = deployv1alpha1.DeploymentStatus{State: deployv1alpha1.StateQueued}
				return d
			},
			reason: deployv1alpha1.ReasonNotApplicable, message: "has not started (QUEUED); only cancel applies"},
		{name: "a queued deployment is cancelled whole", j: judgment("cancel", "", "", nil),
			d: func() *deployv1alpha1.Deployment {
				d := newDeployment()
				d.Status = deployv1alpha1.DeploymentStatus{State: deployv1alpha1.StateQueued}
				return d
			},
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod", "staging"}},
		{name: "skip a timed beforeDeployment pause", j: judgment("skip", "staging", "", nil), d: newDeployment,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"staging/beforeDeployment[0]"}},
		{name: "approve with nothing waiting", j: judgment("approve", "", "", releaseManager), d: newDeployment,
			reason: deployv1alpha1.ReasonNotApplicable, message: "nothing of deployment web-1 waits for an approval"},
		{name: "approve the prod gate with the role", j: judgment("approve", "prod", "beforeDeployment[0]", releaseManager), d: newDeployment, rollouts: stagingDone,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/beforeDeployment[0]"}, message: "approve applied to prod/beforeDeployment[0]"},
		{name: "approve every waiting gate", j: judgment("approve", "", "", releaseManager), d: newDeployment, rollouts: stagingDone,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/beforeDeployment[0]"}},
		{name: "approve without the role", j: judgment("approve", "prod", "", sre), d: newDeployment, rollouts: stagingDone,
			reason: deployv1alpha1.ReasonForbidden, message: "jane holds none of the roles release-manager that prod/beforeDeployment[0] requires"},
		{name: "reject without roles at all", j: judgment("reject", "prod", "", nil), d: newDeployment, rollouts: stagingDone,
			reason: deployv1alpha1.ReasonForbidden, message: "release-manager"},
		{name: "an admin may approve anything", j: judgment("approve", "prod", "", admin), d: newDeployment, rollouts: stagingDone,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/beforeDeployment[0]"}},
		{name: "a gate already approved", j: judgment("approve", "prod", "beforeDeployment[0]", admin), d: newDeployment, rollouts: stagingDone,
			accepted: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{acceptedJudgment(d, "first", "approve", "prod/beforeDeployment[0]")}
			},
			reason: deployv1alpha1.ReasonNotApplicable, message: "nothing of deployment web-1 waits for an approval at beforeDeployment[0] of target prod"},
		{name: "approve a waiting canary step", j: judgment("approve", "prod", "", sre), d: newDeployment, rollouts: prodWaits,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/steps[1]"}},
		{name: "approve a waiting canary step without its role", j: judgment("approve", "prod", "steps[1]", releaseManager), d: newDeployment, rollouts: prodWaits,
			reason: deployv1alpha1.ReasonForbidden, message: "jane holds none of the roles sre that prod/steps[1] requires"},
		{name: "a canary step decided already", j: judgment("approve", "prod", "steps[1]", sre), d: newDeployment,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ros := prodWaits(d)
				ros[1].Spec.Decisions = []rolloutv1alpha1.RolloutDecision{{Name: "first", Gate: "steps[1]", Decision: "approve"}}
				return ros
			},
			reason: deployv1alpha1.ReasonNotApplicable, message: "steps[1] of target prod was decided already, by judgment first"},
		{name: "a canary step an accepted Judgment decides already", j: judgment("approve", "prod", "steps[1]", sre), d: newDeployment, rollouts: prodRuns,
			accepted: func(d *deployv1alpha1.Deployment) []deployv1alpha1.Judgment {
				return []deployv1alpha1.Judgment{acceptedJudgment(d, "first", "approve", "prod/steps[1]")}
			},
			reason: deployv1alpha1.ReasonNotApplicable, message: "decided already, by judgment first"},
		{name: "approve ahead on a running target, for its next step", j: judgment("approve", "prod", "steps[1]", sre), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/steps[1]"}},
		{name: "approve ahead needs the roles of every approval ahead", j: judgment("approve", "prod", "", releaseManager), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonForbidden, message: "the approvals of target prod require"},
		{name: "skip a running target's step", j: judgment("skip", "prod", "steps[2]", nil), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/steps[2]"}},
		{name: "the callback of an afterDeployment webhook gate the Rollout runs goes to the Rollout", j: judgment("approve", "prod", "afterDeployment[0]", nil), d: newDeployment,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ros := prodRuns(d)
				ros[1].Spec.AfterDeploymentWebhooks = []rolloutv1alpha1.AfterDeploymentWebhook{{Index: 0, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "smoke"}}}
				return ros
			},
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/afterDeployment[0]"}},
		{name: "the callback of a beforeDeployment webhook gate the Rollout runs goes to the Rollout", j: judgment("approve", "prod", "beforeDeployment[1]", nil), d: newDeployment,
			rollouts: func(d *deployv1alpha1.Deployment) []rolloutv1alpha1.Rollout {
				ros := prodRuns(d)
				ros[1].Spec.BeforeDeploymentWebhooks = []rolloutv1alpha1.BeforeDeploymentWebhook{{Index: 1, RunWebhook: deployv1alpha1.RunWebhookStep{Name: "freeze"}}}
				return ros
			},
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod/beforeDeployment[1]"}},
		{name: "an afterDeployment gate the controller runs is not the Rollout's", j: judgment("approve", "prod", "afterDeployment[0]", nil), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonNotApplicable, message: "nothing of deployment web-1 waits for an approval at afterDeployment[0] of target prod"},
		{name: "rollback a running target", j: judgment("rollback", "", "", nil), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod"}},
		{name: "rollback a finished target", j: judgment("rollback", "staging", "", nil), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonNotApplicable, message: "no target of deployment web-1 is running on target staging"},
		{name: "cancel everything not final", j: judgment("cancel", "", "", nil), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"prod"}},
		{name: "cancel a finished target", j: judgment("cancel", "staging", "", nil), d: newDeployment, rollouts: prodRuns,
			reason: deployv1alpha1.ReasonNotApplicable, message: "nothing of deployment web-1 is left to cancel on target staging"},
		{name: "cancel before anything runs", j: judgment("cancel", "", "", nil), d: newDeployment,
			reason: deployv1alpha1.ReasonApplied, appliedTo: []string{"staging", "prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := tt.d()
			in := Inputs{Deployment: d, Now: now}
			if tt.rollouts != nil {
				in.Rollouts = tt.rollouts(d)
			}
			if tt.accepted != nil {
				in.Accepted = tt.accepted(d)
			}
			v := Decide(tt.j, in)
			g.Expect(v.Reason).To(Equal(tt.reason), v.Message)
			g.Expect(v.AppliedTo).To(Equal(tt.appliedTo))
			g.Expect(v.Message).To(ContainSubstring(tt.message))
		})
	}
}

func TestAuthorOf(t *testing.T) {
	g := NewWithT(t)
	a := AuthorOf(judgment("approve", "", "", map[string]string{AuthorRolesAnnotation: " sre,, dev ,sre", AuthorAdminAnnotation: "false"}))
	g.Expect(a).To(Equal(Author{Name: "jane", Roles: []string{"sre", "dev"}}))
	g.Expect(a.MayDecide(nil)).To(BeTrue())
	g.Expect(a.MayDecide([]string{"dev", "ops"})).To(BeTrue())
	g.Expect(a.MayDecide([]string{"ops"})).To(BeFalse())
	g.Expect(AuthorOf(judgment("approve", "", "", admin)).MayDecide([]string{"ops"})).To(BeTrue())
}
