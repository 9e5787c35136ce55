package judgment_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
)

// k8sClient talks to the API server directly (no cache). The Judgment controller runs in no
// manager here: the specs call Reconcile themselves, as two replicas or a restarted one would.
var k8sClient client.Client

func TestJudgment(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Judgment controller suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	cluster, err := testcluster.StartAPI(ctx, testcluster.Options{
		Name: "judgment", Scheme: scheme.New(),
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")},
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cluster.Stop)
	k8sClient = cluster.Client
}, NodeTimeout(20*time.Minute))
