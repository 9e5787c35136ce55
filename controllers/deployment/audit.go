package deployment

import (
	"cmp"
	"slices"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// AuditTrail records the accepted Judgments of a deployment, in the order they were applied (then
// by name): who decided what, on which targets and gates, when.
func AuditTrail(accepted []deployv1alpha1.Judgment) []deployv1alpha1.AppliedJudgment {
	if len(accepted) == 0 {
		return nil
	}
	trail := make([]deployv1alpha1.AppliedJudgment, 0, len(accepted))
	for _, j := range accepted {
		trail = append(trail, deployv1alpha1.AppliedJudgment{
			Name: j.Name, Decision: j.Spec.Decision, Author: j.Spec.Author, Reason: j.Spec.Reason,
			AppliedTo: slices.Clone(j.Status.AppliedTo), AppliedAt: j.Status.AppliedAt.DeepCopy(),
		})
	}
	slices.SortStableFunc(trail, func(a, b deployv1alpha1.AppliedJudgment) int {
		if c := cmp.Compare(unixNano(a), unixNano(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return trail
}

func unixNano(a deployv1alpha1.AppliedJudgment) int64 {
	if a.AppliedAt == nil {
		return 0
	}
	return a.AppliedAt.UnixNano()
}
