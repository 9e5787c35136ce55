package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// deployOnce creates a Deployment of a fresh application to one target and returns the time from
// the Create returning to (a) the mirrored Rollout appearing in the target and (b) the Deployment
// reaching SUCCEEDED, as the tracker's watches saw them; it records every stage in st.
func (s *suite) deployOnce(ctx context.Context, st *stageTimes, name, target string) (mirrored, succeeded time.Duration, err error) {
	d := newDeployment(s.env.TenantNamespace, name, name, manifest(name, "v1"), canary(100), 0, target)
	if err := s.env.CloudClient.Create(ctx, d); err != nil {
		return 0, 0, fmt.Errorf("creating Deployment %s: %w", name, err)
	}
	start := time.Now()
	at, _, err := s.tr.wait(ctx, stageKey(stageMirrored, name, target))
	if err != nil {
		return 0, 0, fmt.Errorf("deployment %s to %s: %w%s", name, target, err, s.describe(ctx, d))
	}
	mirrored = at.Sub(start)
	if err := st.add(ctx, s.tr, name, []string{target}, start); err != nil {
		return 0, 0, fmt.Errorf("%w%s", err, s.describe(ctx, d))
	}
	return mirrored, st.succeeded[len(st.succeeded)-1], nil
}

// describe returns the Deployment's status, for an error message.
func (s *suite) describe(ctx context.Context, d *deployv1alpha1.Deployment) string {
	if err := s.env.CloudClient.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		return ""
	}
	return fmt.Sprintf(" (state %q, targets %+v)", d.Status.State, d.Status.Targets)
}

// BenchmarkDeploymentToTargetApply starts one environment with two targets. Each iteration creates
// a Deployment (deploy.aurora.dev) of a fresh application — a ConfigMap and a 2-replica apps/v1
// Deployment, strategy setWeight 100 — to one target, alternating between the two, and measures from
// the cloud Create returning to (a) the mirrored Rollout appearing in the target cluster and (b) the
// Deployment reaching SUCCEEDED, with the stages in between. Then, with the timer stopped, it measures
// the floor on the same target: creating a namespace and server-side applying the same two objects
// directly, until the apps/v1 Deployment has 2 Ready replicas. ns/op is one iteration of Aurora's
// path, (b) plus the wait for the last watch events. Before the loop, one untimed warm-up of each
// per target. Run it with -benchtime=30x for 30 iterations.
func BenchmarkDeploymentToTargetApply(b *testing.B) {
	s := startSuite(b, targetNames(2))
	ctx := context.Background()
	for i, target := range s.targets { // warm-up: first use of each agent's and executor's paths
		if _, _, err := s.deployOnce(ctx, &stageTimes{}, fmt.Sprintf("warmup-%d", i), target); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
		if _, _, err := s.applyFloor(ctx, target, fmt.Sprintf("%swarmup-%d", floorPrefix, i), "warmup"); err != nil {
			b.Fatalf("warm-up of the floor: %v", err)
		}
	}

	stages := &stageTimes{}
	var mirrors, successes, floorCalls, floorReady, overheads []time.Duration
	cpuStart := s.cpu.sample()
	for i := 0; b.Loop(); i++ {
		target := s.targets[i%len(s.targets)]
		mirrored, succeeded, err := s.deployOnce(ctx, stages, fmt.Sprintf("apply-%d", i), target)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		calls, ready, err := s.applyFloor(ctx, target, fmt.Sprintf("%s%d", floorPrefix, i), fmt.Sprintf("apply-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		mirrors, successes = append(mirrors, mirrored), append(successes, succeeded)
		floorCalls, floorReady = append(floorCalls, calls), append(floorReady, ready)
		overheads = append(overheads, succeeded-ready)
		b.StartTimer()
	}
	cpuEnd := s.cpu.sample()

	mirror, success, calls, ready := distOf(mirrors), distOf(successes), distOf(floorCalls), distOf(floorReady)
	b.ReportMetric(ms(mirror.p50), "p50-mirror-ms")
	b.ReportMetric(ms(mirror.p99), "p99-mirror-ms")
	b.ReportMetric(ms(success.p50), "p50-succeeded-ms")
	b.ReportMetric(ms(success.p99), "p99-succeeded-ms")
	b.ReportMetric(ms(ready.p50), "p50-apply-ms")
	b.ReportMetric(ms(ready.p99), "p99-apply-ms")

	var t strings.Builder
	fmt.Fprintf(&t, "\n=== Deployment -> target apply: %d targets, %d iterations (after 1 warm-up per target); environment started in %s\n",
		len(s.targets), len(successes), round(s.started))
	t.WriteString(tableHeader())
	t.WriteString(row("(a) Create -> mirrored Rollout in target", mirror))
	t.WriteString(row("(b) Create -> Deployment SUCCEEDED", success))
	t.WriteString(row("floor: direct SSA -> readyReplicas == 2", ready))
	t.WriteString(row("  of which ns + 2 SSA calls returned", calls))
	t.WriteString(row("(b) minus floor, per iteration", distOf(overheads)))
	stages.write(&t, "per Deployment")
	t.WriteString(cpuReport(cpuStart, cpuEnd))
	fmt.Print(t.String())
}
