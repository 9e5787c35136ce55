package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

// services are Services of the application, one per name, selecting all its pods.
func services(application string, names ...string) string {
	var out strings.Builder
	for _, n := range names {
		fmt.Fprintf(&out, "---\napiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {app: %s}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n", n, application)
	}
	return out.String()
}

// blueGreen is a blue/green strategy whose active and preview Services are <app> and
// <app>-preview, an approval before the switch and one before the old version goes.
func blueGreen(application string) deployv1alpha1.Strategy {
	approval := deployv1alpha1.BlueGreenCondition{Pause: &deployv1alpha1.PauseStep{UntilApproved: true}}
	return deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{
		ActiveService: application, PreviewService: application + "-preview",
		RedirectTrafficAfter:    []deployv1alpha1.BlueGreenCondition{approval},
		ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{approval},
	}}
}

// versionOf returns the version (deploy.aurora.dev/version) of the pods of an image tag.
func versionOf(ctx context.Context, target, application, tag string) string {
	GinkgoHelper()
	pods := &corev1.PodList{}
	Expect(env.Targets[target].Client.List(ctx, pods, client.InNamespace(application), client.MatchingLabels{"app": application})).To(Succeed())
	for _, p := range pods.Items {
		if strings.HasSuffix(p.Spec.Containers[0].Image, ":"+tag) {
			return p.Labels[executor.VersionLabel]
		}
	}
	Fail("no pod of " + application + ":" + tag + " in " + target)
	return ""
}

// selects returns the version a Service of a target selects ("" for every version).
func selects(ctx context.Context, target, namespace, name string) string {
	GinkgoHelper()
	svc := &corev1.Service{}
	Expect(env.Targets[target].Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, svc)).To(Succeed())
	return svc.Spec.Selector[executor.VersionLabel]
}

