package deployment

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
)

// queued is a deployment of application web created at t0+offset, with a strategy and a state.
func queued(name string, offset time.Duration, strategy deployv1alpha1.InProgressStrategy, state deployv1alpha1.DeploymentState, started bool) deployv1alpha1.Deployment {
	d := newDeployment(func(d *deployv1alpha1.Deployment) {
		d.Name, d.UID = name, types.UID("uid-"+name)
		d.CreationTimestamp = metav1.NewTime(t0.Add(offset))
		d.Status = deployv1alpha1.DeploymentStatus{State: state}
		if started {
			d.Status.StartedAt = timePtr(t0.Add(offset))
		}
		if strategy != "" {
			d.Spec.DeploymentConfig = &deployv1alpha1.DeploymentConfig{IfDeploymentInProgress: &deployv1alpha1.IfDeploymentInProgress{Strategy: strategy}}
		}
	})
	return *d
}

func TestAdmit(t *testing.T) {
	const (
		reject  = deployv1alpha1.RejectInProgress
		enqueue = deployv1alpha1.EnqueueOneInProgress
	)
	running := deployv1alpha1.StateRunning
	tests := []struct {
		name    string
		d       deployv1alpha1.Deployment
		others  []deployv1alpha1.Deployment
		verdict admitVerdict
		other   string
	}{
		{"alone", queued("b", time.Minute, "", "", false), nil, admitStart, ""},
		{"others finished", queued("b", time.Minute, "", "", false), []deployv1alpha1.Deployment{queued("a", 0, "", deployv1alpha1.StateSucceeded, true)}, admitStart, ""},
		{"another application", queued("b", time.Minute, "", "", false), []deployv1alpha1.Deployment{func() deployv1alpha1.Deployment {
			o := queued("a", 0, "", running, true)
			o.Spec.Application = "api"
			return o
		}()}, admitStart, ""},
		{"in flight, reject by default", queued("b", time.Minute, "", "", false), []deployv1alpha1.Deployment{queued("a", 0, "", running, true)}, admitReject, "a"},
		{"in flight, reject", queued("b", time.Minute, reject, "", false), []deployv1alpha1.Deployment{queued("a", 0, "", running, true)}, admitReject, "a"},
		{"in flight, enqueueOne", queued("b", time.Minute, enqueue, "", false), []deployv1alpha1.Deployment{queued("a", 0, "", running, true)}, admitQueue, "a"},
		{"a newer queued one replaces an older one", queued("b", time.Minute, enqueue, deployv1alpha1.StateQueued, false), []deployv1alpha1.Deployment{
			queued("a", 0, "", running, true), queued("c", 2*time.Minute, enqueue, "", false)}, admitReplace, "c"},
		{"the newest queued one stays queued", queued("c", 2*time.Minute, enqueue, "", false), []deployv1alpha1.Deployment{
			queued("a", 0, "", running, true), queued("b", time.Minute, enqueue, deployv1alpha1.StateQueued, false)}, admitQueue, "a"},
		{"a newer rejecting one does not replace the queued one", queued("b", time.Minute, enqueue, deployv1alpha1.StateQueued, false), []deployv1alpha1.Deployment{
			queued("a", 0, "", running, true), queued("c", 2*time.Minute, reject, "", false)}, admitQueue, "a"},
		{"the queued one starts when the first finished", queued("b", time.Minute, enqueue, deployv1alpha1.StateQueued, false), []deployv1alpha1.Deployment{
			queued("a", 0, "", deployv1alpha1.StateFailed, true)}, admitStart, ""},
		{"a started deployment keeps running", queued("b", time.Minute, "", running, true), []deployv1alpha1.Deployment{queued("a", 0, "", "", false)}, admitStart, ""},
		{"same creation time: name order", queued("b", 0, "", "", false), []deployv1alpha1.Deployment{queued("a", 0, "", "", false)}, admitReject, "a"},
		{"an invalid deployment that never ran does not block", queued("b", time.Minute, "", "", false), []deployv1alpha1.Deployment{func() deployv1alpha1.Deployment {
			o := queued("a", 0, "", "", false)
			o.Spec.TargetFilters = []deployv1alpha1.TargetFilter{{IncludeTarget: "nowhere"}}
			return o
		}()}, admitStart, ""},
		{"a deployment being deleted does not block", queued("b", time.Minute, "", "", false), []deployv1alpha1.Deployment{func() deployv1alpha1.Deployment {
			o := queued("a", 0, "", running, true)
			o.DeletionTimestamp = &metav1.Time{Time: t0}
			return o
		}()}, admitStart, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			adm := admit(&tt.d, append(tt.others, tt.d))
			g.Expect(adm.verdict).To(Equal(tt.verdict), adm.message)
			g.Expect(adm.other).To(Equal(tt.other))
		})
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	g := NewWithT(t)
	d := newDeployment(func(d *deployv1alpha1.Deployment) {
		d.Status = deployv1alpha1.DeploymentStatus{State: deployv1alpha1.StateQueued}
	})
	g.Expect(cancelledBeforeStart(d, nil)).To(BeFalse())
	g.Expect(cancelledBeforeStart(d, []deployv1alpha1.Judgment{accepted(d, "one", deployv1alpha1.DecisionCancel, t0, "prod")})).To(BeFalse(), "staging is not cancelled")
	g.Expect(cancelledBeforeStart(d, []deployv1alpha1.Judgment{accepted(d, "ok", deployv1alpha1.DecisionApprove, t0, "prod", "staging")})).To(BeFalse())
	g.Expect(cancelledBeforeStart(d, []deployv1alpha1.Judgment{accepted(d, "all", deployv1alpha1.DecisionCancel, t0, "prod", "staging")})).To(BeTrue())

	// Once cancelled, the plan stops every target without starting it.
	p := PlanTargets(Input{Deployment: d, Judgments: []deployv1alpha1.Judgment{accepted(d, "all", deployv1alpha1.DecisionCancel, t0, "prod", "staging")}, Now: t0})
	g.Expect(p.Create).To(BeEmpty())
	g.Expect(summarize(p.Targets).state).To(Equal(deployv1alpha1.StateCancelled))
}

