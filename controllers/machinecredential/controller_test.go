package machinecredential_test

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/internal/clientsecret"
)

func newNamespace(ctx SpecContext) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "creds-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func readyCredential(ctx SpecContext, mc *iamv1alpha1.MachineCredential) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(mc.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
		g.Expect(mc.Status.ObservedGeneration).To(Equal(mc.Generation))
	}).WithContext(ctx).Should(Succeed())
}

func clientSecretOf(ctx SpecContext, mc *iamv1alpha1.MachineCredential) (id, secret string) {
	GinkgoHelper()
	s := &corev1.Secret{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: mc.Namespace, Name: machinecredential.SecretName(mc.Name)}, s)).To(Succeed())
	return string(s.Data[machinecredential.ClientIDKey]), string(s.Data[machinecredential.ClientSecretKey])
}

var _ = Describe("MachineCredential controller", func() {
	It("issues a client id and secret, writes the secret once and keeps only its hash", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: "ci", Namespace: ns},
			Spec: iamv1alpha1.MachineCredentialSpec{Scopes: []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}}}
		Expect(k8sClient.Create(ctx, mc)).To(Succeed())
		readyCredential(ctx, mc)

		Expect(mc.Status.ClientID).To(HaveLen(24))
		Expect(mc.Status.SecretName).To(Equal("ci-client-secret"))
		Expect(mc.Status.SecretHashes).To(HaveLen(1))
		id, secret := clientSecretOf(ctx, mc)
		Expect(id).To(Equal(mc.Status.ClientID))
		Expect(clientsecret.Verify(mc.Status.SecretHashes[0].Hash, secret)).To(BeTrue())
		statusJSON, err := json.Marshal(mc.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(statusJSON)).NotTo(ContainSubstring(secret), "the plaintext secret never reaches the status")

		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: mc.Status.SecretName}, s)).To(Succeed())
		Expect(metav1.IsControlledBy(s, mc)).To(BeTrue(), "the Secret is owned by the credential and goes with it")

		By("not issuing again on later reconciles, nor bringing back a Secret the user deleted after reading it")
		Expect(k8sClient.Delete(ctx, s)).To(Succeed())
		mc.Spec.Description = "touched"
		Expect(k8sClient.Update(ctx, mc)).To(Succeed())
		readyCredential(ctx, mc)
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
			g.Expect(mc.Status.SecretHashes).To(HaveLen(1))
			g.Expect(clientsecret.Verify(mc.Status.SecretHashes[0].Hash, secret)).To(BeTrue())
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: mc.Status.SecretName}, &corev1.Secret{})).NotTo(Succeed())
	})

	It("rotates on request, keeping the old secret valid for the grace period", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
			Spec: iamv1alpha1.MachineCredentialSpec{Scopes: []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}}}
		Expect(k8sClient.Create(ctx, mc)).To(Succeed())
		readyCredential(ctx, mc)
		_, oldSecret := clientSecretOf(ctx, mc)

		mc.Spec.RotationRequest = "2026-11-30"
		mc.Spec.RotationGracePeriod = &metav1.Duration{Duration: 10 * time.Minute}
		Expect(k8sClient.Update(ctx, mc)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
			g.Expect(mc.Status.ObservedRotationRequest).To(Equal("2026-11-30"))
		}).WithContext(ctx).Should(Succeed())
		readyCredential(ctx, mc)
		_, newSecret := clientSecretOf(ctx, mc)
		Expect(newSecret).NotTo(Equal(oldSecret))
		Expect(mc.Status.SecretHashes).To(HaveLen(2))
		var current, retired *iamv1alpha1.SecretHash
		for i := range mc.Status.SecretHashes {
			if h := &mc.Status.SecretHashes[i]; h.ValidUntil == nil {
				current = h
			} else {
				retired = h
			}
		}
		Expect(current).NotTo(BeNil())
		Expect(retired).NotTo(BeNil())
		Expect(clientsecret.Verify(current.Hash, newSecret)).To(BeTrue())
		Expect(clientsecret.Verify(retired.Hash, oldSecret)).To(BeTrue())
		Expect(retired.ValidUntil.Time).To(BeTemporally("~", time.Now().Add(10*time.Minute), time.Minute))
	})

	It("marks a credential past its expiry as stalled and expired", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		expiresAt := metav1.NewTime(time.Now().Add(3 * time.Second).Truncate(time.Second))
		mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: "short-lived", Namespace: ns},
			Spec: iamv1alpha1.MachineCredentialSpec{Scopes: []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}, ExpiresAt: &expiresAt}}
		Expect(k8sClient.Create(ctx, mc)).To(Succeed())
		readyCredential(ctx, mc)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(mc.Status.Conditions, meta.StalledCondition)).To(BeTrue())
		}).WithContext(ctx).WithTimeout(15*time.Second).Should(Succeed(), "the controller looks again when the credential expires")
		ready := apimeta.FindStatusCondition(mc.Status.Conditions, meta.ReadyCondition)
		Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		Expect(ready.Reason).To(Equal(iamv1alpha1.ExpiredReason))
		Expect(ready.Message).To(ContainSubstring("spec.expiresAt"))
	})
})
