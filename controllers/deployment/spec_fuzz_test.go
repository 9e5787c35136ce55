package deployment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// FuzzDeploySpec decodes arbitrary bytes strictly as a deploy.yml (the Deployment's spec), then
// validates it and, when it is valid, plans its first reconcile. Nothing may panic; every problem
// Validate reports names its field ("spec.<path>: <what is wrong>"); a valid spec plans every
// selected target exactly once, in an order where dependencies come first, and each Rollout it
// creates has a valid name, valid label values and a target of the spec. Seeds: the samples'
// specs, and testdata/fuzz/FuzzDeploySpec.
func FuzzDeploySpec(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join("..", "..", "config", "samples", "deploy_v1alpha1_deployment*.yaml"))
	for _, path := range samples {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		var d deployv1alpha1.Deployment
		if err := yaml.Unmarshal(raw, &d); err != nil {
			f.Fatalf("%s: %v", path, err)
		}
		spec, err := yaml.Marshal(d.Spec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(spec)
	}
	f.Add([]byte("application: a\ntargets:\n  t: {account: t, namespace: n, strategy: s, constraints: {dependsOn: [t]}}\nstrategies:\n  s: {canary: {steps: [{setWeight: {weight: 50}}]}}\nmanifests: [{inline: 'kind: ConfigMap'}]\n"))
	f.Add([]byte("application: a\ntargets: {}\nunknownField: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec deployv1alpha1.DeploymentSpec
		if err := yaml.UnmarshalStrict(data, &spec); err != nil {
			if err.Error() == "" {
				t.Fatal("a decoding error without a message")
			}
			return
		}
		errs := Validate(&spec)
		for _, e := range errs {
			path, msg, ok := strings.Cut(e, ": ")
			if !ok || !strings.HasPrefix(path, "spec.") || strings.TrimSpace(msg) == "" {
				t.Fatalf("a problem that names no field: %q", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		d := &deployv1alpha1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: "aurora-acme-prod", UID: "uid-1"}, Spec: spec}
		order := TopologicalOrder(&d.Spec)
		seen := map[string]int{}
		for i, name := range order {
			if _, dup := seen[name]; dup {
				t.Fatalf("target %q planned twice: %v", name, order)
			}
			seen[name] = i
			if _, ok := spec.Targets[name]; !ok {
				t.Fatalf("planned target %q is not in the spec", name)
			}
		}
		for _, name := range order {
			if c := spec.Targets[name].Constraints; c != nil {
				for _, dep := range c.DependsOn {
					if at, ok := seen[dep]; ok && at > seen[name] {
						t.Fatalf("target %q comes before its dependency %q: %v", name, dep, order)
					}
				}
			}
		}
		plan := PlanTargets(Input{Deployment: d, Now: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)})
		for _, ro := range plan.Create {
			if problems := validation.IsDNS1123Subdomain(ro.Name); len(problems) > 0 {
				t.Fatalf("Rollout name %q: %v", ro.Name, problems)
			}
			for k, v := range ro.Labels {
				if problems := validation.IsValidLabelValue(v); len(problems) > 0 {
					t.Fatalf("Rollout %s label %s=%q: %v", ro.Name, k, v, problems)
				}
			}
			if _, ok := spec.Targets[ro.Spec.Target]; !ok {
				t.Fatalf("Rollout %s for target %q that is not in the spec", ro.Name, ro.Spec.Target)
			}
		}
	})
}
