// Package fault_test injects faults into a running Aurora while canaries run: two Hub replicas
// and the Remote Network Agent are child processes of the built aurora binary and are killed with
// SIGKILL, the agent dials through a proxy (internal/faultproxy) that plays the Hub's Service, so
// the tunnel can be blackholed for longer than the heartbeat budget and the agent moved between
// replicas, the cloud API server is restarted, and an agent floods a replica with status updates.
// For each fault the deployment finishes or rolls back as its spec says, the cloud status
// converges, every Rollout change is applied in the target exactly once, and no process leaks file
// descriptors or goroutines after recovery.
package fault_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/judgment"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/controllers/tenant"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/faultproxy"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

const (
	// agentID is the target's agent identifier.
	agentID = "staging"
	// heartbeat is the tunnels' heartbeat interval: a silent side is dropped after three.
	heartbeat = 2 * time.Second
)

var (
	workDir      string
	auroraBinary string

	cloud, target *testcluster.Cluster
	cloudClient   client.Client
	tenantNS      string

	issuer, caFile string
	clientTLS      *http.Client

	// hubAddr is the tunnel address of the Hub replica hub-0.
	hubAddr string
	proxy   *faultproxy.Proxy
	// hubProc and hub1Proc are the Hub replicas hub-0 and hub-1, coordinating through Leases.
	hubProc, hub1Proc *component
	rnaProc           *component
	audit             *applyAudit
	agent             agentCredential
)

// agentCredential is the agent's machine credential.
type agentCredential struct{ id, secret string }

func TestFault(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Fault-injection suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	workDir = GinkgoT().TempDir()
	auroraBinary = filepath.Join(workDir, "aurora")
	By("building the aurora binary")
	build := exec.CommandContext(ctx, "go", "build", "-o", auroraBinary, "./cmd/aurora")
	build.Dir = filepath.Join("..", "..")
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build: %s", out)

	By("starting the cloud cluster and a full target cluster")
	crds := []string{filepath.Join("..", "..", "config", "crd", "bases")}
	cloud, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "cloud", Scheme: scheme.New(), CRDDirectoryPaths: crds})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cloud.Stop)
	target, err = testcluster.StartFull(ctx, testcluster.Options{Name: agentID, Scheme: scheme.New(), CRDDirectoryPaths: crds, Nodes: 3})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(target.Stop)
	cloudClient = cloud.Client

	By("running the controllers and the tenant")
	mgr, err := ctrl.NewManager(cloud.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect((&tenant.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&deployment.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("aurora-deployment-controller")}).SetupWithManager(mgr)).To(Succeed())
	Expect((&judgment.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("aurora-judgment-controller")}).SetupWithManager(mgr)).To(Succeed())
	runInBackground(mgr.Start)
	Expect(cloudClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-system"}})).To(Succeed())
	tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme-prod"}, Spec: iamv1alpha1.TenantSpec{Organization: "acme", Environment: "prod"}}
	Expect(cloudClient.Create(ctx, tn)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
	}).WithContext(ctx).Should(Succeed())
	tenantNS = tn.Status.Namespace

	By("serving the auth service over TLS")
	ca, err := tlsutil.NewCA("aurora fault test CA", time.Hour)
	Expect(err).NotTo(HaveOccurred())
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	serverTLS, err := tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	tlsConfig, err := tlsutil.ClientConfig(ca.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	clientTLS = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	caFile = writeFile("ca.crt", ca.CertPEM)
	certFile, keyFile := writeFile("tls.crt", certPEM), writeFile("tls.key", keyPEM)
	masterKey, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	authListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	issuer = "https://" + authListener.Addr().String()
	authServer, err := auth.NewServer(ctx, auth.ServerConfig{Kubernetes: cloud.Config, Issuer: issuer, KeysNamespace: "aurora-system",
		KeysSecret: "aurora-auth-signing-keys", MasterKey: masterKey, TLS: serverTLS})
	Expect(err).NotTo(HaveOccurred())
	runInBackground(func(ctx context.Context) error { return authServer.Serve(ctx, authListener) })
	Eventually(func() error {
		resp, err := clientTLS.Get(issuer + "/.well-known/openid-configuration")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}).WithContext(ctx).Should(Succeed())
	agent = newAgentCredential(ctx, agentID+"-agent", agentID)

	By("running two Hub replicas and the agent as processes, the agent dialling through a fault proxy")
	hubAddr = freeAddress()
	hub1Addr := freeAddress()
	// The proxy plays the Hub's Service: new connections go to the first replica that accepts.
	proxy, err = faultproxy.New(hubAddr, hub1Addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(proxy.Close)
	hubProc = newHubReplica("hub-0", hubAddr, certFile, keyFile)
	hub1Proc = newHubReplica("hub-1", hub1Addr, certFile, keyFile)
	secretFile := writeFile("client-secret", []byte(agent.secret))
	rnaProc = newComponent("rna", freeAddress(), "rna", "--kubeconfig", target.KubeconfigPath, "--hub-address", proxy.Addr(),
		"--hub-ca-file", caFile, "--agent-identifier", agentID, "--client-id", agent.id, "--client-secret-file", secretFile,
		"--token-url", issuer+"/oauth/token", "--initial-backoff", "200ms", "--max-backoff", "2s", "--dial-timeout", "5s",
		"--health-probe-bind-address", "0", "--zap-log-level", "info")
	rnaProc.args = append(rnaProc.args, "--metrics-bind-address", rnaProc.metricsAddr)
	for _, c := range []*component{hubProc, hub1Proc, rnaProc} {
		c.start()
		DeferCleanup(c.stop)
	}
	expectAgentConnected(ctx)
	audit = startApplyAudit(ctx)
}, NodeTimeout(15*time.Minute))

