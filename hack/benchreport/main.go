// Command benchreport runs every benchmark of Aurora — the Hub at several fleet sizes, the
// controllers under concurrent Deployments, and end to end on full target clusters (one change,
// and a 3-step canary beside its direct-apply floor) — and writes one report of their figures,
// each beside its aim, as JSON and as a markdown table (`make bench`).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// options are the command's flags.
type options struct {
	out              string
	agents           []int
	changes          int
	deployments      int
	targets          int
	applyIterations  int
	canaryIterations int
	only             map[string]bool
}

// part is one `go test -bench` run of the report.
type part struct {
	// Name identifies the part (hub-100, controllers, apply, canary).
	Name string `json:"name"`
	// Command is the go test command line, Env the variables it adds.
	Command []string `json:"command"`
	Env     []string `json:"env,omitempty"`
	// Seconds is the part's wall time, compilation included.
	Seconds float64 `json:"seconds"`
	// Error is set when the run failed.
	Error string `json:"error,omitempty"`
	// Results are its parsed result lines.
	Results []result `json:"results"`

	figures func(r result) ([]figure, []string)
}

// report is what benchreport writes.
type report struct {
	StartedAt  time.Time `json:"startedAt"`
	Seconds    float64   `json:"seconds"`
	Commit     string    `json:"commit"`
	GoVersion  string    `json:"goVersion"`
	Cores      int       `json:"cores"`
	LoadBefore string    `json:"loadAverageBefore"`
	LoadAfter  string    `json:"loadAverageAfter"`
	Parts      []part    `json:"parts"`
	Figures    []figure  `json:"figures"`
	Missing    []string  `json:"missing,omitempty"`
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(2)
	}
	if err := run(context.Background(), opts); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	o := options{}
	agents := fs.String("agents", "100,1000,10000", "Fleet sizes of the Hub benchmark, comma-separated.")
	only := fs.String("only", "", "Run only these parts, comma-separated: hub, controllers, apply, canary (default all).")
	fs.StringVar(&o.out, "out", "bench/results", "Directory of the report: latest.json, latest.md and latest.log.")
	fs.IntVar(&o.changes, "changes", 300, "Rollout changes measured per Hub fleet size.")
	fs.IntVar(&o.deployments, "deployments", 50, "Deployments created at once by the controllers' benchmark.")
	fs.IntVar(&o.targets, "targets", 2, "Target clusters of the controllers' benchmark.")
	fs.IntVar(&o.applyIterations, "apply-iterations", 20, "Deployments measured one at a time end to end.")
	fs.IntVar(&o.canaryIterations, "canary-iterations", 3, "Canaries measured per size (each beside its floor).")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for s := range strings.SplitSeq(*agents, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("-agents: %q is not a positive number", s)
		}
		o.agents = append(o.agents, n)
	}
	o.only = map[string]bool{}
	for s := range strings.SplitSeq(*only, ",") {
		switch s = strings.TrimSpace(s); s {
		case "":
		case "hub", "controllers", "apply", "canary":
			o.only[s] = true
		default:
			return o, fmt.Errorf("-only: unknown part %q (want hub, controllers, apply or canary)", s)
		}
	}
	for name, v := range map[string]int{"-changes": o.changes, "-deployments": o.deployments, "-targets": o.targets,
		"-apply-iterations": o.applyIterations, "-canary-iterations": o.canaryIterations} {
		if v <= 0 {
			return o, fmt.Errorf("%s: want a positive number, got %d", name, v)
		}
	}
	return o, nil
}

