package executor_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

var (
	trafficSplitGVK   = schema.GroupVersionKind{Group: "split.smi-spec.io", Version: "v1alpha4", Kind: "TrafficSplit"}
	virtualServiceGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
	destRuleGVK       = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"}
)

// meshRollout is a canary Rollout with trafficManagement.
func meshRollout(ns, name, image string, extra string, traffic deployv1alpha1.TrafficManagement, steps ...deployv1alpha1.CanaryStep) *rolloutv1alpha1.Rollout {
	r := newRollout(ns, name, []string{servicesYAML(app) + extra, deploymentYAML(10, image, "")}, steps...)
	r.Spec.TrafficManagement = []deployv1alpha1.TrafficManagement{traffic}
	return r
}

// getObject reads an object of a kind.
func getObject(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	Expect(k8sClient.Get(ctx, objectKey(ns, name), u)).To(Succeed())
	return u
}

// splitWeights writes a TrafficSplit's weights as "<root>/<canary>".
func splitWeights(u *unstructured.Unstructured) string {
	w := executor.TrafficSplitWeights(u)
	return fmt.Sprintf("%d/%d", w[app], w[app+"-canary"])
}

// routeWeights writes a VirtualService route's weights as "<stable>/<canary>".
func routeWeights(u *unstructured.Unstructured) string {
	http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
	w := executor.RouteWeights(http, "primary")
	return fmt.Sprintf("%d/%d", w["stable"], w["canary"])
}

// subsetVersions writes the versions a DestinationRule's subsets select as "<stable>/<canary>".
func subsetVersions(u *unstructured.Unstructured) string {
	subsets, _, _ := unstructured.NestedSlice(u.Object, "spec", "subsets")
	stable, _ := executor.SubsetLabels(subsets, "stable")
	canary, _ := executor.SubsetLabels(subsets, "canary")
	return stable[executor.VersionLabel] + "/" + canary[executor.VersionLabel]
}

