package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

// canaryWeights are the three steps of the benchmark's canary.
var canaryWeights = []int32{33, 66, 100}

// canarySizes are the replica counts BenchmarkCanary measures.
var canarySizes = []int32{10, 100}

// floorPollInterval is how often the floor reads its two Deployments while it waits for a step.
const floorPollInterval = 10 * time.Millisecond

// sizedManifest is the application with a given replica count: one apps/v1 Deployment. Any image
// works on kwok's simulated nodes.
func sizedManifest(name, tag string, replicas int32) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: app
          image: ghcr.io/aurora-cd/%[1]s:%[2]s
`, name, tag, replicas)
}

// BenchmarkCanary starts one environment with one target of 10 simulated nodes and measures a
// three-step canary (setWeight 33, 66, 100 as a pod ratio) of 10 and of 100 replicas, end to end:
// from the cloud Create of the new version's Deployment (the stable version already runs, deployed
// untimed before) to the Deployment SUCCEEDED. Each iteration also measures the floor, on the same
// target, with the timer stopped: the same three steps by direct server-side applies of two apps/v1
// Deployments (stable and canary, split as the executor splits), each step waiting until the canary's
// pods are Ready and the stable version's surplus pods are gone, with no Aurora in between. The
// ratio Aurora / floor is reported per size (ratio-x), both measured in the same run.
func BenchmarkCanary(b *testing.B) {
	s := startSuiteWith(b, []string{"target-1"}, 10)
	ctx := context.Background()
	const target = "target-1"
	for _, size := range canarySizes {
		b.Run(fmt.Sprintf("replicas=%d", size), func(b *testing.B) {
			// Warm-up: one canary and one floor of this size, untimed.
			if _, err := s.auroraCanary(ctx, fmt.Sprintf("warm-%d", size), target, size); err != nil {
				b.Fatalf("warm-up: %v", err)
			}
			if _, err := s.floorCanary(ctx, fmt.Sprintf("%swarm-%d", floorPrefix, size), target, size); err != nil {
				b.Fatalf("warm-up of the floor: %v", err)
			}
			var aurora, floor, ratios []time.Duration
			cpuStart := s.cpu.sample()
			for i := 0; b.Loop(); i++ {
				took, err := s.auroraCanary(ctx, fmt.Sprintf("canary-%d-%d", size, i), target, size)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				direct, err := s.floorCanary(ctx, fmt.Sprintf("%s%d-%d", floorPrefix, size, i), target, size)
				if err != nil {
					b.Fatal(err)
				}
				aurora, floor = append(aurora, took), append(floor, direct)
				ratios = append(ratios, time.Duration(float64(time.Second)*took.Seconds()/direct.Seconds()))
				b.StartTimer()
			}
			cpuEnd := s.cpu.sample()
			a, f := distOf(aurora), distOf(floor)
			ratio := a.p50.Seconds() / f.p50.Seconds()
			b.ReportMetric(ms(a.p50), "p50-succeeded-ms")
			b.ReportMetric(ms(a.p99), "p99-succeeded-ms")
			b.ReportMetric(ms(f.p50), "p50-floor-ms")
			b.ReportMetric(ms(f.p99), "p99-floor-ms")
			b.ReportMetric(ratio, "ratio-x")

			var t strings.Builder
			fmt.Fprintf(&t, "\n=== 3-step canary (%v) of %d replicas: %d iterations (after a warm-up); environment started in %s\n",
				canaryWeights, size, len(aurora), round(s.started))
			t.WriteString(tableHeader())
			t.WriteString(row("Aurora: Create -> Deployment SUCCEEDED", a))
			t.WriteString(row("floor: the same steps by direct SSA", f))
			fmt.Fprintf(&t, "ratio of the medians (Aurora / floor): %.2fx; per iteration p50 %.2fx, max %.2fx\n",
				ratio, distOf(ratios).p50.Seconds(), distOf(ratios).max.Seconds())
			t.WriteString(cpuReport(cpuStart, cpuEnd))
			fmt.Print(t.String())
		})
	}
}

// auroraCanary deploys v1 of a fresh application of size replicas to the target (untimed; a first
// deployment goes straight to 100%), then v2 as the three-step canary, and returns the time from
// v2's Create returning to its Deployment reaching SUCCEEDED.
func (s *suite) auroraCanary(ctx context.Context, application, target string, size int32) (time.Duration, error) {
	ns := s.env.TenantNamespace
	v1 := newDeployment(ns, application+"-v1", application, sizedManifest(application, "v1", size), canary(100), 0, target)
	if err := s.env.CloudClient.Create(ctx, v1); err != nil {
		return 0, fmt.Errorf("creating Deployment %s: %w", v1.Name, err)
	}
	if _, note, err := s.tr.wait(ctx, deploymentFinalKey(v1.Name)); err != nil || note != string(deployv1alpha1.StateSucceeded) {
		return 0, fmt.Errorf("deployment %s: %v %s%s", v1.Name, err, note, s.describe(ctx, v1))
	}
	v2 := newDeployment(ns, application+"-v2", application, sizedManifest(application, "v2", size), canary(canaryWeights...), 0, target)
	if err := s.env.CloudClient.Create(ctx, v2); err != nil {
		return 0, fmt.Errorf("creating Deployment %s: %w", v2.Name, err)
	}
	start := time.Now()
	at, note, err := s.tr.wait(ctx, deploymentFinalKey(v2.Name))
	if err != nil || note != string(deployv1alpha1.StateSucceeded) {
		return 0, fmt.Errorf("deployment %s: %v %s%s", v2.Name, err, note, s.describe(ctx, v2))
	}
	return at.Sub(start), nil
}

// floorCanary is the floor of a canary: in a fresh namespace of the target it runs the stable
// version (size replicas, untimed), then times the same three steps done directly: at each weight it
// server-side applies the canary Deployment (v2) and the stable one (v1) with the executor's split,
// and waits until the canary's pods are all Ready and the stable version runs no more pods than its
// share. It returns the time from the first step's applies to the last step's end.
func (s *suite) floorCanary(ctx context.Context, namespace, target string, size int32) (time.Duration, error) {
	c := s.env.Targets[target].Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return 0, fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	if err := s.floorStep(ctx, c, namespace, Split{Stable: size}); err != nil {
		return 0, fmt.Errorf("the floor's stable version: %w", err)
	}
	start := time.Now()
	for _, w := range canaryWeights {
		split := executor.SplitReplicas(size, w, true)
		if err := s.floorStep(ctx, c, namespace, Split(split)); err != nil {
			return 0, fmt.Errorf("the floor's step %d%%: %w", w, err)
		}
	}
	return time.Since(start), nil
}

// Split is how many replicas each version of the floor runs.
type Split executor.Split

// floorStep applies the two Deployments of the floor at a split and waits until it holds.
func (s *suite) floorStep(ctx context.Context, c client.Client, namespace string, split Split) error {
	for _, v := range []struct {
		name     string
		replicas int32
	}{{"app-canary", split.New}, {"app-stable", split.Stable}} {
		if v.replicas == 0 && v.name == "app-canary" {
			continue
		}
		objs, err := manifestObjects(sizedManifest(v.name, strings.TrimPrefix(v.name, "app-"), v.replicas))
		if err != nil {
			return err
		}
		for _, u := range objs {
			u.SetNamespace(namespace)
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
				return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
			}
		}
	}
	return wait.PollUntilContextTimeout(ctx, floorPollInterval, waitTimeout, true, func(ctx context.Context) (bool, error) {
		for _, v := range []struct {
			name     string
			replicas int32
		}{{"app-canary", split.New}, {"app-stable", split.Stable}} {
			d := &appsv1.Deployment{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: v.name}, d); err != nil {
				if v.replicas == 0 {
					continue
				}
				return false, client.IgnoreNotFound(err)
			}
			if ptr.Deref(d.Spec.Replicas, 1) != v.replicas || d.Status.ObservedGeneration < d.Generation ||
				d.Status.ReadyReplicas != v.replicas || d.Status.Replicas != v.replicas {
				return false, nil
			}
		}
		return true, nil
	})
}
