package main

import (
	"fmt"
	"math"
)

// aim is what a figure should be: at most or at least Value.
type aim struct {
	// AtMost is true when the figure should not exceed Value, false when it should reach it.
	AtMost bool `json:"atMost"`
	// Value is the bound, in the figure's unit.
	Value float64 `json:"value"`
	// Why says where the bound comes from.
	Why string `json:"why"`
}

// met reports whether v meets the aim.
func (a aim) met(v float64) bool {
	if a.AtMost {
		return v <= a.Value
	}
	return v >= a.Value
}

// String is the aim as the report prints it.
func (a aim) String() string {
	if a.AtMost {
		return "≤ " + number(a.Value)
	}
	return "≥ " + number(a.Value)
}

// figure is one measured figure beside its aim.
type figure struct {
	// Area groups figures: hub, controllers, end to end.
	Area string `json:"area"`
	// Name says what was measured.
	Name string `json:"name"`
	// Value is the measurement, in Unit.
	Value float64 `json:"value"`
	// Unit of Value and of the aim.
	Unit string `json:"unit"`
	// Aim is what the figure should be.
	Aim aim `json:"aim"`
	// Met reports whether Value meets Aim.
	Met bool `json:"met"`
	// Source names the benchmark and metric the figure comes from.
	Source string `json:"source"`
}

// spec says how to make a figure from a benchmark's metric.
type spec struct {
	area, name, unit string
	metric           string
	scale            float64 // multiplies the metric (1 when 0)
	aim              aim
}

// The bare gRPC floor of the Hub on this kind of machine (one bidirectional stream per agent over
// TLS, no Aurora): RSS per idle agent and connect-storm time per agent.
const (
	floorRSSKiBPerAgent = 57.6
	floorStormSPerAgent = 7.1 / 10000
)

// hubSpecs are the figures of the Hub benchmark with n agents.
func hubSpecs(n int) []spec {
	area := fmt.Sprintf("Hub, %d agents", n)
	return []spec{
		{area, "tunnels held", "tunnels", "tunnels", 0, aim{false, float64(n), "every agent holds its tunnel"}},
		{area, "Hub RSS per idle tunnel", "KiB", "rss-KiB/tunnel", 0,
			aim{true, 2 * floorRSSKiBPerAgent, fmt.Sprintf("2× bare grpc-go over TLS (%.1f KiB)", floorRSSKiBPerAgent)}},
		{area, "Hub heap per idle tunnel", "KiB", "heap-KiB/tunnel", 0, aim{true, 2 * floorRSSKiBPerAgent, "within the RSS aim"}},
		{area, "connect storm (first dial → last Welcome)", "s", "storm-s", 0,
			aim{true, math.Max(1, 2*floorStormSPerAgent*float64(n)), "2× bare grpc-go TLS storm (7.1 s per 10,000), at least 1 s"}},
		{area, "connects retried in the storm", "connects", "connect-retries", 0, aim{true, float64(n) / 100, "at most 1% of agents"}},
		{area, "every Agent registered connected", "s", "registered-s", 0,
			aim{true, math.Max(5, float64(n)/200), "200 Agent writes/s, at least 5 s"}},
		{area, "mirror latency p50 (cloud change → agent Ack)", "ms", "p50-ms", 0, aim{true, 50, "interactive"}},
		{area, "mirror latency p99", "ms", "p99-ms", 0, aim{true, 250, "interactive"}},
		{area, "status latency back p50 (agent status → cloud Rollout)", "ms", "status-p50-ms", 0, aim{true, 100, "interactive"}},
		{area, "status latency back p99", "ms", "status-p99-ms", 0, aim{true, 500, "interactive"}},
	}
}

// controllerSpecs are the figures of the concurrent-deployments benchmark with m Deployments to t
// targets.
func controllerSpecs(m, t int) []spec {
	area := fmt.Sprintf("Controllers, %d Deployments × %d targets", m, t)
	return []spec{
		{area, "Deployments in flight at once (peak)", "deployments", "peak-in-flight", 0, aim{false, float64(m), "all of a batch overlap"}},
		{area, "time to plan and create every Rollout", "s", "all-rollouts-created-s", 0,
			aim{true, 5 + math.Max(2, 0.05*float64(m*t)), "the 5 s pause (Rollouts are made after it) + 50 ms per Rollout, at least 2 s"}},
		{area, "batch: first Create → all SUCCEEDED", "s", "all-succeeded-s", 0,
			aim{true, 5 + math.Max(10, 0.1*float64(m*t)), "the 5 s pause + 100 ms per Rollout, at least 10 s"}},
		{area, "Deployment controller time in Reconcile per Deployment (wall, API calls included)", "ms", "reconcile-ms/deployment", 0, aim{true, 100, "cheap controllers"}},
		{area, "CPU of every Aurora component per Deployment (controllers, Hub, agents, executors)", "ms", "process-cpu-ms/deployment", 0, aim{true, 250, "cheap controllers"}},
		{area, "throughput", "deployments/min", "deployments/min", 0, aim{false, 100, "busy CI"}},
	}
}

// e2eSpecs are the figures of the end-to-end benchmarks.
func e2eSpecs() []spec {
	return []spec{
		{"End to end, 1 change", "cloud Create → mirrored Rollout in the target p50", "ms", "p50-mirror-ms", 0, aim{true, 250, "interactive"}},
		{"End to end, 1 change", "cloud Create → mirrored Rollout in the target p99", "ms", "p99-mirror-ms", 0, aim{true, 1000, "interactive"}},
		{"End to end, 1 change", "cloud Create → SUCCEEDED p50 (2 replicas)", "ms", "p50-succeeded-ms", 0, aim{true, 2000, "interactive"}},
		{"End to end, 1 change", "floor: direct apply → 2 replicas Ready p50", "ms", "p50-apply-ms", 0, aim{true, 2000, "reference"}},
	}
}

// canarySpecs are the figures of the canary benchmark of one size; Argo Rollouts' ratio on this
// kind of machine is the aim.
func canarySpecs(replicas int) []spec {
	area := fmt.Sprintf("End to end, 3-step canary of %d replicas", replicas)
	argo := map[int]aim{
		10:  {true, 4.0, "Argo Rollouts here: 1.26 s / floor 0.31 s = 4.1×"},
		100: {true, 1.5, "Argo Rollouts here: 2.29 s / floor 1.76 s = 1.3×"},
	}[replicas]
	return []spec{
		{area, "Create → SUCCEEDED p50", "s", "p50-succeeded-ms", 0.001, aim{true, 10, "a canary in seconds"}},
		{area, "floor: same steps by direct SSA p50", "s", "p50-floor-ms", 0.001, aim{true, 10, "reference"}},
		{area, "ratio Aurora / floor (same run)", "×", "ratio-x", 0, argo},
	}
}

// makeFigures turns results into figures by specs; a metric that is missing gives no figure and
// an error naming it.
func makeFigures(source string, r result, specs []spec) ([]figure, []string) {
	var out []figure
	var missing []string
	for _, s := range specs {
		v, ok := r.Metrics[s.metric]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s: no metric %q", source, s.metric))
			continue
		}
		if s.scale != 0 {
			v *= s.scale
		}
		out = append(out, figure{Area: s.area, Name: s.name, Value: v, Unit: s.unit, Aim: s.aim, Met: s.aim.met(v),
			Source: source + " " + s.metric})
	}
	return out, missing
}

// number formats a figure with up to three significant decimals.
func number(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