var _ = Describe("Canary traffic management", func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(time.Minute)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})
	steps := []deployv1alpha1.CanaryStep{setWeight(25), setWeight(50), pauseUntilApproved()}

	It("splits traffic with an SMI TrafficSplit that follows each step, ends on the new version, and goes back on rollback", func(ctx SpecContext) {
		ns := newNamespace(ctx, "smi")
		smi := deployv1alpha1.TrafficManagement{SMI: []deployv1alpha1.SMITrafficManagement{{RootServiceName: app}}}

		By("a first deployment: the root Service, a canary Service made for it and the TrafficSplit on v1")
		r := meshRollout(ns, "v1", "potato-facts:v1", "", smi, steps...)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseSucceeded)
		v1 := r.Status.CanaryRevision
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(v1)))
		Expect(selectorOf(ctx, ns, app+"-canary")).To(Equal(pinned(v1)))
		ts := getObject(ctx, trafficSplitGVK, ns, app)
		Expect(ts.Object["spec"]).To(HaveKeyWithValue("service", app))
		Expect(splitWeights(ts)).To(Equal("100/0"))
		weights := recordHistory(ctx, trafficSplitGVK, ns, app, splitWeights)
		root := recordHistory(ctx, serviceGVK, ns, app, selectedVersion)

		By("a canary 25 → 50 → approval → 100: the weights follow the steps, the stable version keeps its pods")
		r = meshRollout(ns, "v2", "potato-facts:v2", "", smi, steps...)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		v2 := r.Status.CanaryRevision
		Expect(r.Status.Weight).To(BeEquivalentTo(50))
		Expect(splitWeights(getObject(ctx, trafficSplitGVK, ns, app))).To(Equal("50/50"))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(v1)), "the root Service selects the stable version")
		Expect(selectorOf(ctx, ns, app+"-canary")).To(Equal(pinned(v2)), "the canary Service selects the new version")
		Expect(podsOf(ctx, ns, v2)).To(Equal(podCount{Total: 5, Ready: 5}))
		Expect(podsOf(ctx, ns, v1)).To(Equal(podCount{Total: 10, Ready: 10}), "with a mesh the weight moves traffic, not the stable version's pods")
		decide(ctx, key, "ok", "steps[2]", deployv1alpha1.DecisionApprove)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Eventually(func() podCount { return podsOf(ctx, ns, v1) }).Should(Equal(podCount{}))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(v2)))
		Eventually(weights.history).Should(Equal([]string{"100/0", "75/25", "50/50", "0/100", "100/0"}),
			"25%, 50%, all to the canary Service, then all to the root Service once it selects the new version")
		Expect(root.history()).To(Equal([]string{v1, v2}))

		By("a rejected canary goes back to the stable version")
		r = meshRollout(ns, "v3", "potato-facts:v3", "", smi, steps...)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key = client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		v3 := r.Status.CanaryRevision
		Expect(splitWeights(getObject(ctx, trafficSplitGVK, ns, app))).To(Equal("50/50"))
		decide(ctx, key, "no", "", deployv1alpha1.DecisionReject)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseRolledBack)
		Expect(splitWeights(getObject(ctx, trafficSplitGVK, ns, app))).To(Equal("100/0"))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(v2)))
		Eventually(func() podCount { return podsOf(ctx, ns, v3) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, v2)).To(Equal(podCount{Total: 10, Ready: 10}))
	}, SpecTimeout(3*time.Minute))

	It("splits traffic with Istio VirtualService weights and DestinationRule subsets by version", func(ctx SpecContext) {
		ns := newNamespace(ctx, "istio")
		mesh := fmt.Sprintf(`---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: %[1]s}
spec:
  host: %[1]s
  subsets:
  - name: stable
    labels: {app: %[1]s}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: %[1]s}
spec:
  hosts: [%[1]s]
  http:
  - name: primary
    route:
    - destination: {host: %[1]s, subset: stable}
      weight: 100
`, app)
		istio := deployv1alpha1.TrafficManagement{Istio: []deployv1alpha1.IstioTrafficManagement{{
			VirtualService:  deployv1alpha1.IstioVirtualService{Name: app, HTTPRouteName: "primary"},
			DestinationRule: deployv1alpha1.IstioDestinationRule{Name: app},
		}}}

		r := meshRollout(ns, "v1", "potato-facts:v1", mesh, istio, steps...)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseSucceeded)
		v1 := r.Status.CanaryRevision
		Expect(subsetVersions(getObject(ctx, destRuleGVK, ns, app))).To(Equal(v1 + "/" + v1))
		Expect(routeWeights(getObject(ctx, virtualServiceGVK, ns, app))).To(Equal("100/0"))
		weights := recordHistory(ctx, virtualServiceGVK, ns, app, routeWeights)
		subsets := recordHistory(ctx, destRuleGVK, ns, app, subsetVersions)

		r = meshRollout(ns, "v2", "potato-facts:v2", mesh, istio, steps...)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		v2 := r.Status.CanaryRevision
		Expect(routeWeights(getObject(ctx, virtualServiceGVK, ns, app))).To(Equal("50/50"))
		Expect(subsetVersions(getObject(ctx, destRuleGVK, ns, app))).To(Equal(v1 + "/" + v2))
		Expect(podsOf(ctx, ns, v1)).To(Equal(podCount{Total: 10, Ready: 10}))
		decide(ctx, key, "ok", "", deployv1alpha1.DecisionApprove)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Eventually(weights.history).Should(Equal([]string{"100/0", "75/25", "50/50", "0/100", "100/0"}))
		Expect(subsets.history()).To(Equal([]string{v1 + "/" + v1, v1 + "/" + v2, v2 + "/" + v2}))
		vs := getObject(ctx, virtualServiceGVK, ns, app)
		hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
		Expect(hosts).To(Equal([]string{app}), "the rest of the VirtualService is the manifest's")

		By("a rollback Judgment during the pause goes back to the stable version")
		r = meshRollout(ns, "v3", "potato-facts:v3", mesh, istio, steps...)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key = client.ObjectKeyFromObject(r)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		Expect(routeWeights(getObject(ctx, virtualServiceGVK, ns, app))).To(Equal("50/50"))
		decide(ctx, key, "undo", "", deployv1alpha1.DecisionRollback)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseRolledBack)
		Expect(routeWeights(getObject(ctx, virtualServiceGVK, ns, app))).To(Equal("100/0"))
		Expect(subsetVersions(getObject(ctx, destRuleGVK, ns, app))).To(HavePrefix(v2+"/"), "the stable subset still selects v2")
		Expect(podsOf(ctx, ns, v2)).To(Equal(podCount{Total: 10, Ready: 10}))
	}, SpecTimeout(3*time.Minute))

	It("rolls back with a message naming the field when the VirtualService does not exist", func(ctx SpecContext) {
		ns := newNamespace(ctx, "istio-missing")
		stable := deployFirstVersion(ctx, ns, 2, "potato-facts:v1")
		istio := deployv1alpha1.TrafficManagement{Istio: []deployv1alpha1.IstioTrafficManagement{{
			VirtualService: deployv1alpha1.IstioVirtualService{Name: "nope"}, DestinationRule: deployv1alpha1.IstioDestinationRule{Name: "nope"},
		}}}
		r := meshRollout(ns, "v2", "potato-facts:v2", "", istio, setWeight(50))
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseRolledBack)
		Expect(r.Status.Message).To(ContainSubstring("trafficManagement istio destinationRule nope: no DestinationRule nope in namespace " + ns))
		Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 2, Ready: 2}))
	}, SpecTimeout(2*time.Minute))
})
