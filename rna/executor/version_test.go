package executor

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestVersionName(t *testing.T) {
	g := NewWithT(t)
	v := VersionName("potato-facts", "fp", "uid-1")
	g.Expect(v).To(MatchRegexp(`^potato-facts-[0-9a-f]{10}$`))
	g.Expect(VersionName("potato-facts", "fp", "uid-1")).To(Equal(v), "deterministic")
	g.Expect(VersionName("potato-facts", "fp", "uid-2")).NotTo(Equal(v), "another Rollout makes another version")
	g.Expect(VersionName("potato-facts", "fp2", "uid-1")).NotTo(Equal(v), "other manifests make another version")
	g.Expect(VersionName("potato-api", "fp", "uid-1")).NotTo(HaveSuffix(strings.TrimPrefix(v, "potato-facts")))

	long := strings.Repeat("a", 60) + "-" + strings.Repeat("b", 100)
	for _, name := range []string{long, strings.Repeat("x", 52) + "-.y", "a.b-c"} {
		v := VersionName(name, "fp", "uid")
		g.Expect(len(v)).To(BeNumerically("<=", 63), v)
		g.Expect(validation.IsValidLabelValue(v)).To(BeEmpty(), v)
		g.Expect(validation.IsDNS1123Subdomain(v)).To(BeEmpty(), v)
	}
}

func TestExecutionFingerprint(t *testing.T) {
	g := NewWithT(t)
	spec := rolloutv1alpha1.RolloutSpec{DeploymentName: "d", Application: "a", Target: "t", Manifests: []string{"m1"}, Strategy: canary(weightStep(50))}
	fp := ExecutionFingerprint(&spec)
	withDecision := spec
	withDecision.Decisions = []rolloutv1alpha1.RolloutDecision{{Name: "j", Decision: "approve"}}
	g.Expect(ExecutionFingerprint(&withDecision)).To(Equal(fp), "appending a decision continues the same execution")
	other := spec
	other.Manifests = []string{"m2"}
	g.Expect(ExecutionFingerprint(&other)).NotTo(Equal(fp))
	other = spec
	other.Strategy = canary(weightStep(60))
	g.Expect(ExecutionFingerprint(&other)).NotTo(Equal(fp))
	other = spec
	other.KeepDeploymentObject = true
	g.Expect(ExecutionFingerprint(&other)).NotTo(Equal(fp))
}

func TestLabelValue(t *testing.T) {
	g := NewWithT(t)
	g.Expect(labelValue("potato-facts")).To(Equal("potato-facts"))
	g.Expect(labelValue("")).To(Equal(""))
	for _, s := range []string{strings.Repeat("a", 64), "has space", "-lead", "x/y", strings.Repeat("é", 10), "...."} {
		v := labelValue(s)
		g.Expect(validation.IsValidLabelValue(v)).To(BeEmpty(), "%q → %q", s, v)
		g.Expect(v).NotTo(BeEmpty())
	}
	g.Expect(labelValue(strings.Repeat("a", 64))).NotTo(Equal(labelValue(strings.Repeat("a", 65))))
}

func TestRevisions(t *testing.T) {
	g := NewWithT(t)
	g.Expect(joinRevisions([]string{"a-1", "", "b-2"})).To(Equal("a-1,b-2"))
	g.Expect(splitRevisions("a-1,b-2")).To(Equal([]string{"a-1", "b-2"}))
	g.Expect(splitRevisions("")).To(BeNil())
}
