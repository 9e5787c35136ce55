package hub

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// fleetEnv, set to the path of a fleetConfig, makes the test binary run a fleet of simulated agents
// instead of the tests: the benchmark re-executes itself so that the agents' sockets, memory and
// CPU are not counted as the Hub's.
const fleetEnv = "AURORA_HUB_FLEET_CONFIG"

// fleetConfig is what the benchmark tells its fleet.
type fleetConfig struct {
	// HubAddress is where the Hub listens.
	HubAddress string `json:"hubAddress"`
	// CAPEM is the CA that signed the Hub's certificate.
	CAPEM []byte `json:"caPEM"`
	// Tenants are the tenants of the agents, each with its token and agent count.
	Tenants []fleetTenant `json:"tenants"`
	// SourceAddresses are the loopback addresses the agents' connections come from, round robin.
	SourceAddresses []string `json:"sourceAddresses"`
	// DialConcurrency is how many agents connect at once.
	DialConcurrency int `json:"dialConcurrency"`
}

// fleetTenant is one tenant of the fleet.
type fleetTenant struct {
	Namespace string `json:"namespace"`
	Token     string `json:"token"`
	Agents    int    `json:"agents"`
}

// fleetAgentID names the i-th agent of a tenant.
func fleetAgentID(i int) string { return fmt.Sprintf("agent-%05d", i) }

// fleetAgent is one simulated agent: its own gRPC connection (TCP + TLS) and stream.
type fleetAgent struct {
	conn   *grpc.ClientConn
	stream tunnelv1.Tunnel_ConnectClient
	mu     sync.Mutex
	nextID uint64
	done   chan struct{}
}

// send sends env with the agent's next id.
func (a *fleetAgent) send(env *tunnelv1.Envelope) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	env.Id = a.nextID
	env.SentAtUnixNano = time.Now().UnixNano()
	return a.stream.Send(env)
}

// fleetConnectAttempts is how often a fleet agent tries to connect before it counts as failed.
const fleetConnectAttempts = 3

// runFleet connects every agent of the fleet and reports "welcomed <agents> <storm ns> <failures>
// <retries>"
// on stdout. Each agent sends heartbeats from its Welcome on and acknowledges every ApplyRollout,
// reporting "ack <uid> <generation> <unix ns>", then reports its status ("status <uid> <generation>
// <unix ns>"), until stdin closes.
func runFleet() int {
	raw, err := os.ReadFile(os.Getenv(fleetEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet: reading the config:", err)
		return 2
	}
	var cfg fleetConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "fleet: decoding the config:", err)
		return 2
	}
	tlsConfig, err := tlsutil.ClientConfig(cfg.CAPEM)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		return 2
	}
	out := &lineWriter{w: bufio.NewWriter(os.Stdout)}
	type job struct {
		index     int
		tenant    fleetTenant
		agentName string
	}
	var jobs []job
	for _, tn := range cfg.Tenants {
		for i := range tn.Agents {
			jobs = append(jobs, job{index: len(jobs), tenant: tn, agentName: fleetAgentID(i)})
		}
	}
	var failures, retries atomic.Int64
	work := make(chan job)
	var wg sync.WaitGroup
	started := time.Now()
	for range max(cfg.DialConcurrency, 1) {
		wg.Go(func() {
			for j := range work {
				source := cfg.SourceAddresses[j.index%len(cfg.SourceAddresses)]
				agent, interval, err := connectFleetAgent(cfg.HubAddress, tlsConfig, source, j.tenant.Token, j.agentName)
				for attempt := 1; err != nil && attempt < fleetConnectAttempts; attempt++ {
					// As a real agent does, retry after a pause: on a loaded machine a handshake of
					// the storm can time out.
					retries.Add(1)
					time.Sleep(time.Duration(attempt) * time.Second)
					agent, interval, err = connectFleetAgent(cfg.HubAddress, tlsConfig, source, j.tenant.Token, j.agentName)
				}
				if err != nil {
					failures.Add(1)
					out.printf("error %s/%s: %v", j.tenant.Namespace, j.agentName, err)
					continue
				}
				go agent.heartbeat(interval)
				go agent.serve(out, j.tenant.Namespace+"/"+j.agentName)
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	out.printf("welcomed %d %d %d %d", len(jobs)-int(failures.Load()), time.Since(started).Nanoseconds(), failures.Load(), retries.Load())
	_, _ = io.Copy(io.Discard, os.Stdin) // Until the benchmark closes stdin or dies.
	return 0
}

// connectFleetAgent dials the Hub from source, opens the tunnel, says Hello and waits for Welcome.
func connectFleetAgent(address string, tlsConfig *tls.Config, source, token, id string) (*fleetAgent, time.Duration, error) {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 30 * time.Second}
	conn, err := grpc.NewClient(address,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)),
		grpc.WithPerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(token))),
		grpc.WithKeepaliveParams(ClientKeepalive()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return dialer.DialContext(ctx, "tcp", addr) }),
	)
	if err != nil {
		return nil, 0, fmt.Errorf("dialing: %w", err)
	}
	stream, err := tunnelv1.NewTunnelClient(conn).Connect(context.Background())
	if err != nil {
		_ = conn.Close()
		return nil, 0, fmt.Errorf("opening the tunnel: %w", err)
	}
	agent := &fleetAgent{conn: conn, stream: stream, done: make(chan struct{})}
	if err := agent.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{
		AgentIdentifier: id, AgentVersion: "fleet", KubernetesVersion: "v1.37.2"}}}); err != nil {
		_ = conn.Close()
		return nil, 0, fmt.Errorf("sending Hello: %w", err)
	}
	first, err := stream.Recv()
	if err != nil {
		_ = conn.Close()
		return nil, 0, fmt.Errorf("waiting for Welcome: %w", err)
	}
	welcome := first.GetWelcome()
	if welcome == nil {
		_ = conn.Close()
		return nil, 0, fmt.Errorf("the hub answered Hello with %s", payloadName(first))
	}
	return agent, time.Duration(welcome.GetHeartbeatIntervalMs()) * time.Millisecond, nil
}

