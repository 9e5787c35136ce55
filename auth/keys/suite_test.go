package keys_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/aurora-cd/aurora/internal/testcluster"
)

func TestKeys(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "auth/keys")
}

// cluster is the API server every spec of the package shares; specs use Secrets of their own.
var cluster *testcluster.Cluster

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(GinkgoLogr)
	SetDefaultEventuallyTimeout(10 * time.Second)
	began := time.Now()
	var err error
	cluster, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "keys"})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() error { return cluster.Stop() })
	GinkgoWriter.Printf("API server up in %s\n", time.Since(began).Round(time.Millisecond))
}, NodeTimeout(30*time.Minute)) // a cold machine first builds the binaries (12-15 minutes)
