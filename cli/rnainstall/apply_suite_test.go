package rnainstall

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/internal/testcluster"
)

// The agent's manifests, applied to a real kube-apiserver as `aurora agent install --apply` does.
var target *testcluster.Cluster

func TestApply(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Agent install suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	s := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(s)).To(Succeed())
	Expect(apiextensionsv1.AddToScheme(s)).To(Succeed())
	var err error
	target, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "rna-install", Scheme: s})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(target.Stop)
})

var _ = Describe("Apply", func() {
	It("creates every object of the agent with server-side apply, and applies again without change", func(ctx context.Context) {
		objs, err := Build(validOptions())
		Expect(err).NotTo(HaveOccurred())
		c, err := client.New(target.Config, client.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(Apply(ctx, c, objs)).To(Succeed())

		k := target.Client
		d := &appsv1.Deployment{}
		Expect(k.Get(ctx, types.NamespacedName{Namespace: DefaultNamespace, Name: "aurora-rna"}, d)).To(Succeed())
		Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/aurora-cd/aurora:dev"))
		Expect(d.ManagedFields).To(ContainElement(HaveField("Manager", FieldManager)))
		secret := &corev1.Secret{}
		Expect(k.Get(ctx, types.NamespacedName{Namespace: DefaultNamespace, Name: SecretName}, secret)).To(Succeed())
		Expect(string(secret.Data["client-secret"])).To(Equal("secret-1"))
		crd := &apiextensionsv1.CustomResourceDefinition{}
		Expect(k.Get(ctx, types.NamespacedName{Name: "rollouts.rollout.aurora.dev"}, crd)).To(Succeed())
		crb := &rbacv1.ClusterRoleBinding{}
		Expect(k.Get(ctx, types.NamespacedName{Name: "aurora-rna"}, crb)).To(Succeed())
		Expect(crb.Subjects).To(ConsistOf(HaveField("Namespace", DefaultNamespace)))

		generation := d.Generation
		Expect(Apply(ctx, c, objs)).To(Succeed())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		Expect(d.Generation).To(Equal(generation))

		// A new credential is applied over the old one.
		o := validOptions()
		o.ClientSecret = "secret-2"
		objs, err = Build(o)
		Expect(err).NotTo(HaveOccurred())
		Expect(Apply(ctx, c, objs)).To(Succeed())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
		Expect(string(secret.Data["client-secret"])).To(Equal("secret-2"))
	})
})