func TestApplyAdmission(t *testing.T) {
	tests := []struct {
		adm           admission
		state         deployv1alpha1.DeploymentState
		blocked, repl string
		ready, reason string
		finished      bool
	}{
		{admission{verdict: admitQueue, other: "a", message: "queued"}, deployv1alpha1.StateQueued, "a", "", "Unknown", deployv1alpha1.ReasonQueued, false},
		{admission{verdict: admitReject, other: "a", message: "in progress"}, deployv1alpha1.StateRejected, "a", "", "False", deployv1alpha1.ReasonRejected, true},
		{admission{verdict: admitReplace, other: "c", message: "replaced"}, deployv1alpha1.StateRejected, "", "c", "False", ReasonReplaced, true},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		d := newDeployment(func(d *deployv1alpha1.Deployment) { d.Status = deployv1alpha1.DeploymentStatus{}; d.Generation = 2 })
		applyAdmission(d, tt.adm, t0)
		g.Expect(d.Status.State).To(Equal(tt.state))
		g.Expect(d.Status.BlockedBy).To(Equal(tt.blocked))
		g.Expect(d.Status.ReplacedBy).To(Equal(tt.repl))
		g.Expect(d.Status.TargetProgress).To(Equal("0/2"))
		g.Expect(d.Status.ObservedGeneration).To(Equal(int64(2)))
		ready := apimeta.FindStatusCondition(d.Status.Conditions, meta.ReadyCondition)
		g.Expect(string(ready.Status)).To(Equal(tt.ready))
		g.Expect(ready.Reason).To(Equal(tt.reason))
		g.Expect(d.Status.FinishedAt != nil).To(Equal(tt.finished))
	}
}
