package hub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// eventually retries check until it returns nil, failing the test with its last error after timeout.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// getAgent reads the Agent of the tenant.
func (e *env) getAgent(tn tenant, name string) (*deployv1alpha1.Agent, error) {
	agent := &deployv1alpha1.Agent{}
	err := e.client.Get(context.Background(), client.ObjectKey{Namespace: tn.namespace, Name: name}, agent)
	return agent, err
}

// sessionAddress returns the remote address of the live session id, or "".
func (h *testHub) sessionAddress(id string) string {
	for _, c := range h.ConnectedAgents() {
		if c.SessionID == id {
			return c.RemoteAddress
		}
	}
	return ""
}

// readyCondition returns the Agent's Ready condition as "Status/Reason", or "".
func readyCondition(agent *deployv1alpha1.Agent) string {
	if c := apimeta.FindStatusCondition(agent.Status.Conditions, meta.ReadyCondition); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

func TestConnectRegistersTheAgentAndItsEnd(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	tn := e.newTenant(t)
	hub := e.startHub(t)
	agent := dialAgent(t, hub.addr, e.clientTLS, e.token(t, tn, nil))
	welcome := agent.hello("prod")
	agent.startHeartbeats(200 * time.Millisecond)

	if welcome.GetSessionId() == "" || welcome.GetHubReplica() != "hub-test" || welcome.GetHeartbeatIntervalMs() != 500 ||
		welcome.GetMaxMessageBytes() != DefaultMaxMessageBytes {
		t.Errorf("Welcome = %v", welcome)
	}
	connectedAgents := hub.ConnectedAgents()
	if len(connectedAgents) != 1 || connectedAgents[0].Namespace != tn.namespace || connectedAgents[0].Agent != "prod" ||
		connectedAgents[0].SessionID != welcome.GetSessionId() || !strings.HasPrefix(connectedAgents[0].RemoteAddress, "127.0.0.1:") {
		t.Fatalf("ConnectedAgents = %+v", connectedAgents)
	}
	var connectedAt metav1.Time
	eventually(t, 10*time.Second, func() error {
		agent, err := e.getAgent(tn, "prod")
		if err != nil {
			return err
		}
		st := agent.Status
		if agent.Spec.AgentIdentifier != "prod" || !st.Connected || st.ConnectedAt == nil || st.AgentVersion != "test-1.0" ||
			st.KubernetesVersion != "v1.37.2" || st.ClientID != "client-"+tn.organization+"-prod" ||
			st.RemoteAddress != connectedAgents[0].RemoteAddress || st.HubReplica != "hub-test" || st.LastHeartbeatAt == nil ||
			st.ObservedGeneration != agent.Generation || readyCondition(agent) != "True/Connected" {
			return fmt.Errorf("agent = %+v %+v", agent.Spec, st)
		}
		connectedAt = *st.ConnectedAt
		return nil
	})
	// Heartbeats move lastHeartbeatAt, at most once per StatusWriteInterval (1 s here).
	eventually(t, 10*time.Second, func() error {
		agent, err := e.getAgent(tn, "prod")
		if err != nil {
			return err
		}
		if !agent.Status.LastHeartbeatAt.After(connectedAt.Time) {
			return fmt.Errorf("lastHeartbeatAt %v not after connectedAt %v", agent.Status.LastHeartbeatAt, connectedAt)
		}
		return nil
	})
	if agent.heartbeats.Load() == 0 {
		t.Error("the hub sent no heartbeat")
	}
	if got := testutil.ToFloat64(hub.metrics.sessionsOpen); got != 1 {
		t.Errorf("sessions_open = %v", got)
	}

	agent.stopHeartbeats()
	agent.sendMu.Lock()
	_ = agent.stream.CloseSend()
	agent.sendMu.Unlock()
	if err := agent.ended(10 * time.Second); err != nil {
		t.Errorf("the stream ended with %v, want OK", err)
	}
	eventually(t, 10*time.Second, func() error {
		agent, err := e.getAgent(tn, "prod")
		if err != nil {
			return err
		}
		if agent.Status.Connected || agent.Status.DisconnectedAt == nil || readyCondition(agent) != "False/Disconnected" {
			return fmt.Errorf("status after the end = %+v", agent.Status)
		}
		return nil
	})
	if got := testutil.ToFloat64(hub.metrics.sessionsOpen); got != 0 {
		t.Errorf("sessions_open after the end = %v", got)
	}
	if got := testutil.ToFloat64(hub.metrics.disconnects.WithLabelValues("agent_closed")); got != 1 {
		t.Errorf("disconnects{agent_closed} = %v", got)
	}
	if got := testutil.ToFloat64(hub.metrics.received[payloadHeartbeat]); got == 0 {
		t.Error("no received heartbeat was counted")
	}
}

func TestSecondConnectionReplacesTheFirst(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	tn := e.newTenant(t)
	hub := e.startHub(t)
	token := e.token(t, tn, []string{"prod"})
	first := dialAgent(t, hub.addr, e.clientTLS, token)
	firstWelcome := first.hello("prod")
	first.startHeartbeats(200 * time.Millisecond)
	eventually(t, 10*time.Second, func() error {
		agent, err := e.getAgent(tn, "prod")
		if err != nil || !agent.Status.Connected {
			return fmt.Errorf("agent not connected yet: %v", err)
		}
		return nil
	})

	second := dialAgent(t, hub.addr, e.clientTLS, token)
	secondWelcome := second.hello("prod")
	second.startHeartbeats(200 * time.Millisecond)
	if secondWelcome.GetSessionId() == firstWelcome.GetSessionId() {
		t.Fatal("both streams got one session id")
	}
	drain := first.nextOrEnd(10 * time.Second).GetDrain()
	if drain == nil || !strings.Contains(drain.GetReason(), "newer stream") ||
		drain.GetReconnectAfterMs() != uint32(DefaultReplacedReconnectDelay.Milliseconds()) {
		t.Fatalf("the first stream got %v, want Drain", drain)
	}
	if err := first.ended(10 * time.Second); err != nil {
		t.Errorf("the first stream ended with %v, want OK", err)
	}
	secondAddress := hub.sessionAddress(secondWelcome.GetSessionId())
	if got := hub.ConnectedAgents(); len(got) != 1 || got[0].SessionID != secondWelcome.GetSessionId() {
		t.Fatalf("ConnectedAgents = %+v", got)
	}
	// Well past the disconnect grace, the Agent shows the second stream, connected.
	time.Sleep(time.Second)
	eventually(t, 10*time.Second, func() error {
		agent, err := e.getAgent(tn, "prod")
		if err != nil {
			return err
		}
		if !agent.Status.Connected || agent.Status.RemoteAddress != secondAddress || readyCondition(agent) != "True/Connected" {
			return fmt.Errorf("status = %+v, want connected from %s", agent.Status, secondAddress)
		}
		return nil
	})
	if got := testutil.ToFloat64(hub.metrics.disconnects.WithLabelValues("replaced")); got != 1 {
		t.Errorf("disconnects{replaced} = %v", got)
	}
	second.expectQuiet(200 * time.Millisecond)
}

func TestRefusedTunnels(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	tn := e.newTenant(t)
	hub := e.startHub(t, func(o *Options) { o.HelloTimeout = 500 * time.Millisecond })
	hello := func(id string) *tunnelv1.Envelope {
		return &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{AgentIdentifier: id}}}
	}
	tests := []struct {
		name  string
		token string
		first *tunnelv1.Envelope
		want  codes.Code
	}{
		{name: "no token", first: hello("prod"), want: codes.Unauthenticated},
		{name: "garbage token", token: "not-a-jwt", first: hello("prod"), want: codes.Unauthenticated},
		{name: "token without agentHub scope", token: e.token(t, tn, nil, iamv1alpha1.ScopeDeploymentFull), first: hello("prod"),
			want: codes.PermissionDenied},
		{name: "agent the token may not act as", token: e.token(t, tn, []string{"staging"}), first: hello("prod"),
			want: codes.PermissionDenied},
		{name: "first message is not Hello", token: e.token(t, tn, nil),
			first: &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}}, want: codes.InvalidArgument},
		{name: "identifier that cannot name an Agent", token: e.token(t, tn, nil), first: hello("Prod_1"), want: codes.InvalidArgument},
		{name: "no Hello in time", token: e.token(t, tn, nil), want: codes.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			agent := dialAgent(t, hub.addr, e.clientTLS, tt.token)
			if tt.first != nil {
				agent.send(tt.first)
			}
			if err := agent.ended(10 * time.Second); status.Code(err) != tt.want {
				t.Errorf("the stream ended with %v, want %v", err, tt.want)
			}
		})
	}
	t.Cleanup(func() {
		var agents deployv1alpha1.AgentList
		if err := e.client.List(context.Background(), &agents, client.InNamespace(tn.namespace)); err != nil || len(agents.Items) != 0 {
			t.Errorf("refused tunnels registered Agents: %d, %v", len(agents.Items), err)
		}
	})
}

