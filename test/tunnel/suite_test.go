// Package tunnel_test runs the Agent Hub and the Remote Network Agent against a cloud and a target
// test cluster, with the real auth service issuing their tokens, and checks that Rollouts are
// mirrored without loss or duplication whatever happens to the Hub, the agent or the network.
package tunnel_test

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
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/controllers/tenant"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/faultproxy"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

var (
	cloud, target *testcluster.Cluster
	cloudClient   client.Client
	targetClient  client.Client

	serverTLS  *tls.Config
	clientTLS  *tls.Config
	httpClient *http.Client
	issuer     string
	verifier   *verify.Verifier

	// ca signed the serving certificates; it also issues the Hub replicas' client certificates.
	ca *tlsutil.CA

	// hubAddr is where the Hub listens, the same across restarts; agents dial it through proxy.
	hubAddr string
	proxy   *faultproxy.Proxy
)

const (
	tenantNamespace = "aurora-acme-prod"
	agentID         = "staging"
	// heartbeat is short so that dead streams are found within seconds.
	heartbeat = 400 * time.Millisecond
)

func TestTunnel(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Tunnel suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	crds := []string{filepath.Join("..", "..", "config", "crd", "bases")}
	var err error
	cloud, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "cloud", Scheme: scheme.New(), CRDDirectoryPaths: crds})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cloud.Stop)
	target, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "target", Scheme: scheme.New(), CRDDirectoryPaths: crds})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(target.Stop)
	cloudClient, targetClient = cloud.Client, target.Client

	By("running the identity controllers and tenants in the cloud cluster")
	mgr, err := ctrl.NewManager(cloud.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect((&tenant.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)).To(Succeed())
	runInBackground(func(ctx context.Context) error { return mgr.Start(ctx) })
	Expect(cloudClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-system"}})).To(Succeed())
	for _, org := range []string{"acme", "globex"} {
		tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: org + "-prod"}, Spec: iamv1alpha1.TenantSpec{Organization: org, Environment: "prod"}}
		Expect(cloudClient.Create(ctx, tn)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(cloudClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
	}

	By("serving TLS from a test CA and running the auth service")
	ca, err = tlsutil.NewCA("aurora tunnel test CA", time.Hour)
	Expect(err).NotTo(HaveOccurred())
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	serverTLS, err = tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	clientTLS, err = tlsutil.ClientConfig(ca.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	masterKey, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	authListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	issuer = fmt.Sprintf("https://127.0.0.1:%d", authListener.Addr().(*net.TCPAddr).Port)
	authServer, err := auth.NewServer(ctx, auth.ServerConfig{
		Kubernetes: cloud.Config, Issuer: issuer, TokenLifetime: 10 * time.Minute,
		KeysNamespace: "aurora-system", KeysSecret: "aurora-auth-signing-keys", MasterKey: masterKey, TLS: serverTLS,
	})
	Expect(err).NotTo(HaveOccurred())
	runInBackground(func(ctx context.Context) error { return authServer.Serve(ctx, authListener) })
	Eventually(func() error {
		_, err := verify.NewVerifier(ctx, verify.Options{IssuerURL: issuer, Audience: "aurora", HTTPClient: httpClient})
		return err
	}).WithContext(ctx).Should(Succeed())
	verifier, err = verify.NewVerifier(ctx, verify.Options{IssuerURL: issuer, Audience: "aurora", HTTPClient: httpClient, Leeway: time.Second})
	Expect(err).NotTo(HaveOccurred())

	By("picking the Hub's address and putting a fault proxy in front of it")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	hubAddr = l.Addr().String()
	Expect(l.Close()).To(Succeed())
	proxy, err = faultproxy.New(hubAddr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(proxy.Close)
}, NodeTimeout(20*time.Minute))

// runInBackground runs f until the suite ends.
func runInBackground(f func(ctx context.Context) error) {
	stop := startInBackground(f)
	DeferCleanup(stop)
}

// startInBackground runs f until the returned stop is called; stop waits for f to return.
func startInBackground(f func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(f(ctx)).To(Succeed())
	}()
	return func() { cancel(); <-done }
}

// objectKey is a shorthand.
func objectKey(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}
