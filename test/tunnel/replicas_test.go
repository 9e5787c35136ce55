package tunnel_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/hub"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/internal/tunnelhttp"
	"github.com/aurora-cd/aurora/rna"
)

// replicaLeaseDuration is short so that a dead replica's Leases expire within seconds.
const replicaLeaseDuration = 3 * time.Second

// previewKey signs the preview links of every test replica.
var previewKey = []byte("0123456789abcdef0123456789abcdef-preview-test-key")

// replica is one Hub replica of a test: its tunnel and HTTPS addresses.
type replica struct {
	srv       *hub.Server
	name      string
	grpcAddr  string
	httpsAddr string
	stop      func()
}

// startReplica runs a Hub replica that coordinates through Leases in aurora-system, identified to
// the others by a client certificate of the test CA.
func startReplica(ctx context.Context, name string) *replica {
	GinkgoHelper()
	certPEM, keyPEM, err := ca.IssueClient(hub.DefaultPeerIdentity, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	peerTLS, err := tlsutil.ClientConfigWithCert(ca.CertPEM, certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	peers := x509.NewCertPool()
	Expect(peers.AppendCertsFromPEM(ca.CertPEM)).To(BeTrue())
	grpcListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	httpsListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	r := &replica{name: name, grpcAddr: grpcListener.Addr().String(), httpsAddr: httpsListener.Addr().String()}
	r.srv, err = hub.New(hub.Options{Cloud: cloud.Config, Verifier: verifier, TLS: serverTLS, Replica: name,
		HeartbeatInterval: heartbeat, StatusWriteInterval: time.Second, DisconnectGrace: 100 * time.Millisecond,
		Registerer: prometheus.NewRegistry(), LeaseNamespace: "aurora-system", LeaseDuration: replicaLeaseDuration,
		AdvertiseAddress: r.httpsAddr, PeerTLS: peerTLS, PeerClientCAs: peers,
		PreviewKey: previewKey, PreviewBaseURL: "https://" + r.httpsAddr})
	Expect(err).NotTo(HaveOccurred())
	stopTunnels := startInBackground(func(ctx context.Context) error { return r.srv.Serve(ctx, grpcListener) })
	stopHTTPS := startInBackground(func(ctx context.Context) error { return r.srv.ServeHTTPS(ctx, httpsListener) })
	r.stop = func() { stopTunnels(); stopHTTPS() }
	Eventually(r.srv.Ready).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	return r
}

// holds reports whether the replica holds a tunnel of the agent.
func (r *replica) holds(agent string) bool {
	for _, a := range r.srv.ConnectedAgents() {
		if a.Namespace == tenantNamespace && a.Agent == agent {
			return true
		}
	}
	return false
}

// countedAgent is an RNA with its own metrics, to count what it applied.
type countedAgent struct {
	agent    *rna.Agent
	registry *prometheus.Registry
	stop     func()
}

// startCountedAgent runs an RNA of the agent for the target cluster cfg, dialling the given Hub
// addresses in turn.
func startCountedAgent(ctx context.Context, agent string, target *testcluster.Cluster, id, secret string, addresses ...string) *countedAgent {
	GinkgoHelper()
	src, err := rna.ClientCredentialsTokenSource(context.Background(), rna.ClientCredentials{ClientID: id, ClientSecret: secret,
		TokenURL: issuer + "/oauth/token", TLS: clientTLS})
	Expect(err).NotTo(HaveOccurred())
	reg := prometheus.NewRegistry()
	a, err := rna.New(rna.Options{HubAddress: addresses[0], HubAddresses: addresses[1:], TLS: clientTLS, TokenSource: src,
		AgentIdentifier: agent, AgentVersion: "test", Target: target.Config, InitialBackoff: 100 * time.Millisecond,
		MaxBackoff: time.Second, DialTimeout: 3 * time.Second, SendTimeout: 3 * time.Second, InventoryInterval: 2 * time.Second,
		Registerer: reg})
	Expect(err).NotTo(HaveOccurred())
	return &countedAgent{agent: a, registry: reg, stop: startInBackground(a.Run)}
}

// applied counts the Rollout generations the agent applied (not those it already held).
func (c *countedAgent) applied() int {
	GinkgoHelper()
	families, err := c.registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "aurora_rna_rollout_applies_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "applied" {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

// agentRollout is a cloud Rollout of the tenant for agent.
func agentRollout(agent, name string, weights ...int32) *rolloutv1alpha1.Rollout {
	ro := cloudRollout(name, "replicas", weights...)
	ro.Labels[deployv1alpha1.AgentLabel] = agent
	ro.Spec.Account, ro.Spec.Target = agent, agent
	return ro
}

// expectMirroredIn waits until c's cluster holds the cloud Rollout at its current generation.
func expectMirroredIn(ctx context.Context, c client.Client, ro *rolloutv1alpha1.Rollout) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		list := &rolloutv1alpha1.RolloutList{}
		g.Expect(c.List(ctx, list, client.HasLabels{rolloutv1alpha1.MirroredLabel})).To(Succeed())
		found := false
		for i := range list.Items {
			if list.Items[i].Annotations[rolloutv1alpha1.CloudUIDAnnotation] == string(ro.UID) {
				found = true
				g.Expect(list.Items[i].Annotations[rolloutv1alpha1.CloudGenerationAnnotation]).To(Equal(strconv.FormatInt(ro.Generation, 10)))
			}
		}
		g.Expect(found).To(BeTrue(), "not mirrored")
		g.Expect(ro.Status.AppliedGeneration).To(Equal(ro.Generation))
	}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
}

// expectHeldBy waits until the agent's Lease, its Agent status and the replicas agree that r holds
// its tunnel, and other does not.
func expectHeldBy(ctx context.Context, agent string, r, other *replica, within time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(r.holds(agent)).To(BeTrue(), "%s holds no tunnel of %s", r.name, agent)
		if other != nil {
			g.Expect(other.holds(agent)).To(BeFalse(), "%s still holds a tunnel of %s", other.name, agent)
		}
		lease := &coordinationv1.Lease{}
		g.Expect(cloudClient.Get(ctx, objectKey(tenantNamespace, "aurora-agent-"+agent), lease)).To(Succeed())
		g.Expect(lease.Spec.HolderIdentity).To(HaveValue(Equal(r.name)))
		status, err := agentStatus(ctx, agent)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status.connected).To(BeTrue())
		g.Expect(status.replica).To(Equal(r.name))
	}).WithContext(ctx).WithTimeout(within).Should(Succeed())
}

