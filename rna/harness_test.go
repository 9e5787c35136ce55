package rna

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// The target cluster is started once, on first use, and shared by the tests of the package, which
// run one after the other and each remove the mirrored Rollouts they leave.
var (
	clusterOnce sync.Once
	cluster     *testcluster.Cluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the target cluster: %v\n", err)
		}
	}
	os.Exit(code)
}

// startedTargetCluster returns the shared target cluster with the Rollout CRD, starting it if needed.
func startedTargetCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	clusterOnce.Do(func() {
		start := time.Now()
		cluster, clusterErr = testcluster.StartAPI(context.Background(), testcluster.Options{
			Name: "rna-target", Scheme: scheme.New(), CRDDirectoryPaths: []string{"../config/crd/bases"},
		})
		if clusterErr == nil {
			fmt.Fprintf(os.Stderr, "target cluster started in %s\n", time.Since(start).Round(time.Millisecond))
		}
	})
	if clusterErr != nil {
		t.Fatalf("starting the target cluster: %v", clusterErr)
	}
	t.Cleanup(func() { removeMirroredRollouts(t, cluster.Client) })
	return cluster
}

// removeMirroredRollouts deletes every Rollout of the target cluster.
func removeMirroredRollouts(t *testing.T, c client.Client) {
	ctx := context.Background()
	var list rolloutv1alpha1.RolloutList
	if err := c.List(ctx, &list); err != nil {
		t.Errorf("cleaning up rollouts: %v", err)
		return
	}
	for i := range list.Items {
		if err := c.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cleaning up rollout %s/%s: %v", list.Items[i].Namespace, list.Items[i].Name, err)
		}
	}
}

// testPKI is a CA with a serving certificate for 127.0.0.1, for the hub and the token endpoint.
type testPKI struct {
	ca                *tlsutil.CA
	certPEM, keyPEM   []byte
	clientTLSTemplate *tls.Config
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := tlsutil.NewCA("rna-test-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := tlsutil.ClientConfig(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, certPEM: certPEM, keyPEM: keyPEM, clientTLSTemplate: clientTLS}
}

func (p *testPKI) serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	c, err := tlsutil.ServerConfig(p.certPEM, p.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *testPKI) clientTLS() *tls.Config { return p.clientTLSTemplate.Clone() }

// testTokenServer is a client-credentials token endpoint over TLS that issues opaque tokens.
type testTokenServer struct {
	url      string
	mu       sync.Mutex
	issued   map[string]bool
	requests atomic.Int64
}

const (
	testClientID     = "rna-staging"
	testClientSecret = "s3cr3t-never-logged"
)

func startTestTokenServer(t *testing.T, pki *testPKI) *testTokenServer {
	t.Helper()
	ts := &testTokenServer{issued: map[string]bool{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/oauth/token" || r.ParseForm() != nil {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != testClientID || secret != testClientSecret {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("audience") != DefaultAudience ||
			!slices.Contains(strings.Fields(r.PostForm.Get("scope")), AgentHubScope) {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		token := "token-" + strconv.FormatInt(ts.requests.Load(), 10)
		ts.mu.Lock()
		ts.issued[token] = true
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600})
	}))
	srv.TLS = pki.serverTLS(t)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ts.url = srv.URL + "/oauth/token"
	return ts
}

func (ts *testTokenServer) valid(token string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.issued[token]
}

// blackholeProxy forwards TCP connections to a target until blackholed: then every connection,
// open or new, swallows whatever arrives and forwards nothing, and closes nothing, like a network
// path that silently dropped. Healing lets new connections through again.
type blackholeProxy struct {
	addr       string
	target     string
	blackholed atomic.Bool
	listener   net.Listener
	// closed is closed when the test ends; parked counts the connections held open until then.
	closed chan struct{}
	parked atomic.Int64
}

func startBlackholeProxy(t *testing.T, target string) *blackholeProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackholeProxy{addr: l.Addr().String(), target: target, listener: l, closed: make(chan struct{})}
	t.Cleanup(func() { _ = l.Close(); close(p.closed) })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(conn)
		}
	}()
	return p
}

