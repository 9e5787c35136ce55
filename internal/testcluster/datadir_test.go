package testcluster

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("a persistent data directory", func() {
	It("brings a restarted cluster back with the same objects and service-account key, and outlives Stop", func(ctx SpecContext) {
		dataDir := filepath.Join(GinkgoT().TempDir(), "data")
		first, err := StartAPI(ctx, Options{Name: "persistent", DataDir: dataDir})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(first.Stop)
		configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kept"}, Data: map[string]string{"hello": "again"}}
		Expect(first.Client.Create(ctx, configMap)).To(Succeed())
		signingKey, err := os.ReadFile(filepath.Join(dataDir, persistentAPIServerDir, serviceAccountKeyPairName+".key"))
		Expect(err).NotTo(HaveOccurred())
		Expect(first.Stop()).To(Succeed())
		Expect(filepath.Join(dataDir, persistentEtcdDir)).To(BeADirectory(), "Stop keeps the data directory")
		Expect(first.Dir).NotTo(BeADirectory(), "Stop still removes the working directory")

		second, err := StartAPI(ctx, Options{Name: "persistent", DataDir: dataDir})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(second.Stop)
		var read corev1.ConfigMap
		Expect(second.Client.Get(ctx, client.ObjectKeyFromObject(configMap), &read)).To(Succeed())
		Expect(read.Data).To(Equal(map[string]string{"hello": "again"}))
		Expect(read.UID).To(Equal(configMap.UID))
		Expect(os.ReadFile(filepath.Join(dataDir, persistentAPIServerDir, serviceAccountKeyPairName+".key"))).To(Equal(signingKey))
		out, err := second.Kubectl(ctx, "get", "configmap", "kept", "-o", "jsonpath={.data.hello}")
		Expect(err).NotTo(HaveOccurred(), "the new kubeconfig trusts the new serving certificate")
		Expect(out).To(Equal("again"))
	}, NodeTimeout(5*time.Minute))

	It("says what is wrong when the service-account key is damaged", func(ctx SpecContext) {
		dataDir := GinkgoT().TempDir()
		certDir := filepath.Join(dataDir, persistentAPIServerDir)
		Expect(os.MkdirAll(certDir, 0o700)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(certDir, serviceAccountKeyPairName+".key"), []byte("not a key"), 0o600)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(certDir, serviceAccountKeyPairName+".crt"), []byte("not a certificate"), 0o600)).To(Succeed())
		_, err := preparePersistentCertDir(certDir)
		Expect(err).To(MatchError(ContainSubstring("service-account signing key in " + certDir + " is unusable")))
	})
})