// shownAgent is what an Agent's status shows of its tunnel.
type shownAgent struct {
	connected bool
	replica   string
}

// agentObjectNamed reads the tenant's Agent of that name.
func agentObjectNamed(ctx context.Context, name string) (*deployv1alpha1.Agent, error) {
	a := &deployv1alpha1.Agent{}
	return a, cloudClient.Get(ctx, objectKey(tenantNamespace, name), a)
}

// agentStatus reads what the tenant's Agent shows.
func agentStatus(ctx context.Context, agent string) (shownAgent, error) {
	a, err := agentObjectNamed(ctx, agent)
	if err != nil {
		return shownAgent{}, err
	}
	return shownAgent{connected: a.Status.Connected, replica: a.Status.HubReplica}, nil
}

var _ = Describe("Several Hub replicas sharing agents", Ordered, func() {
	var (
		hubA, hubB     *replica
		target2        *testcluster.Cluster
		target2Client  client.Client
		staging, prod  *countedAgent
		prodID, prodSc string
	)

	BeforeAll(func(ctx SpecContext) {
		var err error
		target2, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "target2", Scheme: scheme.New(),
			CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(target2.Stop)
		target2Client = target2.Client

		scopes := []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}
		stagingID, stagingSecret := agentCredentials(ctx, tenantNamespace, "replicas-staging", scopes,
			func(mc *iamv1alpha1.MachineCredential) { mc.Spec.AgentIdentifiers = []string{"staging"} })
		prodID, prodSc = agentCredentials(ctx, tenantNamespace, "replicas-prod", scopes,
			func(mc *iamv1alpha1.MachineCredential) { mc.Spec.AgentIdentifiers = []string{"prod"} })

		hubA = startReplica(ctx, "hub-a")
		hubB = startReplica(ctx, "hub-b")
		DeferCleanup(func() { hubB.stop() })
		DeferCleanup(func() { hubA.stop() })
		staging = startCountedAgent(ctx, "staging", target, stagingID, stagingSecret, hubA.grpcAddr, hubB.grpcAddr)
		prod = startCountedAgent(ctx, "prod", target2, prodID, prodSc, hubB.grpcAddr, hubA.grpcAddr)
		DeferCleanup(func() { staging.stop(); prod.stop() })
	}, NodeTimeout(5*time.Minute))

	It("spreads the agents over the replicas, each held through its Lease", func(ctx SpecContext) {
		expectHeldBy(ctx, "staging", hubA, hubB, 30*time.Second)
		expectHeldBy(ctx, "prod", hubB, hubA, 30*time.Second)
		for _, r := range []*replica{hubA, hubB} {
			lease := &coordinationv1.Lease{}
			Expect(cloudClient.Get(ctx, objectKey("aurora-system", "aurora-hub-"+r.name), lease)).To(Succeed())
			Expect(lease.Annotations).To(HaveKeyWithValue(hub.LeaseAddressAnnotation, r.httpsAddr), "the replica advertises its address")
		}
	})

	It("mirrors each agent's Rollouts from the replica that holds it", func(ctx SpecContext) {
		s, p := agentRollout("staging", "replicas-s1", 50), agentRollout("prod", "replicas-p1", 50)
		Expect(cloudClient.Create(ctx, s)).To(Succeed())
		Expect(cloudClient.Create(ctx, p)).To(Succeed())
		expectMirroredIn(ctx, targetClient, s)
		expectMirroredIn(ctx, target2Client, p)
	})

	It("forwards a query for an agent to the replica that holds it", func(ctx SpecContext) {
		Expect(hubB.holds("staging")).To(BeFalse())
		body, err := hubB.srv.Query(ctx, tenantNamespace, "staging", rna.RequestKindInventory, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(body)).To(ContainSubstring("kube-system"), "the inventory of the staging cluster, through hub-a")
		body, err = hubA.srv.Query(ctx, tenantNamespace, "prod", rna.RequestKindInventory, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(body)).To(ContainSubstring("namespaces"))
		_, err = hubA.srv.Query(ctx, tenantNamespace, "nobody", rna.RequestKindInventory, nil)
		Expect(err).To(MatchError(hub.ErrAgentNotConnected))

		By("reading the inventory the agent sent to the replica that holds it, from the other one")
		Eventually(func(g Gomega) {
			inv, at, err := hubB.srv.CachedInventory(ctx, tenantNamespace, "staging")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(inv.GetNamespaces()).To(ContainElement("kube-system"))
			g.Expect(at).To(BeTemporally("~", time.Now(), time.Minute))
		}).WithContext(ctx).Should(Succeed())
		_, _, err = hubB.srv.CachedInventory(ctx, tenantNamespace, "nobody")
		Expect(err).To(MatchError(hub.ErrNoInventory))
	})

	It("serves preview links through the tunnel from either replica, and refuses forged and expired ones", func(ctx SpecContext) {
		app := startPreviewApp(ctx, targetClient, "replicas", "web")
		By("listing the preview in the mirrored Rollout, as the executor's exposeServices step does")
		s := agentRollout("staging", "replicas-s1")
		Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
		Eventually(func() error {
			list := &rolloutv1alpha1.RolloutList{}
			if err := targetClient.List(ctx, list, client.HasLabels{rolloutv1alpha1.MirroredLabel}); err != nil {
				return err
			}
			for i := range list.Items {
				if list.Items[i].Annotations[rolloutv1alpha1.CloudUIDAnnotation] == string(s.UID) {
					list.Items[i].Status.Previews = []deployv1alpha1.PreviewLink{{Service: "web", Namespace: "replicas",
						ExpiresAt: metav1.NewTime(time.Now().Add(time.Hour))}}
					return targetClient.Status().Update(ctx, &list.Items[i])
				}
			}
			return errNotMirrored
		}).WithContext(ctx).Should(Succeed())

		now := time.Now()
		links, err := staging.agent.PreviewLinks(ctx, []tunnelhttp.PreviewLinkRequest{
			{Namespace: "replicas", Service: "web", ExpiresAt: now.Add(time.Hour)},
			{Namespace: "replicas", Service: "web", ExpiresAt: now.Add(3 * time.Second)},
			{Namespace: "replicas", Service: "other", ExpiresAt: now.Add(time.Hour)},
		})
		Expect(err).NotTo(HaveOccurred())
		link, short, other := links[0], links[1], links[2]
		Expect(link).To(HavePrefix("https://" + hubA.httpsAddr + "/preview/"))
		viaB := strings.Replace(link, hubA.httpsAddr, hubB.httpsAddr, 1)

		By("reaching the Service through the replica that holds the agent, and through the other one")
		Expect(get(ctx, link+"hello?x=1")).To(Equal(previewAnswer{200, "hello from web /hello?x=1"}))
		Expect(get(ctx, viaB+"hello")).To(Equal(previewAnswer{200, "hello from web /hello"}), "forwarded to hub-a")

		By("streaming large bodies both ways under flow control, many requests at once")
		for _, route := range []struct{ name, base string }{{"through hub-a", link}, {"forwarded by hub-b", viaB}} {
			start := time.Now()
			const rounds = 5
			for range rounds {
				big := get(ctx, route.base+"big")
				Expect(big.code).To(Equal(200))
				Expect([]byte(big.body)).To(Equal(app.big))
			}
			elapsed := time.Since(start)
			AddReportEntry("preview download of 1 MiB "+route.name, fmt.Sprintf("%.1f MiB/s (%d rounds in %s)",
				float64(rounds*len(app.big))/(1<<20)/elapsed.Seconds(), rounds, elapsed.Round(time.Millisecond)))
		}
		upload := bytes.Repeat([]byte("potato "), 100_000)
		resp, err := httpClient.Post(link+"echo", "application/octet-stream", bytes.NewReader(upload))
		Expect(err).NotTo(HaveOccurred())
		echoed, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(echoed).To(Equal(upload))
		var wg sync.WaitGroup
		answers := make([]previewAnswer, 24)
		for i := range answers {
			wg.Go(func() {
				defer GinkgoRecover()
				answers[i] = get(ctx, fmt.Sprintf("%sn/%d", link, i))
			})
		}
		wg.Wait()
		for i, a := range answers {
			Expect(a).To(Equal(previewAnswer{200, fmt.Sprintf("hello from web /n/%d", i)}))
		}

		By("refusing forged links, links to Services without a live preview, and expired links")
		token := strings.TrimSuffix(strings.TrimPrefix(link, "https://"+hubA.httpsAddr+"/preview/"), "/")
		forged := token[:len(token)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(token, "AA")]
		Expect(get(ctx, "https://"+hubA.httpsAddr+"/preview/"+forged+"/hello").code).To(Equal(403))
		Expect(get(ctx, "https://"+hubA.httpsAddr+"/preview/not-a-token/hello").code).To(Equal(403))
		Expect(get(ctx, other+"hello").code).To(Equal(502), "the agent reaches only Services a mirrored Rollout exposes")
		Expect(get(ctx, short+"hello").code).To(Equal(200))
		Eventually(func() int { return get(ctx, short+"hello").code }).WithContext(ctx).WithTimeout(10 * time.Second).Should(Equal(410))
		Expect(get(ctx, strings.Replace(short, hubA.httpsAddr, hubB.httpsAddr, 1)+"hello").code).To(Equal(410))

		By("refusing the peer paths to callers without a replica's client certificate")
		resp, err = httpClient.Post("https://"+hubA.httpsAddr+"/peer/v1/query", "application/json", strings.NewReader(`{}`))
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(403))
	})

	It("hands an agent over cleanly when it connects to another replica", func(ctx SpecContext) {
		before := prod.applied()
		second := startCountedAgent(ctx, "prod", target2, prodID, prodSc, hubA.grpcAddr)
		expectHeldBy(ctx, "prod", hubA, hubB, 30*time.Second)
		p := agentRollout("prod", "replicas-p2", 25, 100)
		Expect(cloudClient.Create(ctx, p)).To(Succeed())
		expectMirroredIn(ctx, target2Client, p)
		Expect(prod.applied()+second.applied()-before).To(Equal(1), "one new generation, applied once by the agent that holds the tunnel")
		second.stop()
		// The first agent was drained with a delay; it reconnects, to either replica.
		Eventually(prod.agent.Connected).WithContext(ctx).WithTimeout(90 * time.Second).Should(BeTrue())
	}, NodeTimeout(3*time.Minute))

	It("re-homes the agents of a replica that dies within the lease budget, and loses or repeats nothing", func(ctx SpecContext) {
		Eventually(prod.agent.Connected).WithContext(ctx).Should(BeTrue())
		var rollouts []*rolloutv1alpha1.Rollout
		for i := range 3 {
			for _, agent := range []string{"staging", "prod"} {
				ro := agentRollout(agent, fmt.Sprintf("replicas-%s-k%d", agent, i), 10, 100)
				Expect(cloudClient.Create(ctx, ro)).To(Succeed())
				rollouts = append(rollouts, ro)
			}
		}
		mirrorAll := func() {
			for _, ro := range rollouts {
				c := targetClient
				if ro.Labels[deployv1alpha1.AgentLabel] == "prod" {
					c = target2Client
				}
				expectMirroredIn(ctx, c, ro)
			}
		}
		mirrorAll()
		appliedBefore := staging.applied() + prod.applied()

		By("killing hub-a without a graceful close")
		killedAt := time.Now()
		hubA.srv.Abort()
		expectHeldBy(ctx, "staging", hubB, nil, 3*replicaLeaseDuration+10*time.Second)
		expectHeldBy(ctx, "prod", hubB, nil, 3*replicaLeaseDuration+10*time.Second)
		AddReportEntry("agents re-homed after the replica died in", time.Since(killedAt).Round(time.Millisecond).String())

		By("changing every Rollout and adding new ones while hub-b holds every agent")
		for _, ro := range rollouts {
			updateCloud(ctx, ro, func(ro *rolloutv1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, ro.Spec.Strategy.Canary.Steps[0])
			})
		}
		for _, agent := range []string{"staging", "prod"} {
			ro := agentRollout(agent, "replicas-"+agent+"-after", 100)
			Expect(cloudClient.Create(ctx, ro)).To(Succeed())
			rollouts = append(rollouts, ro)
		}
		mirrorAll()
		Consistently(func() int { return staging.applied() + prod.applied() - appliedBefore }).
			WithContext(ctx).WithTimeout(2*time.Second).Should(Equal(len(rollouts)),
			"each new generation applied exactly once: none lost, none twice")

		By("hub-a's Lease expiring, so that nothing is forwarded to it")
		Eventually(func(g Gomega) {
			lease := &coordinationv1.Lease{}
			g.Expect(cloudClient.Get(ctx, objectKey("aurora-system", "aurora-hub-hub-a"), lease)).To(Succeed())
			g.Expect(time.Since(lease.Spec.RenewTime.Time)).To(BeNumerically(">", replicaLeaseDuration))
		}).WithContext(ctx).WithTimeout(2 * replicaLeaseDuration).Should(Succeed())
		_, err := hubB.srv.Query(ctx, tenantNamespace, "staging", rna.RequestKindInventory, nil)
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(4*time.Minute))
})

