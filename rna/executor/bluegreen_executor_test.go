package executor_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

var _ = Describe("Blue/green", func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(time.Minute)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	// bg is the strategy of the specs: an approval and a 1s pause before the switch, an approval
	// before the old version goes.
	bg := deployv1alpha1.BlueGreenStrategy{
		ActiveService: app, PreviewService: app + "-preview",
		RedirectTrafficAfter:    []deployv1alpha1.BlueGreenCondition{approvalCondition(), timedCondition(1)},
		ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{approvalCondition()},
	}
	manifests := func(image string) []string {
		return []string{servicesYAML(app, app+"-preview"), deploymentYAML(4, image, "")}
	}

	// deployBlue runs a first blue/green deployment and returns its version: it goes straight to
	// the new version, the active Service pinned to it.
	deployBlue := func(ctx SpecContext, ns string) string {
		GinkgoHelper()
		r := blueGreenRollout(ns, "blue", manifests("potato-facts:v1"), bg)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(1))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(r.Status.CanaryRevision)))
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 4, Ready: 4}))
		return r.Status.CanaryRevision
	}

	It("points the preview Service at the new version first, switches the active one on approval, then removes the old version", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bluegreen")
		blue := deployBlue(ctx, ns)
		activeSvc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, objectKey(ns, app), activeSvc)).To(Succeed())
		active := recordHistory(ctx, serviceGVK, ns, app, selectedVersion)

		r := blueGreenRollout(ns, "green", manifests("potato-facts:v2"), bg)
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		By("running the new version at full replicas beside the old one, the preview Service on it")
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		reportDuration("blue/green: Rollout created → new version Ready, preview on it, awaiting approval", time.Since(began))
		green := r.Status.CanaryRevision
		Expect(r.Status.StableRevision).To(Equal(blue))
		Expect(r.Status.WaitingFor).To(Equal("redirectTrafficAfter[0]"))
		Expect(r.Status.CurrentStep).To(BeEquivalentTo(2))
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(3))
		Expect(r.Status.Weight).To(BeEquivalentTo(0))
		Expect(podsOf(ctx, ns, green)).To(Equal(podCount{Total: 4, Ready: 4}))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
		Expect(selectorOf(ctx, ns, app+"-preview")).To(Equal(pinned(green)))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(blue)), "the active Service stays on the old version")
		Expect(r.Status.BlueGreen).NotTo(BeNil())
		Expect(r.Status.BlueGreen.ActiveVersion).To(Equal(blue))
		Expect(r.Status.BlueGreen.PreviewVersion).To(Equal(green))
		Expect(r.Status.BlueGreen.Conditions).To(HaveLen(3))
		Expect(r.Status.BlueGreen.Conditions[0]).To(And(HaveField("Gate", "redirectTrafficAfter[0]"), HaveField("Kind", "pause"), HaveField("State", rolloutv1alpha1.ConditionAwaitingApproval)))
		Expect(r.Status.BlueGreen.Conditions[2]).To(And(HaveField("Gate", "shutDownOldVersionAfter[0]"), HaveField("State", rolloutv1alpha1.ConditionPending)))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			g.Expect(r.Status.BlueGreen.Conditions[1]).To(HaveField("State", rolloutv1alpha1.ConditionPassed), "the 1s pause ran beside the approval")
		}).WithTimeout(10 * time.Second).Should(Succeed())
		Consistently(func() map[string]string { return selectorOf(ctx, ns, app) }).WithTimeout(time.Second).Should(Equal(pinned(blue)))

		By("approving the switch")
		decide(ctx, key, "switch", "redirectTrafficAfter[0]", deployv1alpha1.DecisionApprove)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			g.Expect(r.Status.WaitingFor).To(Equal("shutDownOldVersionAfter[0]"))
		}).Should(Succeed())
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseAwaitingApproval))
		Expect(r.Status.Weight).To(BeEquivalentTo(100))
		Expect(r.Status.CurrentStep).To(BeEquivalentTo(3))
		Expect(r.Status.BlueGreen.ActiveVersion).To(Equal(green))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(green)), "the active Service selects the new version")
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}), "the old version runs until its condition passes")

		By("switching by a server-side apply of the selector, never a recreate")
		after := &corev1.Service{}
		Expect(k8sClient.Get(ctx, objectKey(ns, app), after)).To(Succeed())
		Expect(after.UID).To(Equal(activeSvc.UID))
		Expect(after.Spec.ClusterIP).To(Equal(activeSvc.Spec.ClusterIP))
		Expect(after.Spec.Ports).To(Equal(activeSvc.Spec.Ports))
		Expect(after.ManagedFields).To(ContainElement(And(HaveField("Manager", executor.TrafficFieldManager), HaveField("Operation", BeEquivalentTo("Apply")))))

		By("approving the removal of the old version")
		decide(ctx, key, "shut-down", "shutDownOldVersionAfter[0]", deployv1alpha1.DecisionApprove)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Eventually(func() podCount { return podsOf(ctx, ns, blue) }).Should(Equal(podCount{}))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, blue), &appsv1.ReplicaSet{}))).To(BeTrue())
		Expect(podsOf(ctx, ns, green)).To(Equal(podCount{Total: 4, Ready: 4}))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(green)))
		Expect(r.Status.Weight).To(BeEquivalentTo(100))
		Expect(r.Status.CurrentStep).To(BeEquivalentTo(3))
		Expect(r.Status.BlueGreen.Conditions).To(HaveEach(HaveField("State", rolloutv1alpha1.ConditionPassed)))
		Expect(conditionReason(r, meta.ReadyCondition)).To(Equal("True/" + meta.SucceededReason))
		Expect(active.history()).To(Equal([]string{blue, green}), "the active Service moved once, at the approval")
	}, SpecTimeout(3*time.Minute))

	It("leaves the active Service untouched when rejected before the switch, and puts it back on a rollback after", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bluegreen-rollback")
		blue := deployBlue(ctx, ns)
		before := &corev1.Service{}
		Expect(k8sClient.Get(ctx, objectKey(ns, app), before)).To(Succeed())
		active := recordHistory(ctx, serviceGVK, ns, app, func(u *unstructured.Unstructured) string { return u.GetResourceVersion() })

		By("rejecting before the switch")
		r := blueGreenRollout(ns, "rejected", manifests("potato-facts:v2"), bg)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		rejected := r.Status.CanaryRevision
		Expect(selectorOf(ctx, ns, app+"-preview")).To(Equal(pinned(rejected)))
		decide(ctx, key, "no", "", deployv1alpha1.DecisionReject)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseRolledBack)
		Expect(r.Status.Message).To(Equal("rejected by decision no at redirectTrafficAfter[0]"))
		Expect(r.Status.BlueGreen.Conditions[0].State).To(Equal(rolloutv1alpha1.ConditionFailed))
		Eventually(func() podCount { return podsOf(ctx, ns, rejected) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
		after := &corev1.Service{}
		Expect(k8sClient.Get(ctx, objectKey(ns, app), after)).To(Succeed())
		Expect(after.Spec.Selector).To(Equal(pinned(blue)))
		Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "the active Service was not written at all")
		Expect(active.history()).To(Equal([]string{before.ResourceVersion}))
		Expect(selectorOf(ctx, ns, app+"-preview")).To(Equal(pinned(blue)), "the preview Service is back where it was")

		By("rolling back after the switch")
		r = blueGreenRollout(ns, "switched", manifests("potato-facts:v3"), bg)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key = client.ObjectKeyFromObject(r)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		decide(ctx, key, "go", "redirectTrafficAfter[0]", deployv1alpha1.DecisionApprove)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			g.Expect(r.Status.WaitingFor).To(Equal("shutDownOldVersionAfter[0]"))
		}).Should(Succeed())
		switched := r.Status.CanaryRevision
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(switched)))
		decide(ctx, key, "undo", "", deployv1alpha1.DecisionRollback)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseRolledBack)
		Expect(r.Status.Message).To(Equal("rolled back by decision undo at step 3/3"))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(blue)), "the active Service is back on the old version")
		Expect(r.Status.BlueGreen.ActiveVersion).To(Equal(blue))
		Eventually(func() podCount { return podsOf(ctx, ns, switched) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(3*time.Minute))

	It("continues after the executor restarts: passed conditions stay passed, an approval given while it was down acts", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bluegreen-restart")
		blue := deployBlue(ctx, ns)
		timed := bg
		timed.RedirectTrafficAfter = []deployv1alpha1.BlueGreenCondition{approvalCondition(), timedCondition(2)}
		timed.ShutDownOldVersionAfter = []deployv1alpha1.BlueGreenCondition{timedCondition(2)}
		r := blueGreenRollout(ns, "green", manifests("potato-facts:v2"), timed)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		green := r.Status.CanaryRevision
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			g.Expect(r.Status.BlueGreen.Conditions[1].State).To(Equal(rolloutv1alpha1.ConditionPassed))
		}).WithTimeout(10 * time.Second).Should(Succeed())

		By("stopping the executor and approving while it is down")
		start := restartExecutor()
		decide(ctx, key, "switch", "", deployv1alpha1.DecisionApprove)
		Consistently(func() map[string]string { return selectorOf(ctx, ns, app) }).WithTimeout(time.Second).Should(Equal(pinned(blue)))
		start()
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhasePaused)
		Expect(r.Status.WaitingFor).To(Equal("shutDownOldVersionAfter[0]"))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(green)))

		By("restarting again during the last timed pause")
		start = restartExecutor()
		time.Sleep(2500 * time.Millisecond)
		start()
		r = waitForPhase(ctx, key, 30*time.Second, rolloutv1alpha1.PhaseSucceeded)
		Expect(r.Status.CanaryRevision).To(Equal(green))
		Eventually(func() podCount { return podsOf(ctx, ns, blue) }).Should(Equal(podCount{}))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(green)))
	}, SpecTimeout(3*time.Minute))

	It("lists the preview links of an exposeServices condition when its group starts, and passes it at once", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bluegreen-expose")
		blue := deployBlue(ctx, ns)
		exposing := deployv1alpha1.BlueGreenStrategy{
			ActiveService: app, PreviewService: app + "-preview",
			RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{approvalCondition(),
				{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{app + "-preview"}, TTL: &deployv1alpha1.Timeout{Duration: 30, Unit: deployv1alpha1.Minutes}}}},
			ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{{ExposeServices: &deployv1alpha1.ExposeServicesStep{Services: []string{app}}}},
		}
		r := blueGreenRollout(ns, "green", manifests("potato-facts:v2"), exposing)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		By("starting the redirectTrafficAfter group: a preview of the preview Service, the condition passed beside the approval")
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		started := time.Now()
		Expect(r.Status.WaitingFor).To(Equal("redirectTrafficAfter[0]"))
		Expect(r.Status.Previews).To(ConsistOf(And(HaveField("Service", app+"-preview"), HaveField("Namespace", ns),
			HaveField("Step", "redirectTrafficAfter[1]"), HaveField("URL", ""))), "no Hub signs links in this suite")
		Expect(r.Status.Previews[0].ExpiresAt.Time).To(BeTemporally("~", started.Add(30*time.Minute), time.Minute))
		Expect(r.Status.BlueGreen.Conditions).To(HaveLen(3))
		Expect(r.Status.BlueGreen.Conditions[1]).To(And(HaveField("Gate", "redirectTrafficAfter[1]"), HaveField("Kind", "exposeServices"),
			HaveField("State", rolloutv1alpha1.ConditionPassed), HaveField("Message", "preview links to "+app+"-preview for 30m")))
		Expect(r.Status.BlueGreen.Conditions[2]).To(HaveField("State", rolloutv1alpha1.ConditionPending))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(blue)), "an exposeServices condition does not switch the active Service alone")

		By("approving the switch: the shutDownOldVersionAfter group's preview is listed too, and the old version goes")
		decide(ctx, key, "switch", "redirectTrafficAfter[0]", deployv1alpha1.DecisionApprove)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Expect(r.Status.Previews).To(HaveLen(2))
		Expect(r.Status.Previews[1]).To(And(HaveField("Service", app), HaveField("Step", "shutDownOldVersionAfter[0]")))
		Expect(r.Status.Previews[1].ExpiresAt.Time).To(BeTemporally("~", time.Now().Add(executor.DefaultPreviewTTL), time.Minute))
		Expect(r.Status.BlueGreen.Conditions).To(HaveEach(HaveField("State", rolloutv1alpha1.ConditionPassed)))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(r.Status.CanaryRevision)))
		Eventually(func() podCount { return podsOf(ctx, ns, blue) }).Should(Equal(podCount{}))
	}, SpecTimeout(3*time.Minute))

	It("rolls back a blue/green whose active Service does not exist, naming it", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bluegreen-missing")
		blue := deployBlue(ctx, ns)
		missing := bg
		missing.ActiveService = "nowhere"
		r := blueGreenRollout(ns, "missing", manifests("potato-facts:v2"), missing)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseRolledBack)
		Expect(r.Status.Message).To(ContainSubstring("activeService nowhere: no Service nowhere in namespace " + ns))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(2*time.Minute))

	It("refuses a blue/green without an active Service", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bluegreen-refused")
		r := blueGreenRollout(ns, "no-active", manifests("potato-facts:v1"), deployv1alpha1.BlueGreenStrategy{PreviewService: "p"})
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 30*time.Second, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Message).To(ContainSubstring("blueGreen needs an activeService"))
		Expect(conditionReason(r, meta.StalledCondition)).To(Equal("True/" + executor.ReasonUnsupported))

	}, SpecTimeout(2*time.Minute))
})
