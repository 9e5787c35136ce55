package deployment

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

func TestAuditTrail(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	judgment := func(name string, d deployv1alpha1.Decision, at time.Time, to ...string) deployv1alpha1.Judgment {
		return deployv1alpha1.Judgment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       deployv1alpha1.JudgmentSpec{Decision: d, Author: name + "@acme", Reason: "because"},
			Status:     deployv1alpha1.JudgmentStatus{AppliedAt: &metav1.Time{Time: at}, AppliedTo: to},
		}
	}
	g.Expect(AuditTrail(nil)).To(BeNil())
	trail := AuditTrail([]deployv1alpha1.Judgment{
		judgment("late", deployv1alpha1.DecisionApprove, t0.Add(time.Minute), "prod/beforeDeployment[0]"),
		judgment("b-early", deployv1alpha1.DecisionApprove, t0, "staging/steps[3]"),
		judgment("a-early", deployv1alpha1.DecisionSkip, t0, "staging/steps[1]"),
	})
	g.Expect(trail).To(HaveLen(3))
	g.Expect([]string{trail[0].Name, trail[1].Name, trail[2].Name}).To(Equal([]string{"a-early", "b-early", "late"}))
	g.Expect(trail[2]).To(And(HaveField("Decision", deployv1alpha1.DecisionApprove), HaveField("Author", "late@acme"),
		HaveField("Reason", "because"), HaveField("AppliedTo", []string{"prod/beforeDeployment[0]"})))
}
