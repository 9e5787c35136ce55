package tenant_test

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/controllers/tenant"
)

func kstatusOf(obj client.Object) status.Status {
	GinkgoHelper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

var _ = Describe("Tenant controller", func() {
	It("gives a tenant its own labelled namespace and the components' RBAC, and deletes them with it", func(ctx SpecContext) {
		tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme-prod"},
			Spec: iamv1alpha1.TenantSpec{Organization: "acme", Environment: "prod", DisplayName: "ACME production"}}
		Expect(k8sClient.Create(ctx, tn)).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
		Expect(tn.Status.Namespace).To(Equal("aurora-acme-prod"))
		Expect(tn.Status.ObservedGeneration).To(Equal(tn.Generation))
		Expect(tn.Finalizers).To(ContainElement(tenant.Finalizer))
		Expect(kstatusOf(tn)).To(Equal(status.CurrentStatus))

		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "aurora-acme-prod"}, ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue(iamv1alpha1.TenantLabel, "acme-prod"))
		Expect(ns.Labels).To(HaveKeyWithValue(iamv1alpha1.OrganizationLabel, "acme"))
		Expect(ns.Labels).To(HaveKeyWithValue(iamv1alpha1.EnvironmentLabel, "prod"))
		role := &rbacv1.Role{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "aurora-acme-prod", Name: tenant.ComponentsRoleName}, role)).To(Succeed())
		Expect(role.Rules).To(ContainElement(HaveField("Resources", ContainElement("rollouts"))))
		rb := &rbacv1.RoleBinding{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "aurora-acme-prod", Name: tenant.ComponentsRoleName}, rb)).To(Succeed())
		Expect(rb.Subjects).To(ConsistOf(HaveField("Name", "aurora-hub")))

		By("putting back what someone removed")
		Expect(k8sClient.Delete(ctx, rb)).To(Succeed())
		ns.Labels["extra"] = "touch" // an event on the namespace re-runs the reconcile
		Expect(k8sClient.Update(ctx, ns)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, types.NamespacedName{Namespace: "aurora-acme-prod", Name: tenant.ComponentsRoleName}, &rbacv1.RoleBinding{})
		}).WithContext(ctx).Should(Succeed())

		By("deleting the tenant")
		Expect(k8sClient.Delete(ctx, tn)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, types.NamespacedName{Name: "aurora-acme-prod"}, &corev1.Namespace{}))
		}).WithContext(ctx).WithTimeout(90*time.Second).Should(BeTrue(), "the namespace is deleted")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(tn), &iamv1alpha1.Tenant{}))
		}).WithContext(ctx).Should(BeTrue(), "the finalizer is removed once the namespace is gone")
	}, SpecTimeout(3*time.Minute))

	It("stalls, touching nothing, when the namespace belongs to something else", func(ctx SpecContext) {
		foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-globex-prod", Labels: map[string]string{"team": "globex"}}}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "globex-prod"},
			Spec: iamv1alpha1.TenantSpec{Organization: "globex", Environment: "prod"}}
		Expect(k8sClient.Create(ctx, tn)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
		ready := apimeta.FindStatusCondition(tn.Status.Conditions, meta.ReadyCondition)
		Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		Expect(ready.Reason).To(Equal(iamv1alpha1.NamespaceConflictReason))
		Expect(ready.Message).To(ContainSubstring("namespace aurora-globex-prod exists and does not belong to an Aurora tenant"))
		Expect(kstatusOf(tn)).To(Equal(status.FailedStatus))

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
		Expect(foreign.Labels).To(Equal(map[string]string{"team": "globex", "kubernetes.io/metadata.name": "aurora-globex-prod"}))

		By("deleting the tenant leaves the foreign namespace alone")
		Expect(k8sClient.Delete(ctx, tn)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(tn), &iamv1alpha1.Tenant{}))
		}).WithContext(ctx).Should(BeTrue())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), foreign)).To(Succeed())
		Expect(foreign.DeletionTimestamp).To(BeNil())
	}, SpecTimeout(2*time.Minute))
})