// serve acknowledges every ApplyRollout and reports it, until the stream ends; it reports the end
// as "ended <name> <error>".
func (a *fleetAgent) serve(out *lineWriter, name string) {
	defer close(a.done)
	for {
		env, err := a.stream.Recv()
		if err != nil {
			out.printf("ended %s %v", name, err)
			return
		}
		if apply := env.GetApplyRollout(); apply != nil {
			_ = a.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Ack{Ack: &tunnelv1.Ack{AckId: env.GetId(), Ok: true}}})
			ref := apply.GetRef()
			out.printf("ack %s %d %d", ref.GetUid(), ref.GetGeneration(), time.Now().UnixNano())
			a.reportStatus(out, ref)
		}
	}
}

// reportStatus sends the status of an applied Rollout, as an agent does once its executor moves it,
// and reports "status <uid> <generation> <unix ns>"; the message names the generation so that the
// benchmark can tell when the cloud Rollout shows it.
func (a *fleetAgent) reportStatus(out *lineWriter, ref *tunnelv1.RolloutRef) {
	status, err := json.Marshal(rolloutv1alpha1.RolloutStatus{ObservedGeneration: ref.GetGeneration(),
		AppliedGeneration: ref.GetGeneration(), Phase: rolloutv1alpha1.PhaseProgressing, Message: fleetStatusMessage(ref.GetGeneration())})
	if err != nil {
		return
	}
	now := time.Now().UnixNano()
	if err := a.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{
		Ref: ref, Status: status, ObservedAtUnixNano: now}}}); err != nil {
		return
	}
	out.printf("status %s %d %d", ref.GetUid(), ref.GetGeneration(), now)
}

// fleetStatusFormat is the status message a fleet agent reports for a generation.
const fleetStatusFormat = "fleet applied generation %d"

// fleetStatusMessage is the status message a fleet agent reports for a generation.
func fleetStatusMessage(generation int64) string { return fmt.Sprintf(fleetStatusFormat, generation) }

// heartbeat sends Heartbeat every interval from Welcome on, until the stream ends.
func (a *fleetAgent) heartbeat(interval time.Duration) {
	if interval <= 0 {
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			_ = a.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}})
		case <-a.done:
			return
		}
	}
}

// lineWriter writes whole lines to a shared output.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// printf writes one formatted line and flushes it.
func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
	_ = l.w.Flush()
}