// plan lists the parts to run.
func plan(o options) []part {
	want := func(kind string) bool { return len(o.only) == 0 || o.only[kind] }
	var parts []part
	if want("hub") {
		for _, n := range o.agents {
			parts = append(parts, part{
				Name:    fmt.Sprintf("hub-%d", n),
				Command: benchCommand("./hub", "BenchmarkHubTunnels", o.changes),
				Env:     []string{"AURORA_BENCH_AGENTS=" + strconv.Itoa(n)},
				figures: figuresOf("BenchmarkHubTunnels", hubSpecs(n)),
			})
		}
	}
	if want("controllers") {
		parts = append(parts, part{
			Name:    "controllers",
			Command: benchCommand("./test/bench", "BenchmarkConcurrentDeployments", 1),
			Env:     []string{"AURORA_BENCH_DEPLOYMENTS=" + strconv.Itoa(o.deployments), "AURORA_BENCH_TARGETS=" + strconv.Itoa(o.targets)},
			figures: figuresOf("BenchmarkConcurrentDeployments", controllerSpecs(o.deployments, o.targets)),
		})
	}
	if want("apply") {
		parts = append(parts, part{
			Name:    "apply",
			Command: benchCommand("./test/bench", "BenchmarkDeploymentToTargetApply", o.applyIterations),
			figures: figuresOf("BenchmarkDeploymentToTargetApply", e2eSpecs()),
		})
	}
	if want("canary") {
		parts = append(parts, part{
			Name:    "canary",
			Command: benchCommand("./test/bench", "BenchmarkCanary", o.canaryIterations),
			figures: func(r result) ([]figure, []string) {
				for _, n := range []int{10, 100} {
					if r.Name == fmt.Sprintf("BenchmarkCanary/replicas=%d", n) {
						return makeFigures(r.Name, r, canarySpecs(n))
					}
				}
				return nil, nil
			},
		})
	}
	return parts
}

// benchCommand is the go test command line of one benchmark with n iterations.
func benchCommand(pkg, bench string, n int) []string {
	return []string{"go", "test", pkg, "-run", "^$", "-bench", "^" + bench + "$", "-benchtime", strconv.Itoa(n) + "x",
		"-count", "1", "-timeout", "30m"}
}

// figuresOf makes figures of the result of one benchmark by specs.
func figuresOf(bench string, specs []spec) func(r result) ([]figure, []string) {
	return func(r result) ([]figure, []string) {
		if r.Name != bench {
			return nil, nil
		}
		return makeFigures(bench, r, specs)
	}
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", o.out, err)
	}
	logFile, err := os.Create(filepath.Join(o.out, "latest.log"))
	if err != nil {
		return fmt.Errorf("creating the log: %w", err)
	}
	defer logFile.Close()
	rep := report{StartedAt: time.Now().UTC(), Commit: gitCommit(ctx), GoVersion: runtime.Version(), Cores: runtime.NumCPU(),
		LoadBefore: loadAverage()}
	failed := 0
	for _, p := range plan(o) {
		fmt.Fprintf(os.Stderr, "benchreport: %s: %s %s\n", p.Name, strings.Join(p.Env, " "), strings.Join(p.Command, " "))
		fmt.Fprintf(logFile, "### %s: %s %s\n", p.Name, strings.Join(p.Env, " "), strings.Join(p.Command, " "))
		start := time.Now()
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, p.Command[0], p.Command[1:]...)
		cmd.Env = append(os.Environ(), p.Env...)
		cmd.Stdout = io.MultiWriter(&out, logFile, os.Stdout)
		cmd.Stderr = io.MultiWriter(logFile, os.Stderr)
		if err := cmd.Run(); err != nil {
			p.Error = err.Error()
			failed++
		}
		p.Seconds = time.Since(start).Seconds()
		p.Results = parseResults(out.String())
		found := false
		for _, r := range p.Results {
			figs, missing := p.figures(r)
			found = found || len(figs) > 0 || len(missing) > 0
			rep.Figures = append(rep.Figures, figs...)
			rep.Missing = append(rep.Missing, missing...)
		}
		if !found {
			rep.Missing = append(rep.Missing, p.Name+": no result")
		}
		rep.Parts = append(rep.Parts, p)
	}
	rep.Seconds = time.Since(rep.StartedAt).Seconds()
	rep.LoadAfter = loadAverage()
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.out, "latest.json"), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	md := markdown(rep)
	if err := os.WriteFile(filepath.Join(o.out, "latest.md"), []byte(md), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	fmt.Print("\n" + md)
	if failed > 0 {
		return fmt.Errorf("%d of %d parts failed (see %s)", failed, len(rep.Parts), filepath.Join(o.out, "latest.log"))
	}
	return nil
}

// gitCommit is the commit the benchmarks ran on, or "".
func gitCommit(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// loadAverage is the machine's load average (1, 5, 15 minutes), or "".
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
