package deployment_test

import (
	"context"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/judgment"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

var (
	k8sClient client.Client
	// clock is the controllers' clock; tests move it forward to reach timeouts without waiting.
	clock = &testClock{}
)

// testClock is the wall clock plus an offset that tests advance.
// testAPIURL is the REST API's URL the controller hands out for webhook callbacks.
const testAPIURL = "https://api.aurora.example:8444"

// secretStore writes the tenants' sealed secrets under the master key the controller opens them with.
var secretStore *tenantsecrets.Store

// testCA signs the certificates of the webhook receivers the tests run; the controller trusts it.
var testCA *tlsutil.CA

type testClock struct{ offset atomic.Int64 }

// Now returns the wall clock plus the offset.
func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward.
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

func TestDeployment(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Deployment controller suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	s := scheme.New()
	cluster, err := testcluster.StartAPI(ctx, testcluster.Options{
		Name: "deployment", Scheme: s,
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cluster.Stop)
	k8sClient = cluster.Client

	mgr, err := ctrl.NewManager(cluster.Config, ctrl.Options{Scheme: s, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	testCA, err = tlsutil.NewCA("deployment-test", time.Hour)
	Expect(err).NotTo(HaveOccurred())
	tlsConfig, err := tlsutil.ClientConfig(testCA.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	masterKey, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	sealer, err := envelope.NewSealer(masterKey)
	Expect(err).NotTo(HaveOccurred())
	secretStore = &tenantsecrets.Store{Client: k8sClient, Sealer: sealer}
	Expect((&deployment.Reconciler{
		Sealer:     sealer,
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder("aurora-deployment-controller"),
		Now:        clock.Now,
		APIURL:     testAPIURL,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}},
	}).SetupWithManager(mgr)).To(Succeed())
	Expect((&judgment.Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("aurora-judgment-controller"),
		Now:       clock.Now,
	}).SetupWithManager(mgr)).To(Succeed())
	mgrCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	DeferCleanup(func() { cancel(); <-done })
}, NodeTimeout(20*time.Minute))