func TestSilentAgentIsDropped(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	tn := e.newTenant(t)
	hub := e.startHub(t, func(o *Options) { o.HeartbeatInterval = 300 * time.Millisecond })
	agent := dialAgent(t, hub.addr, e.clientTLS, e.token(t, tn, nil))
	helloSent := time.Now() // The Hub hears Hello after this: its silence is measured from later.
	agent.hello("prod")
	err := agent.ended(10 * time.Second)
	silentFor := time.Since(helloSent)
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "heartbeat") {
		t.Errorf("the stream ended with %v, want Unavailable naming heartbeats", err)
	}
	// Dropped at the first tick after three silent intervals: between 0.9 s and 1.2 s, plus slack.
	if silentFor < 900*time.Millisecond || silentFor > 2*time.Second {
		t.Errorf("dropped after %s, want 3 to 4 intervals of 300ms", silentFor)
	}
	if agent.heartbeats.Load() < 2 {
		t.Errorf("the hub sent %d heartbeats, want at least 2", agent.heartbeats.Load())
	}
	eventually(t, 10*time.Second, func() error {
		a, err := e.getAgent(tn, "prod")
		if err != nil {
			return err
		}
		ready := apimeta.FindStatusCondition(a.Status.Conditions, meta.ReadyCondition)
		if a.Status.Connected || ready == nil || ready.Reason != deployv1alpha1.ReasonDisconnected || !strings.Contains(ready.Message, "heartbeat") {
			return fmt.Errorf("status = %+v", a.Status)
		}
		return nil
	})
	if got := testutil.ToFloat64(hub.metrics.disconnects.WithLabelValues("heartbeat_timeout")); got != 1 {
		t.Errorf("disconnects{heartbeat_timeout} = %v", got)
	}
}

