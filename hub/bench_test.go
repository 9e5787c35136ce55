package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// benchAgentsEnv sets how many agents the benchmark connects (default 100).
const benchAgentsEnv = "AURORA_BENCH_AGENTS"

// benchReadBufferEnv sets Options.ReadBufferSize of the benchmark's Hub (-1: no read buffer).
const benchReadBufferEnv = "AURORA_BENCH_READ_BUFFER"

// benchHeapProfileEnv, when set, names a file the benchmark writes the Hub's heap profile to, once
// every agent is connected and idle.
const benchHeapProfileEnv = "AURORA_BENCH_HEAP_PROFILE"

// benchAgentsPerTenant is how many of the benchmark's agents share a tenant.
const benchAgentsPerTenant = 1000

// BenchmarkHubTunnels starts one Hub (production defaults: 10 s heartbeats, 1 min status writes)
// on a real API server and N simulated agents (AURORA_BENCH_AGENTS, default 100) in a child
// process, each on its own TCP + TLS connection from several loopback addresses. Once per process
// it measures the connect storm (first dial to last Welcome), the time until every Agent object
// shows connected, and the Hub's own memory per idle tunnel (heap and RSS after GC, minus the idle
// Hub's). Each iteration then changes one cloud Rollout (the first 100 are created, then updated)
// and waits for the agent's Ack of that generation: ns/op and the p50/p99 metrics are the latency
// from the API call to the acknowledgement. The agent then reports a status for the generation;
// status-p50/p99 are the time from its RolloutStatus leaving the agent to a watch of the cloud
// Rollout showing it. Run it with -benchtime=300x for 300 changes.
func BenchmarkHubTunnels(b *testing.B) {
	s := setUpBench(b)
	latencies, writes, statuses := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		latency, write, status := s.changeAndWaitForAck(b)
		latencies, writes, statuses = append(latencies, latency), append(writes, write), append(statuses, status)
	}
	b.StopTimer()
	slices.Sort(latencies)
	slices.Sort(writes)
	slices.Sort(statuses)
	p50, p99 := percentile(latencies, 0.50), percentile(latencies, 0.99)
	writeP50, writeP99 := percentile(writes, 0.50), percentile(writes, 0.99)
	statusP50, statusP99 := percentile(statuses, 0.50), percentile(statuses, 0.99)
	b.ReportMetric(float64(s.tunnels), "tunnels")
	b.ReportMetric(s.heapPerTunnelKiB, "heap-KiB/tunnel")
	b.ReportMetric(s.rssPerTunnelKiB, "rss-KiB/tunnel")
	b.ReportMetric(s.goroutinesPerTunnel, "goroutines/tunnel")
	b.ReportMetric(s.storm.Seconds(), "storm-s")
	b.ReportMetric(float64(s.connectRetries), "connect-retries")
	b.ReportMetric(s.registration.Seconds(), "registered-s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(writeP50.Microseconds())/1000, "api-write-p50-ms")
	b.ReportMetric(float64(statusP50.Microseconds())/1000, "status-p50-ms")
	b.ReportMetric(float64(statusP99.Microseconds())/1000, "status-p99-ms")
	fmt.Printf("\n=== Hub benchmark: %d agents\n"+
		"tunnels held:               %d\n"+
		"connect storm:              %s (first dial to last Welcome, %d dialing at once, %d connects retried)\n"+
		"all Agents registered:      %s after the first dial\n"+
		"Hub heap per idle tunnel:   %.1f KiB (live heap after GC)\n"+
		"Hub RSS per idle tunnel:    %.1f KiB\n"+
		"Hub goroutines per tunnel:  %.2f\n"+
		"Hub idle baseline:          heap %.1f MiB, RSS %.1f MiB\n"+
		"change -> Ack latency:      p50 %s, p99 %s over %d changes\n"+
		"  of which the API write:   p50 %s, p99 %s (Create/Patch call of the change)\n"+
		"status -> cloud Rollout:    p50 %s, p99 %s (agent sends RolloutStatus -> the cloud's watch shows it)\n\n",
		s.agents, s.tunnels, s.storm.Round(time.Millisecond), benchDialConcurrency, s.connectRetries, s.registration.Round(time.Millisecond),
		s.heapPerTunnelKiB, s.rssPerTunnelKiB, s.goroutinesPerTunnel, s.baseHeapMiB, s.baseRSSMiB,
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), len(latencies),
		writeP50.Round(10*time.Microsecond), writeP99.Round(10*time.Microsecond),
		statusP50.Round(10*time.Microsecond), statusP99.Round(10*time.Microsecond))
}

// benchDialConcurrency is how many simulated agents connect at once.
const benchDialConcurrency = 256

