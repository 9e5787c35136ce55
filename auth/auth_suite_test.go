package auth_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/controllers/tenant"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// The auth service under test, on a real API server, over real HTTPS.
var (
	cluster    *testcluster.Cluster
	k8sClient  client.Client
	ca         *tlsutil.CA
	serverTLS  *tls.Config
	httpClient *http.Client
	masterKey  []byte
	server     *auth.Server
	issuer     string
)

const (
	keysNamespace = "aurora-system"
	keysSecret    = "aurora-auth-signing-keys"
	tokenLifetime = 10 * time.Minute
	// clientFailureBurst is how many failed authentications a client (or failed logins a user) may
	// have before it is locked out.
	clientFailureBurst = 5
	// consoleRedirectURI is the Console's registered redirect URI; nothing listens there, the
	// person's browser stops at it.
	consoleRedirectURI = "https://console.aurora.test/auth/callback"
)

func TestAuth(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Auth service suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	s := scheme.New()
	var err error
	cluster, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "auth", Scheme: s,
		CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cluster.Stop)
	k8sClient = cluster.Client

	mgr, err := ctrl.NewManager(cluster.Config, ctrl.Options{Scheme: s, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect((&tenant.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)).To(Succeed())
	startInBackground(func(ctx context.Context) error { return mgr.Start(ctx) })

	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: keysNamespace}})).To(Succeed())
	for _, t := range []struct{ org, env string }{{"acme", "prod"}, {"acme", "staging"}, {"globex", "prod"}} {
		tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: t.org + "-" + t.env},
			Spec: iamv1alpha1.TenantSpec{Organization: t.org, Environment: t.env}}
		Expect(k8sClient.Create(ctx, tn)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
	}

	ca, err = tlsutil.NewCA("aurora test CA", time.Hour)
	Expect(err).NotTo(HaveOccurred())
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	serverTLS, err = tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	clientTLS, err := tlsutil.ClientConfig(ca.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	httpClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}

	masterKey, err = envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	issuer = fmt.Sprintf("https://127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
	server, err = auth.NewServer(ctx, serverConfig(masterKey))
	Expect(err).NotTo(HaveOccurred())
	startInBackground(func(ctx context.Context) error { return server.Serve(ctx, l) })
	Eventually(func() error {
		resp, err := httpClient.Get(issuer + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}).WithContext(ctx).Should(Succeed())
}, NodeTimeout(20*time.Minute))

// serverClockAhead is how far ahead of the real time the auth services of the suite run: a spec
// moves it to see what happens later (and moves it back).
var serverClockAhead atomic.Int64

// serverConfig is the auth service's configuration with the given master key.
func serverConfig(key []byte) auth.ServerConfig {
	return auth.ServerConfig{
		Now:        func() time.Time { return time.Now().Add(time.Duration(serverClockAhead.Load())) },
		Kubernetes: cluster.Config, Issuer: issuer, Audiences: []string{"aurora", "aurora-console"},
		TokenLifetime: tokenLifetime, KeysNamespace: keysNamespace, KeysSecret: keysSecret, MasterKey: key,
		TLS: serverTLS, RateLimits: auth.RateLimits{FailuresPerMinute: 1, FailureBurst: clientFailureBurst,
			AddressFailuresPerMinute: 6000, AddressFailureBurst: 1000, RequestsPerSecond: 500, RequestBurst: 1000},
		People: auth.PeopleConfig{ConsoleRedirectURIs: []string{consoleRedirectURI}, DevicePollInterval: time.Second},
	}
}

// startInBackground runs f until the suite ends.
func startInBackground(f func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(f(ctx)).To(Succeed())
	}()
	DeferCleanup(func() { cancel(); <-done })
}
