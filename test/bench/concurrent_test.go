package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// deploymentController is the name of the Deployment controller in controller-runtime's metrics.
const deploymentController = "deployment"

// createConcurrency is how many Creates of a batch are in flight at once.
const createConcurrency = 16

// BenchmarkConcurrentDeployments starts one environment with AURORA_BENCH_TARGETS targets (default
// 2). Each iteration creates a batch of AURORA_BENCH_DEPLOYMENTS Deployments (default 50) at once,
// each of its own fresh application, each to every target, each target behind a timed
// beforeDeployment pause of AURORA_BENCH_PAUSE_SECONDS (default 5) so that they overlap, and waits
// until all are SUCCEEDED. ns/op is the time of a batch, from its first Create to its last
// SUCCEEDED. It reports the peak number of Deployments in flight (picked up by the controller and
// not final), the throughput in deployments per minute, and p50/p99 of each Deployment's
// completion (from its Create returning to SUCCEEDED) and of its start (to its first state). One
// batch is one iteration: run it with -benchtime=1x.
func BenchmarkConcurrentDeployments(b *testing.B) {
	nTargets := envInt(b, targetsEnv, 2)
	m := envInt(b, deploymentsEnv, 50)
	pause := int32(envInt(b, pauseEnv, 5))
	s := startSuite(b, targetNames(nTargets))
	ctx := context.Background()
	// Warm-up: one Deployment to every target, without a pause, so that every agent and executor
	// has done its first Rollout before the timer runs.
	warm := newDeployment(s.env.TenantNamespace, "warmup", "warmup", manifest("warmup", "v1"), canary(100), 0, s.targets...)
	if err := s.env.CloudClient.Create(ctx, warm); err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	if _, note, err := s.tr.wait(ctx, deploymentFinalKey(warm.Name)); err != nil || note != string(deployv1alpha1.StateSucceeded) {
		b.Fatalf("warm-up: %v %s%s", err, note, s.describe(ctx, warm))
	}
	s.tr.resetPeak()

	var completions, starts, batches, createSpans, planned []time.Duration
	stages := &stageTimes{}
	peak, total := 0, 0
	cpuStart := s.cpu.sample()
	for batch := 0; b.Loop(); batch++ {
		deployments := make([]*deployv1alpha1.Deployment, m)
		created := make([]time.Time, m)
		errs := make([]error, m)
		for i := range deployments {
			name := fmt.Sprintf("load-%d-%d", batch, i)
			deployments[i] = newDeployment(s.env.TenantNamespace, name, name, manifest(name, "v1"), canary(100), pause, s.targets...)
		}
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, createConcurrency)
		for i, d := range deployments {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[i] = s.env.CloudClient.Create(ctx, d)
				created[i] = time.Now()
			})
		}
		wg.Wait()
		createSpans = append(createSpans, time.Since(start))
		for i, err := range errs {
			if err != nil {
				b.Fatalf("creating Deployment %s: %v", deployments[i].Name, err)
			}
		}
		var last time.Time
		for i, d := range deployments {
			at, note, err := s.tr.wait(ctx, deploymentFinalKey(d.Name))
			if err != nil || note != string(deployv1alpha1.StateSucceeded) {
				b.Fatalf("Deployment %s: %v %s%s", d.Name, err, note, s.describe(ctx, d))
			}
			completions = append(completions, at.Sub(created[i]))
			if err := stages.add(ctx, s.tr, d.Name, s.targets, created[i]); err != nil {
				b.Fatal(err)
			}
			if started, ok := s.tr.get(deploymentStartedKey(d.Name)); ok {
				starts = append(starts, max(started.Sub(created[i]), 0))
			}
			if at.After(last) {
				last = at
			}
		}
		batches = append(batches, last.Sub(start))
		var lastRollout time.Time
		for _, d := range deployments {
			for _, target := range s.targets {
				if at, ok := s.tr.get(stageKey(stageCloudRollout, d.Name, target)); ok && at.After(lastRollout) {
					lastRollout = at
				}
			}
		}
		planned = append(planned, lastRollout.Sub(start))
		peak = max(peak, s.tr.resetPeak())
		total += m
	}
	cpuEnd := s.cpu.sample()

	var sum time.Duration
	for _, d := range batches {
		sum += d
	}
	perMinute := float64(total) / sum.Minutes()
	completion, started, batch, createSpan, plan := distOf(completions), distOf(starts), distOf(batches), distOf(createSpans), distOf(planned)
	reconcile := cpuEnd.controllers[deploymentController].reconcileSeconds - cpuStart.controllers[deploymentController].reconcileSeconds
	b.ReportMetric(plan.p50.Seconds(), "all-rollouts-created-s")
	b.ReportMetric(1000*reconcile/float64(total), "reconcile-ms/deployment")
	b.ReportMetric(1000*(cpuEnd.self-cpuStart.self)/float64(total), "process-cpu-ms/deployment")
	b.ReportMetric(float64(peak), "peak-in-flight")
	b.ReportMetric(perMinute, "deployments/min")
	b.ReportMetric(perMinute*float64(nTargets), "rollouts/min")
	b.ReportMetric(batch.p50.Seconds(), "all-succeeded-s")
	b.ReportMetric(ms(completion.p50), "p50-completion-ms")
	b.ReportMetric(ms(completion.p99), "p99-completion-ms")

	var t strings.Builder
	fmt.Fprintf(&t, "\n=== Concurrent Deployments: %d batch(es) of %d Deployments at once, each to %d targets (%d Rollouts a batch), "+
		"each target behind a %ds timed pause; environment started in %s\n",
		len(batches), m, nTargets, m*nTargets, pause, round(s.started))
	t.WriteString(tableHeader())
	t.WriteString(row("batch: first Create -> all SUCCEEDED", batch))
	t.WriteString(row("batch: all Creates returned", createSpan))
	t.WriteString(row("batch: first Create -> every cloud Rollout", plan))
	t.WriteString(row("per Deployment: Create -> SUCCEEDED", completion))
	t.WriteString(row("per Deployment: Create -> picked up (a state)", started))
	overhead := make([]time.Duration, len(completions))
	for i, c := range completions {
		overhead[i] = c - time.Duration(pause)*time.Second
	}
	t.WriteString(row("per Deployment: SUCCEEDED minus the pause", distOf(overhead)))
	stages.write(&t, "per Rollout, i.e. Deployment x target, but the SUCCEEDED rows are per Deployment")
	fmt.Fprintf(&t, "Deployment controller: %.1f ms reconciling per Deployment; the Go process (every Aurora component): %.1f ms CPU per Deployment\n",
		1000*reconcile/float64(total), 1000*(cpuEnd.self-cpuStart.self)/float64(total))
	fmt.Fprintf(&t, "peak in flight: %d of %d; throughput %.1f deployments/min (%.1f Rollouts/min) over %s of batches\n",
		peak, m, perMinute, perMinute*float64(nTargets), round(sum))
	t.WriteString(cpuReport(cpuStart, cpuEnd))
	fmt.Print(t.String())
}