// benchScenario is the Hub, its fleet and what was measured of them, shared by every run of the
// benchmark in one process.
type benchScenario struct {
	env      *env
	hub      *Server
	stopHub  context.CancelFunc
	hubDone  chan error
	fleet    *exec.Cmd
	stdin    io.Closer
	acks     *ackBook
	statuses *ackBook // when the fleet sent each uid/generation's status
	shown    *ackBook // when a watch of the cloud showed that status
	tenants  []tenant
	agents   int
	rollouts []*rolloutv1alpha1.Rollout
	changes  int
	ended    atomic.Int64 // streams of the fleet that ended during the setup
	ready    atomic.Bool  // the setup is done: streams end only at shutdown

	tunnels, connectRetries           int
	storm, registration               time.Duration
	heapPerTunnelKiB, rssPerTunnelKiB float64
	goroutinesPerTunnel               float64
	baseHeapMiB, baseRSSMiB           float64
}

var (
	benchOnce sync.Once
	bench     *benchScenario
	benchErr  error
)

// setUpBench returns the shared scenario, setting it up on first use.
func setUpBench(b *testing.B) *benchScenario {
	b.Helper()
	e := testEnv(b)
	benchOnce.Do(func() { bench, benchErr = startBench(e) })
	if benchErr != nil {
		b.Fatalf("setting up the benchmark: %v", benchErr)
	}
	return bench
}

// startBench starts the Hub, measures its idle baseline, starts the fleet, waits for the storm and
// the registrations, and measures the Hub again.
func startBench(e *env) (_ *benchScenario, err error) {
	agents := 100
	if v := os.Getenv(benchAgentsEnv); v != "" {
		if agents, err = strconv.Atoi(v); err != nil || agents <= 0 {
			return nil, fmt.Errorf("%s=%q is not a positive number", benchAgentsEnv, v)
		}
	}
	s := &benchScenario{env: e, agents: agents, acks: newAckBook(), statuses: newAckBook(), shown: newAckBook()}
	bench = s // So that stopBench cleans up after a failure too.
	ctx := context.Background()
	cfg := fleetConfig{CAPEM: e.ca.CertPEM, DialConcurrency: benchDialConcurrency}
	for remaining := agents; remaining > 0; remaining -= benchAgentsPerTenant {
		tn := e.newTenant(nopTB{})
		token, err := e.issuer.sign(tokenRequest{organization: tn.organization, environment: tn.environment,
			scopes: []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}, lifetime: 4 * time.Hour})
		if err != nil {
			return nil, err
		}
		s.tenants = append(s.tenants, tn)
		cfg.Tenants = append(cfg.Tenants, fleetTenant{Namespace: tn.namespace, Token: token, Agents: min(remaining, benchAgentsPerTenant)})
	}
	for i := range 8 {
		cfg.SourceAddresses = append(cfg.SourceAddresses, fmt.Sprintf("127.0.0.%d", 2+i))
	}

	readBuffer := 0
	if v := os.Getenv(benchReadBufferEnv); v != "" {
		if readBuffer, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("%s=%q is not a number", benchReadBufferEnv, v)
		}
	}
	hub, err := New(Options{Cloud: e.cluster.Config, Verifier: e.verifier, TLS: e.serverTLS.Clone(), Replica: "hub-bench",
		Registerer: prometheus.NewRegistry(), DrainTimeout: 30 * time.Second, ReadBufferSize: readBuffer})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.HubAddress = l.Addr().String()
	hubCtx, stopHub := context.WithCancel(ctx)
	s.hub, s.stopHub, s.hubDone = hub, stopHub, make(chan error, 1)
	go func() { s.hubDone <- hub.Serve(hubCtx, l) }()
	for hub.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	base := measureMemory()
	s.baseHeapMiB, s.baseRSSMiB = float64(base.heap)/(1<<20), float64(base.rss)/(1<<20)

	started := time.Now()
	welcomed, err := s.startFleet(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case line := <-welcomed:
		fields := strings.Fields(line)
		ns, _ := strconv.ParseInt(fields[2], 10, 64)
		s.storm = time.Duration(ns)
		if fields[3] != "0" {
			return nil, fmt.Errorf("%s agents of the fleet failed to connect (%d attempts each)", fields[3], fleetConnectAttempts)
		}
		if len(fields) > 4 {
			s.connectRetries, _ = strconv.Atoi(fields[4])
		}
	case <-time.After(15 * time.Minute):
		return nil, fmt.Errorf("the fleet did not connect within 15 minutes")
	}
	s.tunnels = len(hub.ConnectedAgents())
	if err := s.waitForRegistrations(ctx, 15*time.Minute); err != nil {
		return nil, err
	}
	s.registration = time.Since(started)
	if err := s.watchStatuses(); err != nil {
		return nil, err
	}
	time.Sleep(3 * time.Second)
	loaded := measureMemory()
	s.heapPerTunnelKiB = float64(int64(loaded.heap)-int64(base.heap)) / float64(agents) / 1024
	s.rssPerTunnelKiB = float64(int64(loaded.rss)-int64(base.rss)) / float64(agents) / 1024
	s.goroutinesPerTunnel = float64(loaded.goroutines-base.goroutines) / float64(agents)
	s.ready.Store(true)
	if path := os.Getenv(benchHeapProfileEnv); path != "" {
		if err := writeHeapProfile(path); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// startFleet re-executes the test binary as the fleet and returns the channel its "welcomed" line
// arrives on; its ack lines go to the ack book.
func (s *benchScenario) startFleet(cfg fleetConfig) (<-chan string, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("aurora-hub-fleet-%d.json", os.Getpid()))
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return nil, err
	}
	s.fleet = exec.Command(os.Args[0], "-test.run=^$")
	s.fleet.Env = append(os.Environ(), fleetEnv+"="+path)
	s.fleet.Stderr = os.Stderr
	s.fleet.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := s.fleet.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if s.stdin, err = s.fleet.StdinPipe(); err != nil {
		return nil, err
	}
	if err := s.fleet.Start(); err != nil {
		return nil, fmt.Errorf("starting the fleet: %w", err)
	}
	welcomed := make(chan string, 1)
	go func() {
		defer os.Remove(path)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			line := lines.Text()
			switch {
			case strings.HasPrefix(line, "welcomed "):
				welcomed <- line
			case strings.HasPrefix(line, "ack "):
				s.acks.record(line)
			case strings.HasPrefix(line, "status "):
				s.statuses.record(line)
			case strings.HasPrefix(line, "ended "):
				if !s.ready.Load() && s.ended.Add(1) <= 10 {
					fmt.Fprintln(os.Stderr, "fleet:", line)
				}
			default:
				fmt.Fprintln(os.Stderr, "fleet:", line)
			}
		}
	}()
	return welcomed, nil
}