func (p *blackholeProxy) serve(conn net.Conn) {
	defer conn.Close()
	if p.blackholed.Load() {
		_, _ = io.Copy(io.Discard, conn)
		return
	}
	upstream, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer upstream.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(upstream, conn); done <- struct{}{} }()
	go func() { p.pipe(conn, upstream); done <- struct{}{} }()
	<-done
	if p.blackholed.Load() {
		// A blackhole delivers no close either: the far side learns nothing until the test ends.
		p.parked.Add(1)
		<-p.closed
	}
}

// pipe copies from src to dst until src ends, dropping everything once the proxy is blackholed.
func (p *blackholeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.blackholed.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// testEnv is everything an agent test needs: the target cluster, a hub and a token endpoint.
type testEnv struct {
	cluster *testcluster.Cluster
	pki     *testPKI
	tokens  *testTokenServer
	hub     *testHub
}

func newTestEnv(t *testing.T, heartbeat time.Duration) *testEnv {
	t.Helper()
	env := &testEnv{cluster: startedTargetCluster(t), pki: newTestPKI(t)}
	env.tokens = startTestTokenServer(t, env.pki)
	env.hub = startTestHub(t, env.pki, heartbeat, env.tokens.valid)
	return env
}

// newAgent returns an agent of env with test timings, its own metrics registry, and mods applied.
func (env *testEnv) newAgent(t *testing.T, hubAddress string, mods ...func(*Options)) (*Agent, *prometheus.Registry) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	source, err := ClientCredentialsTokenSource(ctx, ClientCredentials{
		ClientID: testClientID, ClientSecret: testClientSecret, TokenURL: env.tokens.url, TLS: env.pki.clientTLS(),
	})
	if err != nil {
		t.Fatal(err)
	}
	registry := prometheus.NewRegistry()
	opts := Options{
		HubAddress: hubAddress, TLS: env.pki.clientTLS(), TokenSource: source,
		AgentIdentifier: "staging", AgentVersion: "v0.0.0-test", Target: env.cluster.Config,
		InitialBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		DialTimeout: 2 * time.Second, SendTimeout: 2 * time.Second, InventoryInterval: time.Hour,
		TargetTimeout: 10 * time.Second,
		Log:           zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)).WithName(t.Name()),
		Registerer:    registry,
	}
	for _, mod := range mods {
		mod(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, registry
}

// run runs the agent until the test ends, and checks that it stops cleanly.
func run(t *testing.T, a *Agent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the agent ended with an error: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("the agent did not stop within 15s")
		}
	})
}

// counterValue reads a counter (with labels) from a registry; 0 when absent.
func counterValue(t *testing.T, registry *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// eventually polls check until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cloudRollout is a Rollout as the cloud cluster holds it: with a uid, a generation, an owner and
// a status, all of which the agent must not carry over.
func cloudRollout(name, targetNamespace string, weight int32) *rolloutv1alpha1.Rollout {
	controller := true
	return &rolloutv1alpha1.Rollout{
		TypeMeta: metav1.TypeMeta{APIVersion: rolloutv1alpha1.GroupVersion.String(), Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "tenant-acme", UID: "cloud-object-uid", ResourceVersion: "12345", Generation: 7,
			Labels:      map[string]string{rolloutv1alpha1.DeploymentLabel: "potato-facts", rolloutv1alpha1.TargetLabel: "staging"},
			Annotations: map[string]string{"example.aurora.dev/note": "kept"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "deploy.aurora.dev/v1alpha1", Kind: "Deployment",
				Name: "potato-facts", UID: "deployment-uid", Controller: &controller}},
			Finalizers: []string{"deploy.aurora.dev/cleanup"},
		},
		Spec: rolloutv1alpha1.RolloutSpec{
			DeploymentName: "potato-facts", Application: "potato-facts", Target: "staging", Account: "staging",
			Namespace: targetNamespace,
			Manifests: []string{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: potato-facts\n"},
			Strategy: deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
				{SetWeight: &deployv1alpha1.SetWeightStep{Weight: weight}},
			}}},
		},
		Status: rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseSucceeded, Message: "cloud status, not to be applied"},
	}
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errorf is fmt.Errorf, for the checks of eventually.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
