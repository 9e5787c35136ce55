package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/devenv"
)

// Environment variables of the benchmarks.
const (
	// targetsEnv sets how many target clusters BenchmarkConcurrentDeployments starts (default 2).
	targetsEnv = "AURORA_BENCH_TARGETS"
	// deploymentsEnv sets how many Deployments BenchmarkConcurrentDeployments creates at once per
	// iteration (default 50).
	deploymentsEnv = "AURORA_BENCH_DEPLOYMENTS"
	// pauseEnv sets the timed beforeDeployment pause of each target in
	// BenchmarkConcurrentDeployments, in seconds (default 5).
	pauseEnv = "AURORA_BENCH_PAUSE_SECONDS"
	// logEnv, when set, names a file that receives the environment's logs (default: discarded).
	logEnv = "AURORA_BENCH_LOG"
	// startTimeoutEnv bounds each control plane's start (envtest); set to 120s when unset.
	startTimeoutEnv = "KUBEBUILDER_CONTROLPLANE_START_TIMEOUT"
)

// waitTimeout bounds the wait for one deployment (or one floor apply) to finish.
const waitTimeout = 5 * time.Minute

// fieldOwner is the field manager of the floor's server-side applies.
const fieldOwner = "aurora-bench"

// replicas is the replica count of every benchmark application.
const replicas = 2

var setLoggerOnce sync.Once

// benchLogger returns the environment's logger: a development zap logger writing to $AURORA_BENCH_LOG,
// or one that discards everything. It is also controller-runtime's global logger.
func benchLogger(b *testing.B) logr.Logger {
	b.Helper()
	log := logr.Discard()
	if path := os.Getenv(logEnv); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			b.Fatalf("opening %s=%s: %v", logEnv, path, err)
		}
		b.Cleanup(func() { _ = f.Close() })
		log = zap.New(zap.WriteTo(f), zap.UseDevMode(true))
	}
	setLoggerOnce.Do(func() { ctrl.SetLogger(log) })
	return log
}

// suite is a running environment with its watches.
type suite struct {
	env     *devenv.Env
	targets []string
	tr      *tracker
	started time.Duration // how long devenv.Start took
	cpu     *cpuMeter
}

// startSuite starts an environment with the given targets and the watches of the tracker; the
// environment stops when the benchmark ends. The benchmark's timer is reset by b.Loop.
func startSuite(b *testing.B, targets []string) *suite {
	b.Helper()
	return startSuiteWith(b, targets, 3)
}

// startSuiteWith is startSuite with nodes simulated nodes per target.
func startSuiteWith(b *testing.B, targets []string, nodes int) *suite {
	b.Helper()
	if os.Getenv(startTimeoutEnv) == "" {
		b.Setenv(startTimeoutEnv, "120s")
	}
	log := benchLogger(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	env, err := devenv.Start(ctx, devenv.Options{Targets: targets, TargetNodes: nodes, HeartbeatInterval: time.Second,
		Log: log.WithName("devenv")})
	if err != nil {
		b.Fatalf("starting the environment: %v", err)
	}
	b.Cleanup(env.Stop)
	s := &suite{env: env, targets: targets, tr: newTracker(), started: time.Since(start)}
	watchCtx, stopWatches := context.WithCancel(context.Background())
	b.Cleanup(stopWatches) // runs before env.Stop (cleanups run last-in first-out)
	if err := s.tr.watch(watchCtx, env); err != nil {
		b.Fatalf("starting the watches: %v", err)
	}
	s.cpu = newCPUMeter(env)
	return s
}

// targetNames returns n target identifiers: target-1, target-2, ...
func targetNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "target-" + strconv.Itoa(i+1)
	}
	return out
}

// envInt reads a positive integer from an environment variable, or returns def.
func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// manifest is the application: a ConfigMap and an apps/v1 Deployment of replicas (sizedManifest).
func manifest(name, tag string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-config
data:
  version: %[2]s
---
`, name, tag) + sizedManifest(name, tag, replicas)
}

// manifestObjects parses a manifest into its objects, in order.
func manifestObjects(m string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for doc := range strings.SplitSeq(m, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return nil, fmt.Errorf("parsing a manifest: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// canary builds canary steps: a number is a setWeight.
func canary(weights ...int32) deployv1alpha1.Strategy {
	var steps []deployv1alpha1.CanaryStep
	for _, w := range weights {
		steps = append(steps, deployv1alpha1.CanaryStep{SetWeight: &deployv1alpha1.SetWeightStep{Weight: w}})
	}
	return deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: steps}}
}

// newDeployment is a Deployment of an application (into the namespace of its name) to the targets,
// with one strategy, and a timed beforeDeployment pause of each target when pause > 0.
func newDeployment(namespace, name, application, manifest string, strategy deployv1alpha1.Strategy, pause int32, targets ...string) *deployv1alpha1.Deployment {
	d := &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: deployv1alpha1.DeploymentSpec{
			Application: application,
			Targets:     map[string]deployv1alpha1.Target{},
			Manifests:   []deployv1alpha1.Manifest{{Inline: manifest}},
			Strategies:  map[string]deployv1alpha1.Strategy{"main": strategy},
		},
	}
	for _, t := range targets {
		target := deployv1alpha1.Target{Account: t, Namespace: application, Strategy: "main"}
		if pause > 0 {
			target.Constraints = &deployv1alpha1.Constraints{BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{
				{Pause: &deployv1alpha1.PauseStep{Duration: &pause, Unit: deployv1alpha1.Seconds}},
			}}
		}
		d.Spec.Targets[t] = target
	}
	return d
}

// applyFloor is the floor of a deployment: it creates the namespace and server-side applies the
// manifest's objects to the target cluster directly, then waits (through the tracker's watch) until
// the apps/v1 Deployment has 2 Ready replicas. It returns the time the API calls took and the time
// until Ready, both from the start.
func (s *suite) applyFloor(ctx context.Context, target, namespace, name string) (calls, ready time.Duration, err error) {
	c := s.env.Targets[target].Client
	objs, err := manifestObjects(manifest(name, "v1"))
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return 0, 0, fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	for _, u := range objs {
		u.SetNamespace(namespace)
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			return 0, 0, fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	calls = time.Since(start)
	at, _, err := s.tr.wait(ctx, floorReadyKey(target, namespace, name))
	if err != nil {
		return 0, 0, fmt.Errorf("waiting for Deployment %s/%s in %s to be available: %w", namespace, name, target, err)
	}
	return calls, at.Sub(start), nil
}

// percentile returns the nearest-rank percentile p (0-1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// dist summarizes durations.
type dist struct {
	n                  int
	p50, p99, min, max time.Duration
}

func distOf(ds []time.Duration) dist {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	if len(sorted) == 0 {
		return dist{}
	}
	return dist{n: len(sorted), p50: percentile(sorted, 0.50), p99: percentile(sorted, 0.99), min: sorted[0], max: sorted[len(sorted)-1]}
}

// ms is a duration in milliseconds, for ReportMetric.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// round shortens a duration for the tables.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Second:
		return d.Round(time.Millisecond)
	default:
		return d.Round(100 * time.Microsecond)
	}
}

// row formats one line of a table: a label and p50, p99, min, max.
func row(label string, d dist) string {
	return fmt.Sprintf("%-46s %10s %10s %10s %10s\n", label, round(d.p50), round(d.p99), round(d.min), round(d.max))
}

// tableHeader is the header of row's columns.
func tableHeader() string {
	return fmt.Sprintf("%-46s %10s %10s %10s %10s\n", "", "p50", "p99", "min", "max")
}
