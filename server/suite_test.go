package server_test

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
	"github.com/aurora-cd/aurora/controllers/judgment"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/controllers/tenant"
	"github.com/aurora-cd/aurora/hub"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/server"
)

// otherAudience is an audience the auth service serves that the API does not accept.
const otherAudience = "not-the-api"

var (
	// k8sClient talks to the cloud cluster directly.
	k8sClient client.Client
	// httpClient trusts the test CA.
	httpClient *http.Client
	// issuerURL is the in-process auth service.
	issuerURL string
	// apiURL is the API server under test; laterAPIURL is a second one whose token clock runs two
	// hours ahead, so that every token it sees has expired.
	apiURL, laterAPIURL string
	// hubAddress is the in-process Agent Hub the API reads inventories from.
	hubAddress string
	// secretSealer is the master key the API servers seal tenant secrets under.
	secretSealer *envelope.Sealer
	// clientTLS trusts the test CA; serverTLS serves its certificate for 127.0.0.1.
	clientTLS, serverTLS *tls.Config

	// The tenants: acme/prod is "ours"; acme/staging is another tenant of the organization;
	// globex/prod is another organization.
	ours, sibling, foreign tenantRef
)

// tenantRef is a tenant of the test and its namespace.
type tenantRef struct {
	organization, environment, namespace string
}

func TestServer(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "REST API suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	cluster, err := testcluster.StartAPI(ctx, testcluster.Options{
		Name: "server", Scheme: scheme.New(),
		CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cluster.Stop)
	k8sClient = cluster.Client

	By("running the controllers in-process")
	mgr, err := ctrl.NewManager(cluster.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect((&tenant.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&deployment.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("aurora-deployment-controller")}).SetupWithManager(mgr)).To(Succeed())
	Expect((&judgment.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("aurora-judgment-controller")}).SetupWithManager(mgr)).To(Succeed())
	mgrCtx, stopMgr := context.WithCancel(context.Background())
	mgrDone := make(chan struct{})
	go func() { defer GinkgoRecover(); defer close(mgrDone); Expect(mgr.Start(mgrCtx)).To(Succeed()) }()
	DeferCleanup(func() { stopMgr(); <-mgrDone })

	By("creating three tenants")
	ours = createTenant(ctx, "acme", "prod")
	sibling = createTenant(ctx, "acme", "staging")
	foreign = createTenant(ctx, "globex", "prod")
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-system"}})).To(Succeed())

	By("starting the auth service over TLS")
	ca, err := tlsutil.NewCA("server test CA", 24*time.Hour)
	Expect(err).NotTo(HaveOccurred())
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, 24*time.Hour)
	Expect(err).NotTo(HaveOccurred())
	serverTLS, err = tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	clientTLS, err = tlsutil.ClientConfig(ca.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	httpClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	masterKey, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	authListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	issuerURL = "https://" + authListener.Addr().String()
	authSrv, err := auth.NewServer(ctx, auth.ServerConfig{
		Kubernetes: cluster.Config, Issuer: issuerURL, Audiences: []string{auth.DefaultAudience, otherAudience},
		KeysNamespace: "aurora-system", KeysSecret: "signing-keys", MasterKey: masterKey, TLS: serverTLS,
	})
	Expect(err).NotTo(HaveOccurred())
	serveInBackground(func(ctx context.Context) error { return authSrv.Serve(ctx, authListener) })

	By("starting the Agent Hub")
	hubVerifier := newVerifier(ctx, time.Now)
	hubSrv, err := hub.New(hub.Options{Cloud: cluster.Config, Verifier: hubVerifier, TLS: serverTLS, Replica: "hub-0", Registerer: prometheus.NewRegistry()})
	Expect(err).NotTo(HaveOccurred())
	hubListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	hubAddress = hubListener.Addr().String()
	serveInBackground(func(ctx context.Context) error { return hubSrv.Serve(ctx, hubListener) })

	secretKey, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	secretSealer, err = envelope.NewSealer(secretKey)
	Expect(err).NotTo(HaveOccurred())
	By("starting the API server, and a second one whose clock runs two hours ahead")
	apiURL = startAPI(ctx, cluster, serverTLS, time.Now)
	laterAPIURL = startAPI(ctx, cluster, serverTLS, func() time.Time { return time.Now().Add(2 * time.Hour) })
}, NodeTimeout(20*time.Minute))

// serveInBackground runs serve until the suite ends.
func serveInBackground(serve func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(serve(ctx)).To(Succeed())
	}()
	DeferCleanup(func() { cancel(); <-done })
}

// startAPI starts an API server whose token verifier reads the clock now, and returns its URL.
func startAPI(ctx context.Context, cluster *testcluster.Cluster, serverTLS *tls.Config, now func() time.Time) string {
	verifier := newVerifier(ctx, now)
	c, err := client.New(cluster.Config, client.Options{Scheme: scheme.New()})
	Expect(err).NotTo(HaveOccurred())
	inventory, err := server.NewHubInventory(hubAddress, clientTLS)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(inventory.Close)
	api, err := server.New(server.Options{Client: c, Verifier: verifier, TLS: serverTLS, Inventory: inventory,
		Log: ctrl.Log.WithName("server"), CredentialReadyTimeout: 30 * time.Second, Sealer: secretSealer})
	Expect(err).NotTo(HaveOccurred())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	serveInBackground(func(ctx context.Context) error { return api.Serve(ctx, l) })
	url := "https://" + l.Addr().String()
	Eventually(func() (int, error) {
		resp, err := httpClient.Get(url + "/readyz")
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
	return url
}

// newVerifier returns a verifier of the auth service's tokens for the API audience, reading the
// clock now.
func newVerifier(ctx context.Context, now func() time.Time) *verify.Verifier {
	var verifier *verify.Verifier
	Eventually(func() error {
		var err error
		verifier, err = verify.NewVerifier(ctx, verify.Options{IssuerURL: issuerURL, Audience: auth.DefaultAudience, HTTPClient: httpClient, Now: now})
		return err
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return verifier
}

// createTenant creates a Tenant and waits until its namespace is ready.
func createTenant(ctx context.Context, organization, environment string) tenantRef {
	tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: organization + "-" + environment},
		Spec: iamv1alpha1.TenantSpec{Organization: organization, Environment: environment}}
	Expect(k8sClient.Create(ctx, tn)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
	}).WithTimeout(time.Minute).Should(Succeed())
	return tenantRef{organization: organization, environment: environment, namespace: tn.Status.Namespace}
}

// credential is a machine credential of a tenant and how to get its tokens.
type credential struct {
	tenant           tenantRef
	name             string
	clientID, secret string
}

// newCredential creates a MachineCredential directly and waits for its secret.
func newCredential(ctx context.Context, t tenantRef, name string, scopes []iamv1alpha1.Scope, roles ...string) credential {
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.namespace},
		Spec: iamv1alpha1.MachineCredentialSpec{Scopes: scopes, Roles: roles}}
	Expect(k8sClient.Create(ctx, mc)).To(Succeed())
	s := &corev1.Secret{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
		g.Expect(mc.Status.SecretHashes).NotTo(BeEmpty())
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: t.namespace, Name: machinecredential.SecretName(name)}, s)).To(Succeed())
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return credential{tenant: t, name: name, clientID: string(s.Data[machinecredential.ClientIDKey]), secret: string(s.Data[machinecredential.ClientSecretKey])}
}

// String names the credential in failure messages.
func (c credential) String() string { return fmt.Sprintf("%s/%s", c.tenant.namespace, c.name) }
