package deployment

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
)

// Kinds of gates, as they prefix gate names such as beforeDeployment[0] or steps[2].
const (
	// BeforeDeploymentGate is a target's constraints.beforeDeployment gate, run by this controller
	// before the target's Rollout is created.
	BeforeDeploymentGate = "beforeDeployment"
	// AfterDeploymentGate is a target's constraints.afterDeployment gate, run by this controller
	// after the target's Rollout succeeded and before its dependants start.
	AfterDeploymentGate = "afterDeployment"
	// StepsGate is a canary step, run by the agent's Rollout executor.
	StepsGate = "steps"
	// RedirectTrafficAfterGate is a blue/green redirectTrafficAfter condition, run by the executor.
	RedirectTrafficAfterGate = "redirectTrafficAfter"
	// ShutDownOldVersionAfterGate is a blue/green shutDownOldVersionAfter condition, run by the
	// executor.
	ShutDownOldVersionAfterGate = "shutDownOldVersionAfter"
)

var gatePattern = regexp.MustCompile(`^([A-Za-z]+)\[([0-9]{1,4})\]$`)

// GateName names the i-th (0-based) gate of a kind, such as beforeDeployment[0].
func GateName(kind string, i int) string { return fmt.Sprintf("%s[%d]", kind, i) }

// ParseGate splits a gate name such as steps[2] into its kind and 0-based index.
func ParseGate(gate string) (kind string, index int, ok bool) {
	m := gatePattern.FindStringSubmatch(gate)
	if m == nil {
		return "", 0, false
	}
	i, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return m[1], i, true
}

// IsConstraintGate reports whether gate is a beforeDeployment or afterDeployment gate, which the
// Deployment controller runs itself; every other gate (a strategy step) is the executor's.
func IsConstraintGate(gate string) bool {
	kind, _, ok := ParseGate(gate)
	return ok && (kind == BeforeDeploymentGate || kind == AfterDeploymentGate)
}

// PauseAt returns the pause step that a gate of a Rollout's strategy names (steps[i],
// redirectTrafficAfter[i] or shutDownOldVersionAfter[i]), or nil.
func PauseAt(s *deployv1alpha1.Strategy, gate string) *deployv1alpha1.PauseStep {
	kind, i, ok := ParseGate(gate)
	if !ok || s == nil {
		return nil
	}
	switch {
	case kind == StepsGate && s.Canary != nil && i < len(s.Canary.Steps):
		return s.Canary.Steps[i].Pause
	case kind == RedirectTrafficAfterGate && s.BlueGreen != nil && i < len(s.BlueGreen.RedirectTrafficAfter):
		return s.BlueGreen.RedirectTrafficAfter[i].Pause
	case kind == ShutDownOldVersionAfterGate && s.BlueGreen != nil && i < len(s.BlueGreen.ShutDownOldVersionAfter):
		return s.BlueGreen.ShutDownOldVersionAfter[i].Pause
	}
	return nil
}

// Binding is what an accepted Judgment acts on: one target and, optionally, one gate of it. The
// Judgment controller writes bindings into a Judgment's status.appliedTo as "target" or
// "target/gate"; the Deployment controller reads them back and carries the decision out.
type Binding struct {
	// Target is the deploy file target.
	Target string
	// Gate is a gate or step name such as beforeDeployment[0] or steps[2]; empty for the whole
	// target (rollback, cancel) or for whatever step of its Rollout waits.
	Gate string
}

// String formats the binding as status.appliedTo lists it.
func (b Binding) String() string {
	if b.Gate == "" {
		return b.Target
	}
	return b.Target + "/" + b.Gate
}

// ParseBinding reads an entry of a Judgment's status.appliedTo.
func ParseBinding(s string) Binding {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		if _, _, ok := ParseGate(s[i+1:]); ok {
			return Binding{Target: s[:i], Gate: s[i+1:]}
		}
	}
	return Binding{Target: s}
}

// Accepted reports whether a Judgment was accepted for this very Deployment: the Judgment
// controller marked it Ready=True with reason Applied and made the Deployment (by uid) its owner.
// Only accepted Judgments act; their status.appliedTo says on what.
func Accepted(j *deployv1alpha1.Judgment, d *deployv1alpha1.Deployment) bool {
	c := apimeta.FindStatusCondition(j.Status.Conditions, meta.ReadyCondition)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != deployv1alpha1.ReasonApplied || j.Spec.DeploymentName != d.Name {
		return false
	}
	return slices.ContainsFunc(j.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == d.UID })
}
