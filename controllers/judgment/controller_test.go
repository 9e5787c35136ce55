package judgment_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/judgment"
)

// runningDeployment creates a started Deployment of one target, prod, whose Rollout waits for an
// approval at steps[1] that requires the sre role. It writes the statuses the Deployment
// controller and the executor would have written; neither runs in this suite.
func runningDeployment(ctx SpecContext, ns string) *deployv1alpha1.Deployment {
	GinkgoHelper()
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n"
	d := &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1"},
		Spec: deployv1alpha1.DeploymentSpec{
			Application: "web",
			Targets:     map[string]deployv1alpha1.Target{"prod": {Account: "prod", Strategy: "canary"}},
			Manifests:   []deployv1alpha1.Manifest{{Inline: manifest}},
			Strategies: map[string]deployv1alpha1.Strategy{"canary": {Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
				{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 50}},
				{Pause: &deployv1alpha1.PauseStep{UntilApproved: true, RequiresRoles: []string{"sre"}}},
			}}}},
		},
	}
	Expect(k8sClient.Create(ctx, d)).To(Succeed())
	d.Status.State = deployv1alpha1.StateAwaitingApproval
	d.Status.StartedAt = &metav1.Time{Time: time.Now()}
	Expect(k8sClient.Status().Update(ctx, d)).To(Succeed())

	ro := &rolloutv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: deployment.RolloutName(d.Name, "prod"),
			Labels: map[string]string{rolloutv1alpha1.DeploymentLabel: d.Name, rolloutv1alpha1.TargetLabel: "prod"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: deployv1alpha1.GroupVersion.String(), Kind: "Deployment",
				Name: d.Name, UID: d.UID, Controller: ptr.To(true)}}},
		Spec: rolloutv1alpha1.RolloutSpec{DeploymentName: d.Name, Application: "web", Target: "prod", Account: "prod",
			Manifests: []string{manifest}, Strategy: d.Spec.Strategies["canary"]},
	}
	Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	ro.Status.Phase, ro.Status.WaitingFor = rolloutv1alpha1.PhaseAwaitingApproval, "steps[1]"
	Expect(k8sClient.Status().Update(ctx, ro)).To(Succeed())
	return d
}

func newNamespace(ctx SpecContext) string {
	GinkgoHelper()
	ns := fmt.Sprintf("tenant-%d", rand.IntN(1_000_000))
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	return ns
}

func newReconciler() *judgment.Reconciler {
	return &judgment.Reconciler{Client: k8sClient, APIReader: k8sClient}
}

func reconcile(ctx SpecContext, r *judgment.Reconciler, j *deployv1alpha1.Judgment) error {
	_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(j)})
	return err
}

var _ = Describe("Judgment controller", func() {
	It("commits a verdict exactly once, when two replicas race and after a restart", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		d := runningDeployment(ctx, ns)
		j := &deployv1alpha1.Judgment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lgtm", Annotations: map[string]string{judgment.AuthorRolesAnnotation: "sre"}},
			Spec:       deployv1alpha1.JudgmentSpec{DeploymentName: d.Name, Target: "prod", Decision: deployv1alpha1.DecisionApprove, Author: "jane"},
		}
		Expect(k8sClient.Create(ctx, j)).To(Succeed())

		By("racing two replicas on the new Judgment")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				errs[i] = reconcile(ctx, newReconciler(), j)
			}()
		}
		wg.Wait()
		Expect(errs).To(ContainElement(BeNil()), "one replica commits")
		for _, err := range errs {
			if err != nil {
				Expect(err.Error()).To(ContainSubstring("the object has been modified"), "the other loses on the optimistic lock")
			}
		}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
		ready := apimeta.FindStatusCondition(j.Status.Conditions, meta.ReadyCondition)
		Expect(ready).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", deployv1alpha1.ReasonApplied)))
		Expect(j.Status.AppliedTo).To(Equal([]string{"prod/steps[1]"}))
		Expect(j.OwnerReferences).To(ConsistOf(And(HaveField("UID", d.UID), HaveField("Kind", "Deployment"))))
		Expect(deployment.Accepted(j, d)).To(BeTrue())
		committed := j.DeepCopy()

		By("reconciling again with a fresh (restarted) controller")
		Expect(reconcile(ctx, newReconciler(), j)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
		Expect(j.ResourceVersion).To(Equal(committed.ResourceVersion), "nothing was written")
		Expect(j.Status.AppliedAt.Equal(committed.Status.AppliedAt)).To(BeTrue())
	}, SpecTimeout(time.Minute))

	It("enforces requiresRoles: Forbidden without a role, Applied for an admin", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		d := runningDeployment(ctx, ns)
		for _, tc := range []struct {
			name        string
			annotations map[string]string
			reason      string
		}{
			{"no-roles", nil, deployv1alpha1.ReasonForbidden},
			{"wrong-role", map[string]string{judgment.AuthorRolesAnnotation: "dev,qa"}, deployv1alpha1.ReasonForbidden},
			{"admin", map[string]string{judgment.AuthorAdminAnnotation: "true"}, deployv1alpha1.ReasonApplied},
		} {
			j := &deployv1alpha1.Judgment{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name, Annotations: tc.annotations},
				Spec:       deployv1alpha1.JudgmentSpec{DeploymentName: d.Name, Target: "prod", Gate: "steps[1]", Decision: deployv1alpha1.DecisionApprove, Author: tc.name},
			}
			Expect(k8sClient.Create(ctx, j)).To(Succeed())
			Expect(reconcile(ctx, newReconciler(), j)).To(Succeed())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
			Expect(apimeta.FindStatusCondition(j.Status.Conditions, meta.ReadyCondition)).To(HaveField("Reason", tc.reason), tc.name)
			if tc.reason == deployv1alpha1.ReasonForbidden {
				Expect(apimeta.IsStatusConditionTrue(j.Status.Conditions, meta.StalledCondition)).To(BeTrue())
				Expect(j.Status.AppliedTo).To(BeEmpty())
				Expect(j.OwnerReferences).To(BeEmpty())
				Expect(apimeta.FindStatusCondition(j.Status.Conditions, meta.ReadyCondition).Message).To(ContainSubstring("holds none of the roles sre"))
			}
			Expect(j.Status.ObservedGeneration).To(Equal(j.Generation))
		}
	}, SpecTimeout(time.Minute))
})
