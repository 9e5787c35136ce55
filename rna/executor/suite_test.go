package executor_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/rna/executor"
)

var (
	cluster   *testcluster.Cluster
	k8sClient client.WithWatch

	// testCA signs the TLS certificates of the metric servers and webhook receivers the tests run;
	// the executor's HTTP client trusts it.
	testCA *tlsutil.CA

	// executorMu guards stopExecutor.
	executorMu   sync.Mutex
	stopExecutor func()
)

func TestExecutor(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Rollout executor suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		Expect(os.Setenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT", "120s")).To(Succeed())
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true), func(o *zap.Options) { o.TimeEncoder = zapcore.RFC3339NanoTimeEncoder }))
	var err error
	cluster, err = testcluster.StartFull(ctx, testcluster.Options{
		Name: "executor", Scheme: scheme.New(), Nodes: 3,
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases"), filepath.Join("..", "..", "test", "testdata", "crds")},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cluster.Stop)
	k8sClient, err = client.NewWithWatch(cluster.Config, client.Options{Scheme: scheme.New()})
	Expect(err).NotTo(HaveOccurred())
	testCA, err = tlsutil.NewCA("executor-test", time.Hour)
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: configNamespace}})).To(Succeed())
	startExecutor()
	DeferCleanup(func() {
		executorMu.Lock()
		defer executorMu.Unlock()
		if stopExecutor != nil {
			stopExecutor()
		}
	})
}, NodeTimeout(20*time.Minute))

// startExecutor starts a manager running the executor and records how to stop it.
func startExecutor() {
	GinkgoHelper()
	s := scheme.New()
	mgr, err := ctrl.NewManager(cluster.Config, ctrl.Options{
		Scheme:     s,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}, // restarted in the same process
	})
	Expect(err).NotTo(HaveOccurred())
	tlsConfig, err := tlsutil.ClientConfig(testCA.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	Expect((&executor.Reconciler{
		Client:          mgr.GetClient(),
		Recorder:        mgr.GetEventRecorder("rollout-executor"),
		ConfigNamespace: configNamespace,
		HTTPClient:      &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}},
	}).SetupWithManager(mgr)).To(Succeed())
	mgrCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	executorMu.Lock()
	stopExecutor = func() { cancel(); <-done }
	executorMu.Unlock()
}

// restartExecutor stops the running executor and returns a function that starts a new one.
func restartExecutor() (start func()) {
	executorMu.Lock()
	stop := stopExecutor
	stopExecutor = nil
	executorMu.Unlock()
	if stop != nil {
		stop()
	}
	return startExecutor
}
