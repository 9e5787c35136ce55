package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// controllerStats are cumulative figures of one controller, from controller-runtime's metrics (every
// controller of the environment runs in this process and records into metrics.Registry; the
// executors of all agents share the name rollout-executor).
type controllerStats struct {
	reconciles, reconcileSeconds float64 // controller_runtime_reconcile_time_seconds
	queued, queueSeconds         float64 // workqueue_queue_duration_seconds: waits for a worker
	workers                      float64 // controller_runtime_max_concurrent_reconciles
}

// controllerSnapshot reads the stats of every controller.
func controllerSnapshot() map[string]controllerStats {
	out := map[string]controllerStats{}
	families, err := metrics.Registry.Gather()
	if err != nil {
		return out
	}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			name := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" || (name == "" && l.GetName() == "name") {
					name = l.GetValue()
				}
			}
			if name == "" {
				continue
			}
			s := out[name]
			switch mf.GetName() {
			case "controller_runtime_reconcile_time_seconds":
				s.reconciles += float64(m.GetHistogram().GetSampleCount())
				s.reconcileSeconds += m.GetHistogram().GetSampleSum()
			case "workqueue_queue_duration_seconds":
				s.queued += float64(m.GetHistogram().GetSampleCount())
				s.queueSeconds += m.GetHistogram().GetSampleSum()
			case "controller_runtime_max_concurrent_reconciles":
				s.workers = m.GetGauge().GetValue()
			default:
				continue
			}
			out[name] = s
		}
	}
	return out
}

// controllerReport describes what the controllers did between two snapshots taken wall apart: how
// many reconciles, how long each took, how long items waited in the queue for a worker, and how many
// ran at once on average (reconcile time over wall time).
func controllerReport(from, to map[string]controllerStats, wall time.Duration) string {
	var names []string
	for name := range to {
		names = append(names, name)
	}
	slices.Sort(names)
	var t strings.Builder
	for _, name := range names {
		a, z := from[name], to[name]
		n := z.reconciles - a.reconciles
		if n < 1 {
			continue
		}
		busy := z.reconcileSeconds - a.reconcileSeconds
		queued := z.queued - a.queued
		wait := 0.0
		if queued > 0 {
			wait = (z.queueSeconds - a.queueSeconds) / queued
		}
		fmt.Fprintf(&t, "  %-17s %5.0f reconciles, %6.1fms each, %7.1fms mean wait for a worker, %4.2f running on average (max %.0f per manager)\n",
			name, n, 1000*busy/n, 1000*wait, busy/wall.Seconds(), z.workers)
	}
	return t.String()
}
