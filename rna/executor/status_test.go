package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func kstatus(t *testing.T, r *rolloutv1alpha1.Rollout) status.Status {
	t.Helper()
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(r)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: raw})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

func TestStatusLifecycle(t *testing.T) {
	g := NewWithT(t)
	r := &rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "team", Generation: 2}}
	r.Status.ObservedGeneration = 2

	setStarted(r, "web-2", "web-1", 4, t0)
	g.Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseProgressing))
	g.Expect(r.Status.StartedAt.Time).To(Equal(t0))
	g.Expect(r.Status.CurrentStep).To(BeEquivalentTo(1))

	act := Action{Outcome: OutcomeAwaitingApproval, State: ExecutionState{Step: 3}, Step: Step{Index: 2, Kind: PauseUntilApproved, Weight: 50},
		Message: "waiting", WaitingFor: "steps[2]"}
	setRunning(r, act, 4)
	g.Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseAwaitingApproval))
	g.Expect(r.Status.WaitingFor).To(Equal("steps[2]"))
	g.Expect(r.Status.Weight).To(BeEquivalentTo(50))
	g.Expect(apimeta.FindStatusCondition(r.Status.Conditions, meta.ReconcilingCondition).Reason).To(Equal(ReasonAwaitingApproval))
	g.Expect(kstatus(t, r)).To(Equal(status.InProgressStatus))

	act.Outcome, act.WaitingFor = OutcomePaused, "steps[2]"
	setRunning(r, act, 4)
	g.Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhasePaused))

	setCounts(r, []*VersionObservation{{Replicas: 5, ReadyReplicas: 4}, nil}, []*VersionObservation{{Replicas: 5, ReadyReplicas: 5}})
	g.Expect([]int32{r.Status.Replicas, r.Status.ReadyReplicas, r.Status.UpdatedReplicas}).To(Equal([]int32{10, 9, 5}))

	setFinished(r, rolloutv1alpha1.PhaseSucceeded, "done", t0.Add(time.Minute))
	g.Expect(r.Status.CurrentStep).To(BeEquivalentTo(4))
	g.Expect(r.Status.Weight).To(BeEquivalentTo(100))
	g.Expect(r.Status.WaitingFor).To(BeEmpty())
	g.Expect(r.Status.FinishedAt.Time).To(Equal(t0.Add(time.Minute)))
	g.Expect(kstatus(t, r)).To(Equal(status.CurrentStatus))
	g.Expect(apimeta.IsStatusConditionTrue(r.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
}

func TestRollbackStatus(t *testing.T) {
	tests := []struct {
		reason string
		final  rolloutv1alpha1.Phase
		stall  string
	}{
		{ReasonRollingBack, rolloutv1alpha1.PhaseRolledBack, ReasonRolledBack},
		{ReasonCancelling, rolloutv1alpha1.PhaseCancelled, ReasonCancelled},
		{ReasonRollingBack, rolloutv1alpha1.PhaseFailed, ReasonRollbackFailed},
	}
	for _, tt := range tests {
		t.Run(string(tt.final), func(t *testing.T) {
			g := NewWithT(t)
			r := &rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
			r.Status.ObservedGeneration = 1
			setStarted(r, "web-2", "web-1", 2, t0)
			setRunning(r, Action{Outcome: OutcomeWait, State: ExecutionState{Step: 1}, Message: "waiting"}, 2)
			_, ok := rollingBack(&r.Status)
			g.Expect(ok).To(BeFalse())

			setRollingBack(r, tt.reason, "why", t0.Add(time.Minute))
			rb, ok := rollingBack(&r.Status)
			g.Expect(ok).To(BeTrue())
			g.Expect(rb).To(Equal(rollbackState{reason: tt.reason, why: "why", since: t0.Add(time.Minute)}), "the rollback's start is kept across passes")
			g.Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseProgressing))
			g.Expect(r.Status.Message).To(Equal("rolling back: why"))
			g.Expect(kstatus(t, r)).To(Equal(status.InProgressStatus))

			setFinished(r, tt.final, "why", t0.Add(2*time.Minute))
			_, ok = rollingBack(&r.Status)
			g.Expect(ok).To(BeFalse())
			g.Expect(apimeta.FindStatusCondition(r.Status.Conditions, meta.StalledCondition).Reason).To(Equal(tt.stall))
			g.Expect(kstatus(t, r)).To(Equal(status.FailedStatus))
		})
	}
}

func TestSetRestarting(t *testing.T) {
	g := NewWithT(t)
	r := &rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	setStarted(r, "web-2", "web-1", 2, t0)
	setRollingBack(r, ReasonRestarting, "the spec changed", t0)
	setRestarting(r, "the spec changed")
	g.Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhasePending))
	g.Expect(r.Status.CanaryRevision).To(BeEmpty())
	g.Expect(r.Status.StartedAt).To(BeNil())
	_, ok := rollingBack(&r.Status)
	g.Expect(ok).To(BeFalse())
}
