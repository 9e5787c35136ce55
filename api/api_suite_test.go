// Package api_test checks the CRDs of every Aurora kind on a real API server: they install, every
// sample is accepted, invalid objects are refused with a message that names the field, and kubectl
// explain shows the godoc.
package api_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
)

var (
	cluster   *testcluster.Cluster
	k8sClient client.Client
	// crdDir holds the generated CRDs.
	crdDir = filepath.Join("..", "config", "crd", "bases")
	// samplesDir holds a sample of every kind.
	samplesDir = filepath.Join("..", "config", "samples")
)

func TestAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "API Suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	s := scheme.New()
	Expect(apiextensionsv1.AddToScheme(s)).To(Succeed())
	var err error
	cluster, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "api", CRDDirectoryPaths: []string{crdDir}, Scheme: s})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cluster.Stop)
	k8sClient = cluster.Client
}, NodeTimeout(20*time.Minute))
