package devenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aurora-cd/aurora/auth/users"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

func TestDevenv(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Embedded default suite")
}

var _ = Describe("The demo user", func() {
	It("is a tenant admin and deployer of the demo tenant, whose login credentials.json carries", func(ctx SpecContext) {
		cluster, err := testcluster.StartAPI(ctx, testcluster.Options{Name: "devenv-demo-user", Scheme: scheme.New(),
			CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(cluster.Stop)
		Expect(cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}})).To(Succeed())

		e := &Env{opts: Options{}.withDefaults(), Cloud: cluster, CloudClient: cluster.Client, TenantNamespace: "aurora-demo-dev"}
		Expect(e.createDemoUser(ctx)).To(Succeed())
		Expect(e.createDemoUser(ctx)).To(Succeed(), "again, as on a restart against the same cluster")

		id, err := users.NewDirectory(cluster.Client, systemNamespace).Authenticate(ctx, e.DemoUser.Username, e.DemoUser.Password)
		Expect(err).NotTo(HaveOccurred())
		p, err := id.Principal("")
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Namespace()).To(Equal("aurora-demo-dev"))
		Expect(p.Scopes).To(Equal([]string{"api:tenant:full", "api:deployment:full"}))

		e.CA, err = tlsutil.NewCA("devenv test CA", time.Hour)
		Expect(err).NotTo(HaveOccurred())
		dir := GinkgoT().TempDir()
		Expect(e.writeState(dir)).To(Succeed())
		var creds map[string]any
		Expect(json.Unmarshal(must(os.ReadFile(filepath.Join(dir, "credentials.json"))), &creds)).To(Succeed())
		Expect(creds).To(HaveKeyWithValue("user", "demo"))
		Expect(creds).To(HaveKeyWithValue("password", "aurora-demo-password"))
	}, NodeTimeout(5*time.Minute))
})

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}
