package bench

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aurora-cd/aurora/internal/devenv"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuMeter samples CPU time: the whole machine's (/proc/stat), this process's (every Aurora component
// runs in it, with the benchmark's own clients) and each cluster process's, grouped by component.
type cpuMeter struct {
	procs []labelledPID
}

type labelledPID struct {
	label string
	pid   int
}

// cpuSample is CPU seconds at one instant.
type cpuSample struct {
	at                time.Time
	busy, total, self float64
	byLabel           map[string]float64
	loadAvg           string
	controllers       map[string]controllerStats
}

func newCPUMeter(env *devenv.Env) *cpuMeter {
	m := &cpuMeter{}
	for _, p := range env.Cloud.Processes() {
		m.procs = append(m.procs, labelledPID{"cloud " + p.Component, p.PID})
	}
	for _, c := range env.Targets {
		for _, p := range c.Processes() {
			m.procs = append(m.procs, labelledPID{"targets " + p.Component, p.PID})
		}
	}
	return m
}

func (m *cpuMeter) sample() cpuSample {
	s := cpuSample{at: time.Now(), byLabel: map[string]float64{}, controllers: controllerSnapshot()}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		fields := strings.Fields(line)
		for i, f := range fields[1:] {
			v, _ := strconv.ParseFloat(f, 64)
			if i >= 8 { // guest and guest_nice are counted in user and nice already
				break
			}
			s.total += v / clockTicks
			if i != 3 && i != 4 { // idle, iowait
				s.busy += v / clockTicks
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	for _, p := range m.procs {
		s.byLabel[p.label] += processCPU(p.pid)
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(data))
		if len(f) >= 3 {
			s.loadAvg = strings.Join(f[:3], " ")
		}
	}
	return s
}

// processCPU returns a process's user+system CPU seconds, or 0 when it cannot be read.
func processCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTicks
}

// cpuReport describes the CPU used between two samples: by the machine, by this benchmark (this
// process and its clusters) and by everything else (another test run, for instance); then what the
// controllers did.
func cpuReport(from, to cpuSample) string {
	wall := to.at.Sub(from.at).Seconds()
	busy := to.busy - from.busy
	self := to.self - from.self
	clusters := 0.0
	var labels []string
	for l := range to.byLabel {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	var parts []string
	for _, l := range labels {
		d := to.byLabel[l] - from.byLabel[l]
		clusters += d
		if d >= 0.05 {
			parts = append(parts, fmt.Sprintf("%s %.1f", l, d))
		}
	}
	other := max(busy-self-clusters, 0)
	cores := float64(runtime.NumCPU())
	return fmt.Sprintf("CPU over %.0fs wall on %d cores (%.0f core-s): machine busy %.1f core-s (%.0f%%)\n"+
		"  this benchmark: %.1f core-s in the Go process (controllers, auth, Hub, agents, executors, watches)\n"+
		"                  %.1f core-s in the clusters' processes: %s\n"+
		"  other processes (not this benchmark): %.1f core-s; load average %s at the start, %s at the end\n",
		wall, int(cores), wall*cores, busy, 100*busy/(wall*cores), self, clusters, strings.Join(parts, ", "), other,
		from.loadAvg, to.loadAvg) +
		"controllers (controller-runtime metrics):\n" + controllerReport(from.controllers, to.controllers, to.at.Sub(from.at))
}