// waitForRegistrations waits until every agent's Agent shows connected.
func (s *benchScenario) waitForRegistrations(ctx context.Context, timeout time.Duration) error {
	deadline, lastReport := time.Now().Add(timeout), time.Now()
	for {
		connected := 0
		for _, tn := range s.tenants {
			var list deployv1alpha1.AgentList
			if err := s.env.client.List(ctx, &list, client.InNamespace(tn.namespace)); err != nil {
				return err
			}
			for i := range list.Items {
				if list.Items[i].Status.Connected {
					connected++
				}
			}
		}
		if connected == s.agents {
			return nil
		}
		if ended := s.ended.Load(); ended > 0 {
			return fmt.Errorf("%d streams of the fleet ended before every Agent was registered (%d of %d)", ended, connected, s.agents)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d Agents connected after %s", connected, s.agents, timeout)
		}
		if time.Since(lastReport) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "hub benchmark: %d of %d Agents registered\n", connected, s.agents)
			lastReport = time.Now()
		}
		time.Sleep(registrationPollInterval(s.agents))
	}
}

// registrationPollInterval is how often the benchmark lists the Agents while it waits for them:
// listing 10,000 Agents four times a second would load the API server the Hub writes to.
func registrationPollInterval(agents int) time.Duration {
	if agents > 1000 {
		return time.Second
	}
	return 250 * time.Millisecond
}

