package rna

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/encoding/protojson"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// These tests exercise the tunnel's life: requests, inventory, reconnects, drains, dead streams
// and readiness.

func TestInventory(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	ctx := context.Background()
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "inventory-demo", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "inventory-demo"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "inventory-demo"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "app", Image: "ghcr.io/aurora-cd/potato-facts:v1"}, {Name: "sidecar", Image: "envoy:v1.30"},
				}},
			},
		},
	}
	if err := env.cluster.Client.Create(ctx, deployment); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.cluster.Client.Delete(ctx, deployment) })

	agent, registry := env.newAgent(t, env.hub.addr, func(o *Options) { o.InventoryInterval = 300 * time.Millisecond })
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)

	id := hs.mustSend(t, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Request{Request: &tunnelv1.Request{RequestId: "r-1", Kind: RequestKindInventory}}})
	resp := hs.waitFor(t, waitLong, "inventory response", func(e *tunnelv1.Envelope) bool {
		return e.GetResponse().GetRequestId() == "r-1"
	}).GetResponse()
	if !resp.GetOk() {
		t.Fatalf("inventory request (envelope %d) failed: %s", id, resp.GetError())
	}
	var inv tunnelv1.Inventory
	if err := protojson.Unmarshal(resp.GetBody(), &inv); err != nil {
		t.Fatalf("decoding the inventory: %v", err)
	}
	if !slices.Contains(inv.GetNamespaces(), "default") || !slices.Contains(inv.GetNamespaces(), "kube-system") {
		t.Errorf("namespaces = %v", inv.GetNamespaces())
	}
	i := slices.IndexFunc(inv.GetWorkloads(), func(w *tunnelv1.Workload) bool { return w.GetName() == "inventory-demo" })
	if i < 0 {
		t.Fatalf("the deployment is not in the inventory: %v", inv.GetWorkloads())
	}
	w := inv.GetWorkloads()[i]
	if w.GetKind() != "Deployment" || w.GetNamespace() != "default" || w.GetReplicas() != 3 || w.GetReady() ||
		!slices.Equal(w.GetImages(), []string{"ghcr.io/aurora-cd/potato-facts:v1", "envoy:v1.30"}) {
		t.Errorf("workload = %v", w)
	}

	hs.mustSend(t, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Request{Request: &tunnelv1.Request{RequestId: "r-2", Kind: "secrets"}}})
	unknown := hs.waitFor(t, waitLong, "response to an unknown kind", func(e *tunnelv1.Envelope) bool {
		return e.GetResponse().GetRequestId() == "r-2"
	}).GetResponse()
	if unknown.GetOk() || !strings.Contains(unknown.GetError(), "unknown request kind") {
		t.Errorf("unknown kind answered ok=%v error=%q", unknown.GetOk(), unknown.GetError())
	}

	// Inventory is also sent on its own, at once and then every InventoryInterval.
	eventually(t, waitLong, "three inventories", func() error {
		if n := hs.count(func(e *tunnelv1.Envelope) bool { return e.GetInventory() != nil }); n < 3 {
			return errorf("%d inventories so far", n)
		}
		return nil
	})
	if ok, failed := counterValue(t, registry, metricRequests, "kind", "inventory", "result", "ok"),
		counterValue(t, registry, metricRequests, "kind", "unknown", "result", "failed"); ok != 1 || failed != 1 {
		t.Errorf("requests metric: inventory ok %v, unknown failed %v", ok, failed)
	}
}

