package testcluster

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

func TestTestcluster(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "testcluster")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(GinkgoLogr)
	// A cold machine builds the binaries here (12-15 minutes), outside any spec's timings.
	began := time.Now()
	dir, err := BinaryDir(ctx, Full)
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("binaries in %s (found in %s)\n", dir, time.Since(began).Round(time.Millisecond))
}, NodeTimeout(30*time.Minute))