// changeAndWaitForAck creates a Rollout for an agent (the first 100 changes) or updates one, and
// returns the time from the API call to the agent's Ack of the new generation, and how long the API
// call itself took.
func (s *benchScenario) changeAndWaitForAck(b *testing.B) (latency, write, status time.Duration) {
	b.Helper()
	ctx := context.Background()
	n := s.changes
	s.changes++
	var r *rolloutv1alpha1.Rollout
	started := time.Now()
	if n < 100 {
		agentIndex := (n * 7919) % s.agents
		tn := s.tenants[agentIndex/benchAgentsPerTenant]
		r = newRollout(tn.namespace, fmt.Sprintf("bench-%d", n), fleetAgentID(agentIndex%benchAgentsPerTenant))
		if err := s.env.client.Create(ctx, r); err != nil {
			b.Fatalf("creating a Rollout: %v", err)
		}
		s.rollouts = append(s.rollouts, r)
	} else {
		r = s.rollouts[n%len(s.rollouts)]
		before := r.DeepCopy()
		r.Spec.Manifests = []string{fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: change-%d\n", n)}
		if err := s.env.client.Patch(ctx, r, client.MergeFrom(before)); err != nil {
			b.Fatalf("updating a Rollout: %v", err)
		}
	}
	written := time.Now()
	acked, err := s.acks.wait(string(r.UID), r.Generation, time.Minute)
	if err != nil {
		b.Fatalf("Rollout %s/%s: %v", r.Namespace, r.Name, err)
	}
	sent, err := s.statuses.wait(string(r.UID), r.Generation, time.Minute)
	if err != nil {
		b.Fatalf("Rollout %s/%s: the agent's status: %v", r.Namespace, r.Name, err)
	}
	shown, err := s.shown.wait(string(r.UID), r.Generation, time.Minute)
	if err != nil {
		b.Fatalf("Rollout %s/%s: the status in the cloud: %v", r.Namespace, r.Name, err)
	}
	return acked.Sub(started), written.Sub(started), shown.Sub(sent)
}

// watchStatuses watches the cloud's Rollouts and notes when each shows the status a fleet agent
// reported for a generation.
func (s *benchScenario) watchStatuses() error {
	c, err := client.NewWithWatch(s.env.cluster.Config, client.Options{Scheme: s.env.client.Scheme()})
	if err != nil {
		return fmt.Errorf("creating a watching client: %w", err)
	}
	w, err := c.Watch(context.Background(), &rolloutv1alpha1.RolloutList{})
	if err != nil {
		return fmt.Errorf("watching Rollouts: %w", err)
	}
	go func() {
		for ev := range w.ResultChan() {
			r, ok := ev.Object.(*rolloutv1alpha1.Rollout)
			if !ok {
				continue
			}
			var generation int64
			if _, err := fmt.Sscanf(r.Status.Message, fleetStatusFormat, &generation); err == nil {
				s.shown.note(string(r.UID), generation, time.Now())
			}
		}
	}()
	return nil
}

// stopBench stops the benchmark's Hub and fleet, if they were started.
func stopBench() {
	if bench == nil {
		return
	}
	if bench.stopHub != nil {
		bench.stopHub()
		select {
		case <-bench.hubDone:
		case <-time.After(2 * time.Minute):
		}
	}
	if bench.fleet != nil && bench.fleet.Process != nil {
		_ = bench.stdin.Close()
		_ = bench.fleet.Process.Kill()
		_ = bench.fleet.Wait()
	}
}

// memorySample is the process's memory after a full GC.
type memorySample struct {
	heap, rss  uint64
	goroutines int
}

// measureMemory collects garbage, returns freed memory to the OS and samples the live heap, the
// resident set and the goroutine count.
func measureMemory() memorySample {
	runtime.GC()
	debug.FreeOSMemory()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return memorySample{heap: stats.HeapAlloc, rss: residentBytes(), goroutines: runtime.NumGoroutine()}
}

// residentBytes reads the process's resident set size from /proc.
func residentBytes() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib * 1024
		}
	}
	return 0
}

// percentile returns the p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ackBook records when the fleet acknowledged each uid+generation and lets the benchmark wait for one.
type ackBook struct {
	mu      sync.Mutex
	at      map[string]time.Time
	waiters map[string]chan struct{}
}

// newAckBook returns an empty book.
func newAckBook() *ackBook {
	return &ackBook{at: make(map[string]time.Time), waiters: make(map[string]chan struct{})}
}

// record notes an "ack <uid> <generation> <unix ns>" line.
func (a *ackBook) record(line string) {
	fields := strings.Fields(line)
	if len(fields) != 4 {
		return
	}
	ns, err := strconv.ParseInt(fields[3], 10, 64)
	if err != nil {
		return
	}
	key := fields[1] + "/" + fields[2]
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := a.at[key]; seen {
		return
	}
	a.at[key] = time.Unix(0, ns)
	if ch, ok := a.waiters[key]; ok {
		close(ch)
		delete(a.waiters, key)
	}
}

// note records that uid at generation happened at at, unless it was recorded already.
func (a *ackBook) note(uid string, generation int64, at time.Time) {
	a.record(fmt.Sprintf("note %s %d %d", uid, generation, at.UnixNano()))
}

// wait returns when uid at generation was acknowledged.
func (a *ackBook) wait(uid string, generation int64, timeout time.Duration) (time.Time, error) {
	key := uid + "/" + strconv.FormatInt(generation, 10)
	a.mu.Lock()
	if at, ok := a.at[key]; ok {
		a.mu.Unlock()
		return at, nil
	}
	ch, ok := a.waiters[key]
	if !ok {
		ch = make(chan struct{})
		a.waiters[key] = ch
	}
	a.mu.Unlock()
	select {
	case <-ch:
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.at[key], nil
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("generation %d was not acknowledged within %s", generation, timeout)
	}
}

// nopTB is a testing.TB for helpers used outside a test; it panics on failure.
type nopTB struct{ testing.TB }

// Helper does nothing.
func (nopTB) Helper() {}

// Fatalf panics with the message.
func (nopTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// writeHeapProfile writes the process's heap profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	return nil
}