// replicaLeaseDuration is how long a replica's Lease stays valid unrenewed: long enough to ride out
// the restart of the cloud API server without the replicas giving up their agents.
const replicaLeaseDuration = 10 * time.Second

// newHubReplica describes the Hub replica name serving agents' tunnels at addr and coordinating with
// the other replicas through Leases in aurora-system.
func newHubReplica(name, addr, certFile, keyFile string) *component {
	c := newComponent(name, freeAddress(), "hub", "--kubeconfig", cloud.KubeconfigPath, "--listen-address", addr,
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--issuer", issuer, "--issuer-ca-file", caFile, "--replica", name,
		"--lease-namespace", "aurora-system", "--lease-duration", replicaLeaseDuration.String(),
		"--heartbeat-interval", heartbeat.String(), "--status-write-interval", "1s", "--health-probe-bind-address", "0",
		"--zap-log-level", "info")
	c.args = append(c.args, "--metrics-bind-address", c.metricsAddr, "--metrics-secure=false")
	c.tunnelAddr = addr
	return c
}

// runInBackground runs f until the suite ends.
func runInBackground(f func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(f(ctx)).To(Succeed())
	}()
	DeferCleanup(func() { cancel(); <-done })
}

// writeFile writes data into the work directory and returns its path.
func writeFile(name string, data []byte) string {
	GinkgoHelper()
	path := filepath.Join(workDir, name)
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	return path
}

// freeAddress returns a free 127.0.0.1 address.
func freeAddress() string {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

// newAgentCredential creates a MachineCredential of the tenant for agents and returns its id and
// secret once its hash is stored.
func newAgentCredential(ctx context.Context, name string, agents ...string) agentCredential {
	GinkgoHelper()
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tenantNS},
		Spec: iamv1alpha1.MachineCredentialSpec{Scopes: []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}, AgentIdentifiers: agents}}
	Expect(cloudClient.Create(ctx, mc)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
		g.Expect(mc.Status.SecretHashes).NotTo(BeEmpty())
	}).WithContext(ctx).Should(Succeed())
	s := &corev1.Secret{}
	Expect(cloudClient.Get(ctx, types.NamespacedName{Namespace: tenantNS, Name: machinecredential.SecretName(name)}, s)).To(Succeed())
	return agentCredential{id: string(s.Data[machinecredential.ClientIDKey]), secret: string(s.Data[machinecredential.ClientSecretKey])}
}

// expectAgentConnected waits until the cloud shows the agent connected, and returns the Hub
// replica holding its tunnel.
func expectAgentConnected(ctx context.Context) *component {
	GinkgoHelper()
	return expectAgentConnectedTo(ctx, hubProc, hub1Proc)
}

// expectAgentConnectedTo waits until the cloud shows the agent connected to one of the replicas,
// and returns that replica.
func expectAgentConnectedTo(ctx context.Context, replicas ...*component) *component {
	GinkgoHelper()
	var holder *component
	Eventually(func(g Gomega) {
		a := &deployv1alpha1.Agent{}
		g.Expect(cloudClient.Get(ctx, types.NamespacedName{Namespace: tenantNS, Name: agentID}, a)).To(Succeed())
		g.Expect(a.Status.Connected).To(BeTrue())
		holder = nil
		for _, r := range replicas {
			if r.name == a.Status.HubReplica {
				holder = r
			}
		}
		g.Expect(holder).NotTo(BeNil(), "the agent is connected to %q", a.Status.HubReplica)
	}).WithContext(ctx).WithTimeout(60*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), "the agent connects")
	return holder
}

// tail returns the last n bytes of data.
func tail(data []byte, n int) string {
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// inProcessGoroutines is the test process's goroutine count after a GC, for the leak checks of the
// in-process parts (controllers, auth service, proxy, watches).
func inProcessGoroutines() int {
	runtime.GC()
	return runtime.NumGoroutine()
}

// describe is a Deployment's status for failure messages.
func describe(d *deployv1alpha1.Deployment) string {
	return fmt.Sprintf("state %s, targets %+v", d.Status.State, d.Status.Targets)
}
