package executor_test

import (
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

var _ = Describe("Rollout executor", func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(time.Minute)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	It("runs a 10-replica canary 25 → 50 → pause until approved → 100 on top of a stable version", func(ctx SpecContext) {
		ns := newNamespace(ctx, "canary")
		stable := deployFirstVersion(ctx, ns, 10, "potato-facts:v1")
		rec := recordReplicaSets(ctx, ns)

		r := newRollout(ns, "second", []string{deploymentYAML(10, "potato-facts:v2", "")},
			setWeight(25), setWeight(50), pauseUntilApproved())
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		By("waiting for approval at steps[2] with 5 new and 5 stable pods")
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		canary := r.Status.CanaryRevision
		Expect(canary).To(HavePrefix(app + "-"))
		Expect(r.Status.WaitingFor).To(Equal("steps[2]"))
		Expect(r.Status.CurrentStep).To(BeEquivalentTo(3))
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(4))
		Expect(r.Status.Weight).To(BeEquivalentTo(50))
		Expect(r.Status.StableRevision).To(Equal(stable))
		Expect(conditionReason(r, meta.ReconcilingCondition)).To(Equal("True/" + executor.ReasonAwaitingApproval))
		Expect(kstatusOf(r)).To(Equal(status.InProgressStatus))
		Expect(podsOf(ctx, ns, canary)).To(Equal(podCount{Total: 5, Ready: 5}))
		Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 5, Ready: 5}))
		Eventually(func() []split { return rec.splits(canary, stable) }).Should(ContainElement(split{NewSpec: 3, NewReady: 3, StableSpec: 7, StablePods: 7}),
			"at weight 25: ceil(10×25/100) = 3 new pods Ready beside 7 stable ones")
		Expect(rec.splits(canary, stable)).To(ContainElement(split{NewSpec: 5, NewReady: 5, StableSpec: 5, StablePods: 5}))
		Consistently(func() rolloutv1alpha1.Phase {
			Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			return r.Status.Phase
		}).WithContext(ctx).WithTimeout(time.Second).Should(Equal(rolloutv1alpha1.PhaseAwaitingApproval))

		By("approving")
		decide(ctx, key, "approve-1", "steps[2]", deployv1alpha1.DecisionApprove)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Eventually(func() podCount { return podsOf(ctx, ns, canary) }).Should(Equal(podCount{Total: 10, Ready: 10}))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{}))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, stable), &appsv1.ReplicaSet{}))).To(BeTrue(), "the old version is removed")

		By("reporting the final status")
		Expect(r.Status.CurrentStep).To(BeEquivalentTo(4))
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(4))
		Expect(r.Status.Weight).To(BeEquivalentTo(100))
		Expect(r.Status.WaitingFor).To(BeEmpty())
		Expect(r.Status.StableRevision).To(Equal(stable))
		Expect(r.Status.CanaryRevision).To(Equal(canary))
		Expect(r.Status.Replicas).To(BeEquivalentTo(10))
		Expect(r.Status.ReadyReplicas).To(BeEquivalentTo(10))
		Expect(r.Status.UpdatedReplicas).To(BeEquivalentTo(10))
		Expect(r.Status.StartedAt).NotTo(BeNil())
		Expect(r.Status.FinishedAt).NotTo(BeNil())
		Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		Expect(r.Status.Message).To(ContainSubstring(canary))
		Expect(conditionReason(r, meta.ReadyCondition)).To(Equal("True/" + meta.SucceededReason))
		Expect(kstatusOf(r)).To(Equal(status.CurrentStatus))

		By("labelling, annotating and configuring the new version's workload and pods")
		rs := &appsv1.ReplicaSet{}
		Expect(k8sClient.Get(ctx, objectKey(ns, canary), rs)).To(Succeed())
		for _, labels := range []map[string]string{rs.Labels, rs.Spec.Template.Labels} {
			Expect(labels).To(HaveKeyWithValue(executor.ApplicationLabel, app))
			Expect(labels).To(HaveKeyWithValue(executor.DeploymentIDLabel, "second"))
			Expect(labels).To(HaveKeyWithValue(executor.EnvironmentLabel, "staging"))
			Expect(labels).To(HaveKeyWithValue(executor.VersionLabel, canary))
		}
		Expect(rs.Spec.Template.Annotations).To(HaveKeyWithValue(executor.DeploymentIDLabel, "second"))
		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{executor.VersionLabel: canary})).To(Succeed())
		Expect(pods.Items).NotTo(BeEmpty())
		Expect(pods.Items[0].Labels).To(HaveKeyWithValue("app", app))
		Expect(pods.Items[0].Spec.Containers[0].Env).To(ContainElements(
			corev1.EnvVar{Name: "GREETING", Value: "hello"},
			corev1.EnvVar{Name: executor.ApplicationEnv, Value: app},
			corev1.EnvVar{Name: executor.DeploymentIDEnv, Value: "second"},
			corev1.EnvVar{Name: executor.EnvironmentEnv, Value: "staging"},
			corev1.EnvVar{Name: executor.VersionEnv, Value: canary},
		))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, app), &appsv1.Deployment{}))).To(BeTrue(),
			"keepDeploymentObject: false leaves no apps/v1 Deployment")
	}, SpecTimeout(5*time.Minute))

	It("runs a 10-replica canary 33 → 66 → 100 with no pauses, timed against the anchor", func(ctx SpecContext) {
		ns := newNamespace(ctx, "timing")
		stable := deployFirstVersion(ctx, ns, 10, "potato-facts:v1")
		w, err := k8sClient.Watch(ctx, &rolloutv1alpha1.RolloutList{}, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()

		// Five canaries in a row, each on top of the one before, from Rollout creation until it is
		// Succeeded (seen by a watch) and until every old pod is gone.
		var toSucceeded, toOldGone []time.Duration
		for i := range 5 {
			r := newRollout(ns, fmt.Sprintf("timed-%d", i), []string{deploymentYAML(10, fmt.Sprintf("potato-facts:v%d", i+2), "")}, setWeight(33), setWeight(66))
			began := time.Now()
			Expect(k8sClient.Create(ctx, r)).To(Succeed())
			var succeeded *rolloutv1alpha1.Rollout
			for succeeded == nil {
				select {
				case ev := <-w.ResultChan():
					if got, ok := ev.Object.(*rolloutv1alpha1.Rollout); ok && got.Name == r.Name {
						Expect(got.Status.Phase).NotTo(BeElementOf(rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed), got.Status.Message)
						if got.Status.Phase == rolloutv1alpha1.PhaseSucceeded {
							succeeded = got
						}
					}
				case <-ctx.Done():
					Fail("the canary did not succeed")
				}
			}
			toSucceeded = append(toSucceeded, time.Since(began))
			Eventually(func() podCount { return podsOf(ctx, ns, stable) }).WithPolling(10 * time.Millisecond).Should(Equal(podCount{}))
			toOldGone = append(toOldGone, time.Since(began))
			Expect(succeeded.Status.TotalSteps).To(BeEquivalentTo(3))
			Expect(succeeded.Status.StableRevision).To(Equal(stable))
			Expect(podsOf(ctx, ns, succeeded.Status.CanaryRevision)).To(Equal(podCount{Total: 10, Ready: 10}))
			stable = succeeded.Status.CanaryRevision
		}
		reportDuration("10-replica canary 33 → 66 → 100, Rollout created → Succeeded (median of 5)", median(toSucceeded))
		reportDuration("10-replica canary 33 → 66 → 100, Rollout created → every old pod gone (median of 5)", median(toOldGone))
		GinkgoWriter.Printf("all runs: %v / %v\n", toSucceeded, toOldGone)
		AddReportEntry("10-replica canary runs (→ Succeeded)", fmt.Sprint(toSucceeded), ReportEntryVisibilityAlways)
	}, SpecTimeout(3*time.Minute))

	It("sends a first deployment straight to 100%", func(ctx SpecContext) {
		ns := newNamespace(ctx, "first")
		r := newRollout(ns, "first", []string{deploymentYAML(4, "potato-facts:v1", "")}, setWeight(25), pauseUntilApproved())
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Expect(r.Status.StableRevision).To(BeEmpty())
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(1))
		Expect(r.Status.CurrentStep).To(BeEquivalentTo(1))
		Expect(r.Status.Weight).To(BeEquivalentTo(100))
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(2*time.Minute))

	It("rolls back a version whose pods never become Ready, within the timeout", func(ctx SpecContext) {
		ns := newNamespace(ctx, "not-ready")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		r := withTimeout(newRollout(ns, "broken", []string{deploymentYAML(4, "potato-facts:broken", neverReady)}, setWeight(50)), 5)
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, 20*time.Second, rolloutv1alpha1.PhaseProgressing)
		canary := r.Status.CanaryRevision
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{Total: 2, Ready: 2}))

		r = waitForPhase(ctx, key, 30*time.Second, rolloutv1alpha1.PhaseRolledBack)
		took := time.Since(began)
		reportDuration("not Ready → RolledBack (timeout 5s)", took)
		Expect(took).To(BeNumerically(">=", 5*time.Second))
		Expect(r.Status.Message).To(Equal("new version " + canary + " not Ready within 5s: 0/2 Ready"))
		Expect(conditionReason(r, meta.StalledCondition)).To(Equal("True/" + executor.ReasonRolledBack))
		Expect(kstatusOf(r)).To(Equal(status.FailedStatus))
		Expect(r.Status.FinishedAt).NotTo(BeNil())
		Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 4, Ready: 4}), "the stable version is back at full replicas and Ready")
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, canary), &appsv1.ReplicaSet{}))).To(BeTrue())
		Eventually(func() podCount { return podsOf(ctx, ns, canary) }).Should(Equal(podCount{}))
	}, SpecTimeout(2*time.Minute))

	It("rolls back a first deployment that never becomes Ready, leaving nothing", func(ctx SpecContext) {
		ns := newNamespace(ctx, "first-broken")
		r := withTimeout(newRollout(ns, "broken", []string{deploymentYAML(3, "potato-facts:broken", neverReady)}), 3)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 30*time.Second, rolloutv1alpha1.PhaseRolledBack)
		Expect(r.Status.Message).To(Equal("new version " + r.Status.CanaryRevision + " not Ready within 3s: 0/3 Ready"))
		Expect(r.Status.StableRevision).To(BeEmpty())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, r.Status.CanaryRevision), &appsv1.ReplicaSet{}))).To(BeTrue())
	}, SpecTimeout(2*time.Minute))

	DescribeTable("acts on a decision during a pause until approved",
		func(ctx SpecContext, decision deployv1alpha1.Decision, phase rolloutv1alpha1.Phase, reason, message string) {
			ns := newNamespace(ctx, "decide-"+string(decision))
			stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
			r := newRollout(ns, "second", []string{deploymentYAML(4, "potato-facts:v2", "")}, setWeight(50), pauseUntilApproved(), setWeight(75))
			Expect(k8sClient.Create(ctx, r)).To(Succeed())
			key := client.ObjectKeyFromObject(r)
			r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
			canary := r.Status.CanaryRevision
			Expect(podsOf(ctx, ns, canary)).To(Equal(podCount{Total: 2, Ready: 2}))

			decide(ctx, key, "judgment-1", "", decision)
			r = waitForPhase(ctx, key, time.Minute, phase)
			Expect(r.Status.Message).To(Equal(message))
			Expect(conditionReason(r, meta.StalledCondition)).To(Equal("True/" + reason))
			Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 4, Ready: 4}))
			Eventually(func() podCount { return podsOf(ctx, ns, canary) }).Should(Equal(podCount{}))
		},
		Entry("rollback", deployv1alpha1.DecisionRollback, rolloutv1alpha1.PhaseRolledBack, executor.ReasonRolledBack, "rolled back by decision judgment-1 at step 2/4", SpecTimeout(2*time.Minute)),
		Entry("cancel", deployv1alpha1.DecisionCancel, rolloutv1alpha1.PhaseCancelled, executor.ReasonCancelled, "cancelled by decision judgment-1 at step 2/4", SpecTimeout(2*time.Minute)),
		Entry("reject", deployv1alpha1.DecisionReject, rolloutv1alpha1.PhaseRolledBack, executor.ReasonRolledBack, "rejected by decision judgment-1 at steps[1]", SpecTimeout(2*time.Minute)),
	)

	It("waits out a timed pause, and a skip decision ends one early", func(ctx SpecContext) {
		ns := newNamespace(ctx, "pause")
		deployFirstVersion(ctx, ns, 4, "potato-facts:v1")

		By("a pause of 3 seconds")
		r := newRollout(ns, "timed", []string{deploymentYAML(4, "potato-facts:v2", "")}, setWeight(50), pauseFor(3))
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhasePaused)
		pausedAt := time.Now()
		Expect(r.Status.WaitingFor).To(Equal("steps[1]"))
		Expect(r.Status.Message).To(ContainSubstring("paused for 3s"))
		Expect(conditionReason(r, meta.ReconcilingCondition)).To(Equal("True/" + executor.ReasonPaused))
		r = waitForPhase(ctx, key, 30*time.Second, rolloutv1alpha1.PhaseSucceeded)
		Expect(time.Since(pausedAt)).To(BeNumerically(">", 2*time.Second))
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 4, Ready: 4}))

		By("a pause of an hour, skipped")
		r = newRollout(ns, "skipped", []string{deploymentYAML(4, "potato-facts:v3", "")}, pauseFor(3600), setWeight(50))
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key = client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhasePaused)
		Expect(r.Status.Weight).To(BeEquivalentTo(0), "a pause at the very start counts as weight 0")
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{}))
		decide(ctx, key, "skip-1", "steps[0]", deployv1alpha1.DecisionSkip)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(3*time.Minute))

	It("continues a canary after the executor restarts", func(ctx SpecContext) {
		ns := newNamespace(ctx, "restart")
		stable := deployFirstVersion(ctx, ns, 10, "potato-facts:v1")
		r := newRollout(ns, "second", []string{deploymentYAML(10, "potato-facts:v2", "")},
			setWeight(20), pauseUntilApproved(), setWeight(60), pauseFor(2))
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		canary := r.Status.CanaryRevision
		startedAt := r.Status.StartedAt

		By("stopping the executor and approving while it is down")
		start := restartExecutor()
		decide(ctx, key, "approve-1", "", deployv1alpha1.DecisionApprove)
		Consistently(func() rolloutv1alpha1.Phase {
			Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			return r.Status.Phase
		}).WithContext(ctx).WithTimeout(time.Second).Should(Equal(rolloutv1alpha1.PhaseAwaitingApproval))

		By("starting a new executor")
		start()
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhasePaused)
		Expect(r.Status.CurrentStep).To(BeEquivalentTo(4))
		Expect(podsOf(ctx, ns, canary)).To(Equal(podCount{Total: 6, Ready: 6}))

		By("restarting again during the timed pause")
		start = restartExecutor()
		time.Sleep(2500 * time.Millisecond)
		start()
		r = waitForPhase(ctx, key, 30*time.Second, rolloutv1alpha1.PhaseSucceeded)
		Expect(r.Status.StartedAt.Time).To(BeTemporally("==", startedAt.Time), "the same execution continued")
		Expect(r.Status.CanaryRevision).To(Equal(canary))
		Expect(podsOf(ctx, ns, canary)).To(Equal(podCount{Total: 10, Ready: 10}))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{}))
	}, SpecTimeout(3*time.Minute))

	It("server-side applies the manifests' ConfigMaps and Services in the Rollout's namespace", func(ctx SpecContext) {
		ns := newNamespace(ctx, "objects")
		objects := `apiVersion: v1
kind: ConfigMap
metadata: {name: potato-facts-config, namespace: elsewhere}
data: {greeting: hello}
---
apiVersion: v1
kind: Service
metadata: {name: potato-facts}
spec:
  selector: {app: potato-facts}
  ports: [{port: 80, targetPort: 8080}]
`
		r := newRollout(ns, "objects", []string{objects, deploymentYAML(2, "potato-facts:v1", "")})
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseSucceeded)
		cm := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, objectKey(ns, "potato-facts-config"), cm)).To(Succeed())
		Expect(cm.Data).To(HaveKeyWithValue("greeting", "hello"))
		Expect(cm.ManagedFields).To(ContainElement(HaveField("Manager", executor.FieldManager)))
		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, objectKey(ns, "potato-facts"), svc)).To(Succeed())
		Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": app}))
	}, SpecTimeout(2*time.Minute))

	DescribeTable("refuses what it cannot run, before applying anything",
		func(ctx SpecContext, manifest string, steps []deployv1alpha1.CanaryStep, message string) {
			ns := newNamespace(ctx, "refused")
			// The ConfigMap beside the refused object must not be applied either.
			cfg := "{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg}}"
			r := newRollout(ns, "refused", []string{cfg, manifest, deploymentYAML(2, "potato-facts:v1", "")}, steps...)
			Expect(k8sClient.Create(ctx, r)).To(Succeed())
			r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 30*time.Second, rolloutv1alpha1.PhaseFailed)
			Expect(r.Status.Message).To(ContainSubstring(message))
			Expect(conditionReason(r, meta.StalledCondition)).To(Equal("True/" + executor.ReasonUnsupported))
			var rss appsv1.ReplicaSetList
			Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
			Expect(rss.Items).To(BeEmpty())
			Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, "cfg"), &corev1.ConfigMap{}))).To(BeTrue())
		},
		Entry("a bare ReplicaSet", "{apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: rs}}", nil,
			"bare ReplicaSets are not supported", SpecTimeout(time.Minute)),
		Entry("a bare Pod", "{apiVersion: v1, kind: Pod, metadata: {name: pod}}", nil,
			"bare Pods are not supported", SpecTimeout(time.Minute)),
	)

	It("rolls back when a manifest cannot be applied", func(ctx SpecContext) {
		ns := newNamespace(ctx, "apply-error")
		stable := deployFirstVersion(ctx, ns, 2, "potato-facts:v1")
		bad := "{apiVersion: v1, kind: Service, metadata: {name: bad}, spec: {ports: [{port: 0}]}}"
		r := newRollout(ns, "bad", []string{bad, deploymentYAML(2, "potato-facts:v2", "")}, setWeight(50))
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 30*time.Second, rolloutv1alpha1.PhaseRolledBack)
		Expect(r.Status.Message).To(ContainSubstring("applying Service bad"))
		Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 2, Ready: 2}))
	}, SpecTimeout(2*time.Minute))

	// FlakeAttempts: the handover races kube-controller-manager's informers now and then (it sees the
	// new Deployment before the version's new labels and makes a ReplicaSet of its own); see the
	// note in docs/rollout-executor.md. Remove once the handover waits for adoption.
	It("keeps an apps/v1 Deployment that owns the new version with keepDeploymentObject", FlakeAttempts(3), func(ctx SpecContext) {
		ns := newNamespace(ctx, "keep")
		first := newRollout(ns, "first", []string{deploymentYAML(3, "potato-facts:v1", "")})
		first.Spec.KeepDeploymentObject = true
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		first = waitForPhase(ctx, client.ObjectKeyFromObject(first), time.Minute, rolloutv1alpha1.PhaseSucceeded)
		v1 := first.Status.CanaryRevision
		d := &appsv1.Deployment{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, objectKey(ns, app), d)).To(Succeed())
			g.Expect(d.Status.ReadyReplicas).To(BeEquivalentTo(3))
			rs := &appsv1.ReplicaSet{}
			g.Expect(k8sClient.Get(ctx, objectKey(ns, v1), rs)).To(Succeed())
			g.Expect(rs.OwnerReferences).To(ContainElement(HaveField("UID", d.UID)), "the Deployment adopted the version")
		}).Should(Succeed())
		var rss appsv1.ReplicaSetList
		Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
		Expect(rss.Items).To(HaveLen(1), "the Deployment made no ReplicaSet of its own")
		Expect(podsOf(ctx, ns, v1)).To(Equal(podCount{Total: 3, Ready: 3}))

		By("a canary on top of the kept Deployment")
		second := newRollout(ns, "second", []string{deploymentYAML(3, "potato-facts:v2", "")}, setWeight(34), pauseUntilApproved())
		second.Spec.KeepDeploymentObject = true
		Expect(k8sClient.Create(ctx, second)).To(Succeed())
		key := client.ObjectKeyFromObject(second)
		second = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		Expect(second.Status.StableRevision).To(Equal(v1))
		Expect(podsOf(ctx, ns, second.Status.CanaryRevision)).To(Equal(podCount{Total: 2, Ready: 2}))
		Expect(podsOf(ctx, ns, v1)).To(Equal(podCount{Total: 1, Ready: 1}))
		decide(ctx, key, "ok", "", deployv1alpha1.DecisionApprove)
		second = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		v2 := second.Status.CanaryRevision
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, objectKey(ns, app), d)).To(Succeed())
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(executor.VersionLabel, v2))
			g.Expect(d.Status.ReadyReplicas).To(BeEquivalentTo(3))
			g.Expect(podsOf(ctx, ns, v1)).To(Equal(podCount{}))
			g.Expect(podsOf(ctx, ns, v2)).To(Equal(podCount{Total: 3, Ready: 3}))
			g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
			g.Expect(rss.Items).To(ConsistOf(HaveField("Name", v2)))
		}).Should(Succeed())
	}, SpecTimeout(3*time.Minute))
	It("takes over an apps/v1 Deployment made before Aurora as the stable version", func(ctx SpecContext) {
		ns := newNamespace(ctx, "adopt")
		u := &appsv1.Deployment{}
		Expect(yaml.Unmarshal([]byte(deploymentYAML(4, "potato-facts:kubectl", "")), u)).To(Succeed())
		u.Namespace = ns
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), u)).To(Succeed())
			g.Expect(u.Status.ReadyReplicas).To(BeEquivalentTo(4))
		}).Should(Succeed())

		r := newRollout(ns, "aurora", []string{deploymentYAML(4, "potato-facts:v2", "")}, setWeight(50), pauseUntilApproved())
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		Expect(r.Status.StableRevision).To(Equal(app), "the Deployment is the stable version")
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 2, Ready: 2}))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), u)).To(Succeed())
		Expect(*u.Spec.Replicas).To(BeEquivalentTo(2))
		Expect(u.Status.Replicas).To(BeEquivalentTo(2), "the Deployment did not adopt the new version")

		decide(ctx, key, "ok", "", deployv1alpha1.DecisionApprove)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), &appsv1.Deployment{}))).To(BeTrue(),
			"keepDeploymentObject: false turns the Deployment into managed ReplicaSets")
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
			running := 0
			for _, p := range pods.Items {
				if p.DeletionTimestamp.IsZero() {
					running++
					g.Expect(p.Labels).To(HaveKeyWithValue(executor.VersionLabel, r.Status.CanaryRevision))
				}
			}
			g.Expect(running).To(Equal(4))
		}).Should(Succeed())
	}, SpecTimeout(2*time.Minute))

	It("freezes an HPA that scales the application during the Rollout and gives it the new version at the end", func(ctx SpecContext) {
		ns := newNamespace(ctx, "hpa")
		stable := deployFirstVersion(ctx, ns, 3, "potato-facts:v1")
		By("an HPA that scaled the stable version to 6")
		rs := &appsv1.ReplicaSet{}
		Expect(k8sClient.Get(ctx, objectKey(ns, stable), rs)).To(Succeed())
		base := rs.DeepCopy()
		rs.Spec.Replicas = ptr.To[int32](6)
		Expect(k8sClient.Patch(ctx, rs, client.MergeFrom(base))).To(Succeed())
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{Total: 6, Ready: 6}))
		hpa := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: stable},
				MinReplicas:    ptr.To[int32](4), MaxReplicas: 8,
			},
		}
		Expect(k8sClient.Create(ctx, hpa)).To(Succeed())

		r := newRollout(ns, "second", []string{deploymentYAML(3, "potato-facts:v2", "")}, setWeight(50), pauseUntilApproved())
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		canary := r.Status.CanaryRevision
		Expect(podsOf(ctx, ns, canary)).To(Equal(podCount{Total: 3, Ready: 3}), "the HPA's 6 replicas split at 50%, not the manifest's 3")
		Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 3, Ready: 3}))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, app), &autoscalingv2.HorizontalPodAutoscaler{}))).To(BeTrue(),
			"the HPA is frozen while the Rollout runs")

		decide(ctx, key, "ok", "", deployv1alpha1.DecisionApprove)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Eventually(func() podCount { return podsOf(ctx, ns, canary) }).Should(Equal(podCount{Total: 6, Ready: 6}))
		Expect(k8sClient.Get(ctx, objectKey(ns, app), hpa)).To(Succeed())
		Expect(hpa.Spec.ScaleTargetRef).To(Equal(autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: canary}))
		Expect(*hpa.Spec.MinReplicas).To(BeEquivalentTo(4))
		Expect(hpa.Spec.MaxReplicas).To(BeEquivalentTo(8))
	}, SpecTimeout(2*time.Minute))

	It("rolls the running version back and starts again when the manifests change mid-run", func(ctx SpecContext) {
		ns := newNamespace(ctx, "respec")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		r := newRollout(ns, "second", []string{deploymentYAML(4, "potato-facts:v2", "")}, setWeight(50), pauseUntilApproved())
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseAwaitingApproval)
		first := r.Status.CanaryRevision

		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8sClient.Get(ctx, key, r); err != nil {
				return err
			}
			r.Spec.Manifests = []string{deploymentYAML(4, "potato-facts:v3", "")}
			return k8sClient.Update(ctx, r)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			g.Expect(r.Status.CanaryRevision).NotTo(BeElementOf(first, ""))
			g.Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseAwaitingApproval))
		}).Should(Succeed())
		Expect(r.Status.StableRevision).To(Equal(stable))
		Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, objectKey(ns, first), &appsv1.ReplicaSet{}))).To(BeTrue())
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 2, Ready: 2}))
		Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 2, Ready: 2}))
		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{executor.VersionLabel: r.Status.CanaryRevision})).To(Succeed())
		Expect(pods.Items[0].Spec.Containers[0].Image).To(Equal("potato-facts:v3"))

		decide(ctx, key, "ok", "", deployv1alpha1.DecisionApprove)
		waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
	}, SpecTimeout(2*time.Minute))
})

func median(ds []time.Duration) time.Duration {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}