func TestReconnectsWithBackoffWhenHubClosesStream(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	agent, registry := env.newAgent(t, env.hub.addr, func(o *Options) {
		o.InitialBackoff, o.MaxBackoff, o.BackoffResetAfter = 100*time.Millisecond, 400*time.Millisecond, time.Hour
		o.Random = func() float64 { return 0.999 } // the delays sit at their caps
	})
	run(t, agent)

	var closedAt time.Time
	caps := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond}
	for i := 0; i <= len(caps); i++ {
		hs := env.hub.nextStream(t, waitLong)
		if i > 0 {
			gap := hs.openedAt.Sub(closedAt)
			t.Logf("reconnect %d after %s (backoff cap %s)", i, gap.Round(time.Millisecond), caps[i-1])
			if gap < caps[i-1]*9/10 || gap > caps[i-1]+time.Second {
				t.Errorf("reconnect %d came %s after the close, want about %s", i, gap, caps[i-1])
			}
		}
		hs.close()
		<-hs.done
		closedAt = time.Now()
	}
	if n := counterValue(t, registry, metricReconnects, "reason", "closed"); n < float64(len(caps)) {
		t.Errorf("reconnects{reason=closed} = %v, want at least %d", n, len(caps))
	}
}

func TestDrainReconnectsAfterDelay(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	agent, registry := env.newAgent(t, env.hub.addr, func(o *Options) { o.Random = func() float64 { return 0.5 } })
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)

	drainedAt := time.Now()
	hs.mustSend(t, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Drain{Drain: &tunnelv1.Drain{Reason: "hub shutting down", ReconnectAfterMs: 700}}})
	eventually(t, waitLong, "the agent to leave the drained stream", func() error {
		if agent.Connected() {
			return errorf("still connected")
		}
		return nil
	})
	hs.close()
	next := env.hub.nextStream(t, waitLong)
	gap := next.openedAt.Sub(drainedAt)
	t.Logf("reconnected %s after the drain", gap.Round(time.Millisecond))
	const want = 700*time.Millisecond + 175*time.Millisecond // reconnect_after plus half of it at jitter 0.5
	if gap < want || gap > want+time.Second {
		t.Errorf("reconnected %s after the drain, want about %s", gap, want)
	}
	if n := counterValue(t, registry, metricReconnects, "reason", "drained"); n != 1 {
		t.Errorf("reconnects{reason=drained} = %v, want 1", n)
	}
}

func TestBlackholedConnectionIsDetected(t *testing.T) {
	const heartbeat = 200 * time.Millisecond
	env := newTestEnv(t, heartbeat)
	proxy := startBlackholeProxy(t, env.hub.addr)
	agent, registry := env.newAgent(t, proxy.addr, func(o *Options) { o.DialTimeout = 500 * time.Millisecond })
	run(t, agent)
	first := env.hub.nextStream(t, waitLong)
	eventually(t, waitLong, "connected", func() error { return agent.TunnelConnected(nil) })
	time.Sleep(2 * heartbeat) // a few heartbeats each way

	proxy.blackholed.Store(true)
	blackholedAt := time.Now()
	eventually(t, waitLong, "the dead stream to be dropped", func() error {
		if agent.Connected() {
			return errorf("still connected")
		}
		return nil
	})
	detectedAfter := time.Since(blackholedAt)
	t.Logf("dead stream detected %s after the blackhole (heartbeat %s)", detectedAfter.Round(time.Millisecond), heartbeat)
	if detectedAfter > 3*heartbeat+250*time.Millisecond {
		t.Errorf("detected after %s, want within three heartbeat intervals (%s)", detectedAfter, 3*heartbeat)
	}
	if n := counterValue(t, registry, metricDeadStreams); n != 1 {
		t.Errorf("dead streams = %v, want 1", n)
	}
	select {
	case <-first.done:
		t.Errorf("the hub saw the blackholed stream end: the test's blackhole leaked a close")
	default:
	}

	time.Sleep(time.Second) // attempts through the blackhole time out meanwhile
	proxy.blackholed.Store(false)
	healedAt := time.Now()
	second := env.hub.nextStream(t, waitLong)
	t.Logf("new stream through the healed proxy %s after healing", second.openedAt.Sub(healedAt).Round(time.Millisecond))
	eventually(t, waitLong, "connected again", func() error { return agent.TunnelConnected(nil) })
	if n := counterValue(t, registry, metricReconnects, "reason", "silent"); n != 1 {
		t.Errorf("reconnects{reason=silent} = %v, want 1", n)
	}
	if n := counterValue(t, registry, metricReconnects, "reason", "handshake-timeout"); n < 1 {
		t.Errorf("reconnects{reason=handshake-timeout} = %v, want attempts that timed out in the blackhole", n)
	}
}

