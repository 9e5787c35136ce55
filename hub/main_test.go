package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// TestMain runs the tests, or, when the benchmark re-executes the test binary, a fleet of simulated
// agents; and stops the shared test environment at the end.
func TestMain(m *testing.M) {
	if os.Getenv(fleetEnv) != "" {
		os.Exit(runFleet())
	}
	if os.Getenv("AURORA_HUB_TEST_LOGS") == "true" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	}
	code := m.Run()
	stopBench()
	stopEnv()
	os.Exit(code)
}

// env is what the integration tests share: a real API server (the cloud cluster), a token issuer
// and TLS material for the Hub.
type env struct {
	cluster   *testcluster.Cluster
	client    client.Client
	issuer    *testIssuer
	verifier  *verify.Verifier
	ca        *tlsutil.CA
	serverTLS *tls.Config
	clientTLS *tls.Config
}

var (
	envOnce   sync.Once
	sharedEnv *env
	envErr    error
	tenants   atomic.Int64
)

// testEnv returns the shared environment, starting it on first use.
func testEnv(t testing.TB) *env {
	t.Helper()
	envOnce.Do(func() { sharedEnv, envErr = startEnv() })
	if envErr != nil {
		t.Fatalf("starting the test environment: %v", envErr)
	}
	return sharedEnv
}

// startEnv starts the API server, the issuer and a verifier of its tokens.
func startEnv() (_ *env, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	e := &env{}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	e.cluster, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "hub", Scheme: scheme.New(),
		CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")}})
	if err != nil {
		return nil, fmt.Errorf("starting the cloud cluster: %w", err)
	}
	e.client = e.cluster.Client
	if e.issuer, err = newTestIssuer(); err != nil {
		return nil, err
	}
	e.verifier, err = verify.NewVerifier(ctx, verify.Options{IssuerURL: e.issuer.URL(), Audience: testAudience,
		HTTPClient: e.issuer.server.Client()})
	if err != nil {
		return nil, fmt.Errorf("creating the verifier: %w", err)
	}
	if e.ca, err = tlsutil.NewCA("aurora hub test CA", 24*time.Hour); err != nil {
		return nil, fmt.Errorf("creating the CA: %w", err)
	}
	certPEM, keyPEM, err := e.ca.IssueServing([]string{"127.0.0.1", "localhost"}, 24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("issuing the serving certificate: %w", err)
	}
	if e.serverTLS, err = tlsutil.ServerConfig(certPEM, keyPEM); err != nil {
		return nil, err
	}
	if e.clientTLS, err = tlsutil.ClientConfig(e.ca.CertPEM); err != nil {
		return nil, err
	}
	return e, nil
}

// stop stops what startEnv started.
func (e *env) stop() {
	if e.issuer != nil {
		e.issuer.Close()
	}
	if e.cluster != nil {
		_ = e.cluster.Stop()
	}
}

// stopEnv stops the shared environment, if it was started.
func stopEnv() {
	if sharedEnv != nil {
		sharedEnv.stop()
	}
}

// tenant is one test's tenant: its organization, environment and namespace in the cloud cluster.
type tenant struct {
	organization, environment, namespace string
}

// newTenant creates a fresh tenant namespace, so that tests do not see each other's objects.
func (e *env) newTenant(t testing.TB) tenant {
	t.Helper()
	tn := tenant{organization: fmt.Sprintf("org%d", tenants.Add(1)), environment: "prod"}
	tn.namespace = iamv1alpha1.NamespaceName(tn.organization, tn.environment)
	if err := e.client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tn.namespace}}); err != nil {
		t.Fatalf("creating namespace %s: %v", tn.namespace, err)
	}
	return tn
}

// token signs a token of the tenant with scope api:agentHub:full (or the given scopes), allowed to
// act as the given agents (any agent when none).
func (e *env) token(t testing.TB, tn tenant, agents []string, scopes ...iamv1alpha1.Scope) string {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}
	}
	token, err := e.issuer.sign(tokenRequest{organization: tn.organization, environment: tn.environment, scopes: scopes, agents: agents})
	if err != nil {
		t.Fatalf("signing a token: %v", err)
	}
	return token
}

// testHub is a Hub serving on 127.0.0.1 for one test.
type testHub struct {
	*Server
	addr     string
	registry *prometheus.Registry
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan error
	err      error
}

// startHub starts a Hub with test settings (a 500 ms heartbeat, short grace and timeouts) changed
// by mutate, and stops it when the test ends.
func (e *env) startHub(t testing.TB, mutate ...func(*Options)) *testHub {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := Options{
		Cloud: e.cluster.Config, Verifier: e.verifier, TLS: e.serverTLS.Clone(), Replica: "hub-test",
		HeartbeatInterval: 500 * time.Millisecond, StatusWriteInterval: time.Second, DisconnectGrace: 50 * time.Millisecond,
		DrainTimeout: 5 * time.Second, Registerer: reg,
	}
	for _, m := range mutate {
		m(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &testHub{Server: srv, addr: l.Addr().String(), registry: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	deadline := time.Now().Add(time.Minute)
	for srv.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the hub did not become ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h
}

// stop ends Serve and returns its error.
func (h *testHub) stop() error {
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case h.err = <-h.done:
		case <-time.After(time.Minute):
			h.err = errors.New("Serve did not return within a minute")
		}
	})
	return h.err
}

// newRollout returns a valid Rollout of namespace labelled for agent.
func newRollout(namespace, name, agent string) *rolloutv1alpha1.Rollout {
	return &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
			Labels: map[string]string{deployv1alpha1.AgentLabel: agent, rolloutv1alpha1.TargetLabel: agent}},
		Spec: rolloutv1alpha1.RolloutSpec{
			DeploymentName: "deploy-1", Application: "web", Target: agent, Account: agent,
			Manifests: []string{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n"},
			Strategy: deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
				{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}}}}},
		},
	}
}
