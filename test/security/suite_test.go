// Package security_test checks Aurora's security claims against the real components: the auth
// service, the Agent Hub and the REST API over TLS on a real API server, with the tenant,
// machine-credential and Deployment controllers. It checks that TLS below 1.2 is refused on every
// listener, that signing keys, client secrets and tenant secrets are never stored in the clear (yet
// a webhook receives the opened tenant secret, and a plain-text one written around the API is never
// sent), that a revoked credential's token stops working once it expires and no new one is issued,
// that oversized requests and tunnel messages are refused while the servers keep serving, and that
// an agent of one environment can neither receive nor write another environment's Rollouts or
// Agents.
package security_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/controllers/tenant"
	"github.com/aurora-cd/aurora/hub"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/server"
)

const (
	// keysNamespace and keysSecret hold the auth service's signing keys.
	keysNamespace = "aurora-system"
	keysSecret    = "aurora-auth-signing-keys"
	// tokenLifetime is short so that a revoked credential's token expires within the test.
	tokenLifetime = 4 * time.Second
	// maxMessageBytes is the Hub's tunnel message limit in this suite.
	maxMessageBytes = 64 << 10
)

var (
	cloud       *testcluster.Cluster
	cloudClient client.Client

	ca         *tlsutil.CA
	serverTLS  *tls.Config
	clientTLS  *tls.Config
	httpClient *http.Client
	masterKey  []byte

	// issuer is the auth service's URL; authAddr, hubAddr and apiAddr the listeners' host:port.
	issuer, authAddr, hubAddr, apiAddr string
	verifier                           *verify.Verifier
)

// The tenants of the suite.
var (
	acme   = tenantRef{organization: "acme", environment: "prod"}
	globex = tenantRef{organization: "globex", environment: "prod"}
)

// tenantRef names a tenant.
type tenantRef struct{ organization, environment string }

// namespace is the tenant's namespace in the cloud cluster.
func (t tenantRef) namespace() string {
	return iamv1alpha1.NamespaceName(t.organization, t.environment)
}

func TestSecurity(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Security suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	cloud, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "cloud", Scheme: scheme.New(),
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cloud.Stop)
	cloudClient = cloud.Client

	By("running the identity controllers and two tenants")
	mgr, err := ctrl.NewManager(cloud.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect((&tenant.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)).To(Succeed())
	runInBackground(mgr.Start)
	Expect(cloudClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: keysNamespace}})).To(Succeed())
	for _, t := range []tenantRef{acme, globex} {
		tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: t.organization + "-" + t.environment},
			Spec: iamv1alpha1.TenantSpec{Organization: t.organization, Environment: t.environment}}
		Expect(cloudClient.Create(ctx, tn)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
	}

	By("serving the auth service and the Hub over TLS from a test CA")
	ca, err = tlsutil.NewCA("aurora security test CA", time.Hour)
	Expect(err).NotTo(HaveOccurred())
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	serverTLS, err = tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	clientTLS, err = tlsutil.ClientConfig(ca.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	masterKey, err = envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	authListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	authAddr = authListener.Addr().String()
	issuer = "https://" + authAddr
	authServer, err := auth.NewServer(ctx, auth.ServerConfig{
		Kubernetes: cloud.Config, Issuer: issuer, TokenLifetime: tokenLifetime,
		KeysNamespace: keysNamespace, KeysSecret: keysSecret, MasterKey: masterKey, TLS: serverTLS,
	})
	Expect(err).NotTo(HaveOccurred())
	runInBackground(func(ctx context.Context) error { return authServer.Serve(ctx, authListener) })
	Eventually(func() (err error) {
		verifier, err = verify.NewVerifier(ctx, verify.Options{IssuerURL: issuer, Audience: auth.DefaultAudience, HTTPClient: httpClient,
			Leeway: time.Second})
		return err
	}).WithContext(ctx).Should(Succeed())

	hubServer, err := hub.New(hub.Options{Cloud: cloud.Config, Verifier: verifier, TLS: serverTLS, Replica: "hub-security",
		HeartbeatInterval: time.Second, MaxMessageBytes: maxMessageBytes, Registerer: prometheus.NewRegistry()})
	Expect(err).NotTo(HaveOccurred())
	hubListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	hubAddr = hubListener.Addr().String()
	runInBackground(func(ctx context.Context) error { return hubServer.Serve(ctx, hubListener) })
	Eventually(hubServer.Ready).WithContext(ctx).Should(Succeed())

	By("serving the REST API and running the Deployment controller, both with the master key")
	sealer, err := envelope.NewSealer(masterKey)
	Expect(err).NotTo(HaveOccurred())
	api, err := server.New(server.Options{Client: cloudClient, Verifier: verifier, TLS: serverTLS, Sealer: sealer,
		Registerer: prometheus.NewRegistry(), Log: ctrl.Log.WithName("server")})
	Expect(err).NotTo(HaveOccurred())
	apiListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	apiAddr = apiListener.Addr().String()
	runInBackground(func(ctx context.Context) error { return api.Serve(ctx, apiListener) })
	deployMgr, err := ctrl.NewManager(cloud.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect((&deployment.Reconciler{Client: deployMgr.GetClient(), APIReader: deployMgr.GetAPIReader(), Sealer: sealer,
		APIURL: "https://" + apiAddr, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}},
	}).SetupWithManager(deployMgr)).To(Succeed())
	runInBackground(deployMgr.Start)
}, NodeTimeout(10*time.Minute))

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

// uniqueName returns a name with a prefix that no other spec of the suite uses.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}