// previewApp is an HTTP server of the test standing in for the pods of a Service of the target
// cluster: the Service has no selector, and an EndpointSlice points at the server. (Under kwok,
// pods cannot serve; the agent dials the Service's endpoints as kube-proxy would route it.)
type previewApp struct {
	big []byte
}

// startPreviewApp serves the app and creates its Service and EndpointSlice in namespace.
func startPreviewApp(ctx context.Context, c client.Client, namespace, service string) *previewApp {
	GinkgoHelper()
	app := &previewApp{big: bytes.Repeat([]byte("0123456789abcdef"), 1<<16)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write(app.big)
		case "/echo": // Streams the body back as it arrives (an HTTP/1 server must be told it may).
			_ = http.NewResponseController(w).EnableFullDuplex()
			_, _ = io.Copy(w, r.Body)
		default:
			_, _ = fmt.Fprintf(w, "hello from %s %s", service, r.URL.RequestURI())
		}
	}))
	ip := hostAddress()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	Expect(err).NotTo(HaveOccurred())
	srv.Listener = l
	srv.Start()
	DeferCleanup(srv.Close)
	port, err := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	Expect(err).NotTo(HaveOccurred())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	Expect(client.IgnoreAlreadyExists(c.Create(ctx, ns))).To(Succeed())
	Expect(c.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: service},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(int32(port))}}}})).To(Succeed())
	Expect(c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: namespace, Name: service + "-test", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(""), Port: ptr.To(int32(port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	})).To(Succeed())
	return app
}

// previewAnswer is the status code and body of an answer.
type previewAnswer struct {
	code int
	body string
}

// get fetches url with the test client.
func get(ctx context.Context, url string) previewAnswer {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := httpClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return previewAnswer{resp.StatusCode, string(body)}
}

// hostAddress returns a non-loopback IPv4 address of this machine: an EndpointSlice may not point at
// a loopback address.
func hostAddress() string {
	GinkgoHelper()
	addrs, err := net.InterfaceAddrs()
	Expect(err).NotTo(HaveOccurred())
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	Fail("this machine has no non-loopback IPv4 address for an EndpointSlice to point at")
	return ""
}