func TestServeDrainsOnShutdown(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	tn := e.newTenant(t)
	hub := e.startHub(t, func(o *Options) { o.MaxReconnectDelay = 2 * time.Second })

	// The health service answers without a token.
	conn, err := grpc.NewClient(hub.addr, grpc.WithTransportCredentials(credentials.NewTLS(e.clientTLS)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, service := range []string{"", tunnelv1.Tunnel_ServiceDesc.ServiceName} {
		resp, err := healthgrpc.NewHealthClient(conn).Check(context.Background(), &healthgrpc.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != healthgrpc.HealthCheckResponse_SERVING {
			t.Fatalf("health of %q = %v, %v; want SERVING", service, resp, err)
		}
	}

	agents := make([]*testAgent, 3)
	for i := range agents {
		agents[i] = dialAgent(t, hub.addr, e.clientTLS, e.token(t, tn, nil))
		agents[i].hello(fmt.Sprintf("agent-%d", i))
		agents[i].startHeartbeats(200 * time.Millisecond)
	}
	eventually(t, 10*time.Second, func() error {
		var list deployv1alpha1.AgentList
		if err := e.client.List(context.Background(), &list, client.InNamespace(tn.namespace)); err != nil {
			return err
		}
		for _, a := range list.Items {
			if !a.Status.Connected {
				return fmt.Errorf("agent %s not connected", a.Name)
			}
		}
		if len(list.Items) != len(agents) {
			return fmt.Errorf("%d agents registered", len(list.Items))
		}
		return nil
	})

	stopped := make(chan error, 1)
	go func() { stopped <- hub.stop() }()
	for i, agent := range agents {
		drain := agent.nextOrEnd(10 * time.Second).GetDrain()
		if drain == nil || !strings.Contains(drain.GetReason(), "shutting down") || drain.GetReconnectAfterMs() >= 2000 {
			t.Errorf("agent %d got %v, want Drain", i, drain)
		}
		if err := agent.ended(10 * time.Second); err != nil {
			t.Errorf("agent %d's stream ended with %v, want OK", i, err)
		}
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
	}
	// The ended tunnels were written before Serve returned.
	var list deployv1alpha1.AgentList
	if err := e.client.List(context.Background(), &list, client.InNamespace(tn.namespace)); err != nil {
		t.Fatal(err)
	}
	for _, a := range list.Items {
		if a.Status.Connected || readyCondition(&a) != "False/Disconnected" {
			t.Errorf("agent %s after shutdown: %+v", a.Name, a.Status)
		}
	}
	if hub.Ready() == nil {
		t.Error("the hub is still ready after Serve returned")
	}
}