var _ = Describe("Blue/green and traffic management", func() {
	It("previews the new version, switches the active Service on approval, removes the old version on the next, and rolls back a rejected one", func(ctx SpecContext) {
		const application = "bg-app"
		manifest := func(tag string) string {
			return app(application, tag, 4, false) + services(application, application, application+"-preview")
		}

		By("a first deployment goes straight to the new version")
		v1 := deployment("bg-v1", application, manifest("v1"), blueGreen(application), "staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		blue := versionOf(ctx, "staging", application, "v1")
		Expect(selects(ctx, "staging", application, application)).To(Equal(blue))

		By("the next runs beside it, the preview Service on the new version, the active one on the old")
		v2 := deployment("bg-v2", application, manifest("v2"), blueGreen(application), "staging")
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitPending(ctx, v2, "staging", "redirectTrafficAfter[0]")
		expectPods(ctx, "staging", application, map[string]int{"v1": 4, "v2": 4})
		green := versionOf(ctx, "staging", application, "v2")
		Expect(selects(ctx, "staging", application, application+"-preview")).To(Equal(green))
		Expect(selects(ctx, "staging", application, application)).To(Equal(blue))
		Expect(targetStatus(v2, "staging").State).To(Equal(deployv1alpha1.StateAwaitingApproval))
		Eventually(func(g Gomega) {
			rollouts := &rolloutv1alpha1.RolloutList{}
			g.Expect(env.CloudClient.List(ctx, rollouts, client.InNamespace(env.TenantNamespace), client.MatchingLabels{rolloutv1alpha1.DeploymentLabel: "bg-v2"})).To(Succeed())
			g.Expect(rollouts.Items).To(HaveLen(1))
			bg := rollouts.Items[0].Status.BlueGreen
			g.Expect(bg).NotTo(BeNil(), "the cloud Rollout mirrors status.blueGreen")
			g.Expect(bg.ActiveVersion).To(Equal(blue))
			g.Expect(bg.PreviewVersion).To(Equal(green))
			g.Expect(bg.Conditions).To(ConsistOf(
				And(HaveField("Gate", "redirectTrafficAfter[0]"), HaveField("State", rolloutv1alpha1.ConditionAwaitingApproval)),
				And(HaveField("Gate", "shutDownOldVersionAfter[0]"), HaveField("State", rolloutv1alpha1.ConditionPending))))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())

		By("approving the switch")
		judge(ctx, v2, "staging", "redirectTrafficAfter[0]", deployv1alpha1.DecisionApprove)
		waitPending(ctx, v2, "staging", "shutDownOldVersionAfter[0]")
		Expect(selects(ctx, "staging", application, application)).To(Equal(green))
		expectPods(ctx, "staging", application, map[string]int{"v1": 4, "v2": 4})
		Expect(targetStatus(v2, "staging").Weight).To(BeEquivalentTo(100))

		By("approving the removal of the old version")
		judge(ctx, v2, "staging", "shutDownOldVersionAfter[0]", deployv1alpha1.DecisionApprove)
		waitState(ctx, v2, deployv1alpha1.StateSucceeded, 2*time.Minute)
		expectPods(ctx, "staging", application, map[string]int{"v2": 4})
		Expect(selects(ctx, "staging", application, application)).To(Equal(green))

		By("rejecting the next before the switch: the active Service never leaves the stable version")
		v3 := deployment("bg-v3", application, manifest("v3"), blueGreen(application), "staging")
		Expect(env.CloudClient.Create(ctx, v3)).To(Succeed())
		waitPending(ctx, v3, "staging", "redirectTrafficAfter[0]")
		Expect(selects(ctx, "staging", application, application)).To(Equal(green))
		judge(ctx, v3, "staging", "redirectTrafficAfter[0]", deployv1alpha1.DecisionReject)
		waitState(ctx, v3, deployv1alpha1.StateRolledBack, 2*time.Minute)
		expectPods(ctx, "staging", application, map[string]int{"v2": 4})
		Expect(selects(ctx, "staging", application, application)).To(Equal(green))
	})

	It("weighs an SMI TrafficSplit at each canary step in the target cluster, and ends on the new version", func(ctx SpecContext) {
		const application = "smi-app"
		By("installing the SMI TrafficSplit CRD in prod, as a mesh would")
		_, err := envtest.InstallCRDs(env.Targets["prod"].Config, envtest.CRDInstallOptions{
			Paths: []string{filepath.Join("..", "testdata", "crds", "smi-trafficsplits.yaml")}, ErrorIfPathMissing: true})
		Expect(err).NotTo(HaveOccurred())
		traffic := []deployv1alpha1.TrafficManagement{{Targets: []string{"prod"}, SMI: []deployv1alpha1.SMITrafficManagement{{RootServiceName: application}}}}
		manifest := func(tag string) string { return app(application, tag, 4, false) + services(application, application) }
		weights := func() string {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplit"})
			if err := env.Targets["prod"].Client.Get(ctx, client.ObjectKey{Namespace: application, Name: application}, u); err != nil {
				return err.Error()
			}
			w := executor.TrafficSplitWeights(u)
			return fmt.Sprintf("%d/%d", w[application], w[application+"-canary"])
		}

		v1 := deployment("smi-v1", application, manifest("v1"), canary(100), "prod")
		v1.Spec.TrafficManagement = traffic
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		Eventually(weights).WithContext(ctx).Should(Equal("100/0"))

		v2 := deployment("smi-v2", application, manifest("v2"), canary(25, "pause", 100), "prod")
		v2.Spec.TrafficManagement = traffic
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitPending(ctx, v2, "prod", "steps[1]")
		Expect(weights()).To(Equal("75/25"))
		expectPods(ctx, "prod", application, map[string]int{"v1": 4, "v2": 1})
		Expect(selects(ctx, "prod", application, application)).To(Equal(versionOf(ctx, "prod", application, "v1")))
		judge(ctx, v2, "prod", "steps[1]", deployv1alpha1.DecisionApprove)
		waitState(ctx, v2, deployv1alpha1.StateSucceeded, 2*time.Minute)
		expectPods(ctx, "prod", application, map[string]int{"v2": 4})
		Expect(weights()).To(Equal("100/0"))
		Expect(selects(ctx, "prod", application, application)).To(Equal(versionOf(ctx, "prod", application, "v2")))
	})

	It("keeps the weight a pod ratio without a mesh", func(ctx SpecContext) {
		const application = "ratio-app"
		v1 := deployment("ratio-v1", application, app(application, "v1", 4, false)+services(application, application), canary(100), "staging")
		Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
		waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
		v2 := deployment("ratio-v2", application, app(application, "v2", 4, false)+services(application, application), canary(25, "pause", 100), "staging")
		v2.Spec.TrafficManagement = []deployv1alpha1.TrafficManagement{{Targets: []string{"prod"}, SMI: []deployv1alpha1.SMITrafficManagement{{RootServiceName: application}}}}
		Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
		waitPending(ctx, v2, "staging", "steps[1]")
		expectPods(ctx, "staging", application, map[string]int{"v1": 3, "v2": 1})
		Expect(selects(ctx, "staging", application, application)).To(BeEmpty(), "no mesh: the Service selects every version")
		judge(ctx, v2, "staging", "steps[1]", deployv1alpha1.DecisionApprove)
		waitState(ctx, v2, deployv1alpha1.StateSucceeded, 2*time.Minute)
		expectPods(ctx, "staging", application, map[string]int{"v2": 4})
	})
})