func TestReadyzFollowsTunnel(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	agent, registry := env.newAgent(t, env.hub.addr)
	handler := &healthz.Handler{Checks: map[string]healthz.Checker{"tunnel": agent.TunnelConnected}}
	readyz := func() int {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Code
	}
	wantReadyz := func(what string, code int) {
		t.Helper()
		eventually(t, waitLong, what, func() error {
			if got := readyz(); got != code {
				return errorf("readyz answered %d, want %d", got, code)
			}
			return nil
		})
	}

	if got := readyz(); got != http.StatusInternalServerError {
		t.Errorf("readyz before Run = %d, want 500", got)
	}
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)
	wantReadyz("ready once connected", http.StatusOK)
	if v := counterValue(t, registry, metricTunnelConnected); v != 1 {
		t.Errorf("connected gauge = %v, want 1", v)
	}

	env.hub.refuse.Store(true)
	hs.close()
	wantReadyz("not ready while disconnected", http.StatusInternalServerError)
	if v := counterValue(t, registry, metricTunnelConnected); v != 0 {
		t.Errorf("connected gauge = %v, want 0", v)
	}
	time.Sleep(300 * time.Millisecond)
	if got := readyz(); got != http.StatusInternalServerError {
		t.Errorf("readyz while the hub refuses = %d, want 500", got)
	}
	if n := counterValue(t, registry, metricReconnects, "reason", "unavailable"); n < 1 {
		t.Errorf("reconnects{reason=unavailable} = %v, want refused attempts", n)
	}

	env.hub.refuse.Store(false)
	env.hub.nextStream(t, waitLong)
	wantReadyz("ready once reconnected", http.StatusOK)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestNoSecretOrTokenIsLogged(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	var logs syncBuffer
	logger := zap.New(zap.UseDevMode(true), zap.WriteTo(&logs), zap.Level(zapcore.DebugLevel))
	agent, _ := env.newAgent(t, env.hub.addr, func(o *Options) { o.Log = logger })
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)
	expectAck(t, hs, applyEnvelope(t, "uid-log", 1, cloudRollout("logged", "", 10)), true)
	hs.close()
	env.hub.nextStream(t, waitLong)

	// An agent with a wrong secret keeps failing to authenticate, and says so without the secret.
	badAgent, registry := env.newAgent(t, env.hub.addr, func(o *Options) {
		o.Log = logger
		source, err := ClientCredentialsTokenSource(context.Background(), ClientCredentials{
			ClientID: testClientID, ClientSecret: "wrong-" + testClientSecret, TokenURL: env.tokens.url, TLS: env.pki.clientTLS(),
		})
		if err != nil {
			t.Fatal(err)
		}
		o.TokenSource = source
	})
	run(t, badAgent)
	eventually(t, waitLong, "refused attempts", func() error {
		if n := counterValue(t, registry, metricReconnects, "reason", "unauthenticated"); n < 2 {
			return errorf("%v unauthenticated attempts", n)
		}
		return nil
	})

	text := logs.String()
	if !strings.Contains(text, "invalid_client") || !strings.Contains(text, "Connected to the hub") {
		t.Errorf("the logs lack the expected lines:\n%s", text)
	}
	if strings.Contains(text, testClientSecret) {
		t.Errorf("the client secret was logged")
	}
	env.tokens.mu.Lock()
	defer env.tokens.mu.Unlock()
	for token := range env.tokens.issued {
		if strings.Contains(text, token) {
			t.Errorf("token %s was logged", token)
		}
	}
}
