package deployment

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
)

func tp(name string, state deployv1alpha1.DeploymentState, reason string) TargetPlan {
	return TargetPlan{Status: deployv1alpha1.TargetStatus{Name: name, State: state, Message: "msg of " + name}, Reason: reason}
}

func TestSummarize(t *testing.T) {
	const (
		S  = deployv1alpha1.StateSucceeded
		F  = deployv1alpha1.StateFailed
		RB = deployv1alpha1.StateRolledBack
		RJ = deployv1alpha1.StateRejected
		C  = deployv1alpha1.StateCancelled
		R  = deployv1alpha1.StateRunning
		P  = deployv1alpha1.StatePaused
		AA = deployv1alpha1.StateAwaitingApproval
	)
	tests := []struct {
		name    string
		targets []TargetPlan
		state   deployv1alpha1.DeploymentState
		reason  string
		message string
	}{
		{"all succeeded", []TargetPlan{tp("a", S, ""), tp("b", S, "")}, S, meta.SucceededReason, "2/2 targets succeeded"},
		{"failed beats everything final", []TargetPlan{tp("a", RB, "RolledBack"), tp("b", F, "TimedOut"), tp("c", C, "Cancelled")}, F, "TimedOut", "target b: msg of b"},
		{"rolled back beats rejected and cancelled", []TargetPlan{tp("a", S, ""), tp("b", RB, "RolledBack"), tp("c", C, "Cancelled")}, RB, "RolledBack", "target b"},
		{"rejected beats cancelled", []TargetPlan{tp("a", C, "Cancelled"), tp("b", RJ, ReasonGateRejected)}, RJ, ReasonGateRejected, "target b"},
		{"cancelled beats succeeded", []TargetPlan{tp("a", S, ""), tp("b", C, ReasonApprovalExpired)}, C, ReasonApprovalExpired, "target b"},
		{"not final while one runs, even after a failure", []TargetPlan{tp("a", F, "Failed"), tp("b", R, "")}, R, meta.ProgressingReason, "0/2 targets succeeded; running: b (msg of b)"},
		{"awaiting approval beats paused and running", []TargetPlan{tp("a", R, ""), tp("b", P, ""), tp("c", AA, "")}, AA, deployv1alpha1.ReasonAwaitingApproval, "target c: msg of c"},
		{"paused beats running", []TargetPlan{tp("a", R, ""), tp("b", P, "")}, P, ReasonPaused, "target b"},
		{"a target waiting for its dependencies runs", []TargetPlan{tp("a", S, ""), tp("b", "", "")}, R, meta.ProgressingReason, "1/2 targets succeeded"},
		{"an unreachable agent degrades a running deployment", []TargetPlan{tp("a", AA, ""), tp("b", R, deployv1alpha1.ReasonAgentUnreachable)}, AA, deployv1alpha1.ReasonAgentUnreachable, "target b: msg of b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := summarize(tt.targets)
			g.Expect(s.state).To(Equal(tt.state))
			g.Expect(s.reason).To(Equal(tt.reason))
			g.Expect(s.message).To(ContainSubstring(tt.message))
		})
	}
}

func kstatusOf(g Gomega, d *deployv1alpha1.Deployment) status.Status {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	g.Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	g.Expect(err).NotTo(HaveOccurred())
	return res.Status
}

func TestApplyPlan(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name       string
		plan       Plan
		state      deployv1alpha1.DeploymentState
		ready      string
		kstatus    status.Status
		finished   bool
		pending    int
		progress   string
		stalled    bool
		reconciles bool
	}{
		{"running", Plan{Targets: []TargetPlan{tp("a", succeeded, ""), tp("b", running, "")}}, running, "Unknown", status.InProgressStatus, false, 0, "1/2", false, true},
		{"awaiting approval lists the approval", Plan{Targets: []TargetPlan{tp("a", awaiting, "")}, Waiting: []WaitingGate{
			{Binding: Binding{Target: "a", Gate: "beforeDeployment[0]"}, Approval: true, RequiresRoles: []string{"x"}},
			{Binding: Binding{Target: "a", Gate: "beforeDeployment[1]"}}}}, awaiting, "Unknown", status.InProgressStatus, false, 1, "0/1", false, true},
		{"agent unreachable", Plan{Targets: []TargetPlan{tp("a", running, deployv1alpha1.ReasonAgentUnreachable)}}, running, "False", status.InProgressStatus, false, 0, "0/1", false, true},
		{"succeeded", Plan{Targets: []TargetPlan{tp("a", succeeded, ""), tp("b", succeeded, "")}}, succeeded, "True", status.CurrentStatus, true, 0, "2/2", false, false},
		{"rolled back", Plan{Targets: []TargetPlan{tp("a", succeeded, ""), tp("b", deployv1alpha1.StateRolledBack, "RolledBack")}}, deployv1alpha1.StateRolledBack, "False", status.FailedStatus, true, 0, "1/2", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := newDeployment(func(d *deployv1alpha1.Deployment) { d.Generation = 3 })
			applyPlan(d, &tt.plan, now)
			g.Expect(d.Status.State).To(Equal(tt.state))
			g.Expect(d.Status.ObservedGeneration).To(Equal(int64(3)))
			g.Expect(string(apimeta.FindStatusCondition(d.Status.Conditions, meta.ReadyCondition).Status)).To(Equal(tt.ready))
			g.Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.StalledCondition)).To(Equal(tt.stalled))
			g.Expect(apimeta.IsStatusConditionTrue(d.Status.Conditions, meta.ReconcilingCondition)).To(Equal(tt.reconciles))
			g.Expect(kstatusOf(g, d)).To(Equal(tt.kstatus))
			g.Expect(d.Status.FinishedAt != nil).To(Equal(tt.finished))
			g.Expect(d.Status.PendingApprovals).To(HaveLen(tt.pending))
			g.Expect(d.Status.TargetProgress).To(Equal(tt.progress))
			g.Expect(d.Status.Targets).To(HaveLen(len(tt.plan.Targets)))
		})
	}
}

const (
	succeeded = deployv1alpha1.StateSucceeded
	running   = deployv1alpha1.StateRunning
	awaiting  = deployv1alpha1.StateAwaitingApproval
)
