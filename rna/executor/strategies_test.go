package executor_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/rna/executor"
)

// errorRateQuery selects the new version's error rate over each run's window; the team label comes
// from the tenant's secret store, to show that secrets resolve (and stay out of the status).
const errorRateQuery = `max(max_over_time(aurora_test_error_rate{namespace="{{armory.namespace}}",replica_set="{{armory.replicaSetName}}",team="{{secrets.team}}"}[{{armory.promQlStepInterval}}]))`

func analysisStep(mode deployv1alpha1.JudgmentMode) deployv1alpha1.CanaryStep {
	return deployv1alpha1.CanaryStep{Analysis: &deployv1alpha1.AnalysisStep{
		Interval: 2, Units: "seconds", NumberOfJudgmentRuns: 2, Queries: []string{"errorRate"},
		LookbackMethod: "sliding", RollBackMode: deployv1alpha1.Automatic, RollForwardMode: mode,
	}}
}

func withAnalysis(r *rolloutv1alpha1.Rollout) *rolloutv1alpha1.Rollout {
	r.Spec.Analysis = &deployv1alpha1.AnalysisConfig{DefaultMetricProviderName: "prometheus", Queries: []deployv1alpha1.Query{
		{Name: "errorRate", UpperLimit: ptr.To(0.1), QueryTemplate: errorRateQuery},
	}}
	return r
}

// tenantSecrets are the tenant's secrets the tests' templates use.
var tenantSecrets = map[string]string{"team": "potato", "token": "s3cr3t-token"}

// applyTenantConfig writes the tenant's secret store and, when prometheusURL is set, its metric
// providers into the executor's configuration namespace.
func applyTenantConfig(ctx SpecContext, prometheusURL string) {
	GinkgoHelper()
	objs := []client.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: executor.SecretStoreName}, StringData: tenantSecrets}}
	if prometheusURL != "" {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: executor.MetricProvidersName}}
		cm.Data = map[string]string{"providers.yaml": fmt.Sprintf("- {name: prometheus, type: prometheus, baseURL: %q}\n", prometheusURL)}
		objs = append(objs, cm)
	}
	for _, obj := range objs {
		err := k8sClient.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			err = k8sClient.Update(ctx, obj)
		}
		Expect(err).NotTo(HaveOccurred())
	}
}

// decideWithReason appends a decision with a reason, as the cloud does for a Judgment (a webhook
// callback's mdMessage is its reason).
func decideWithReason(ctx SpecContext, key client.ObjectKey, name, gate string, d deployv1alpha1.Decision, reason string) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		r := &rolloutv1alpha1.Rollout{}
		if err := k8sClient.Get(ctx, key, r); err != nil {
			return err
		}
		r.Spec.Decisions = append(r.Spec.Decisions, rolloutv1alpha1.RolloutDecision{Name: name, Gate: gate, Decision: d, Reason: reason})
		return k8sClient.Update(ctx, r)
	})).To(Succeed())
}

var _ = Describe("Metric analysis with a real Prometheus", Ordered, func() {
	var exporter *errorRateExporter

	BeforeAll(func(ctx SpecContext) {
		exporter = &errorRateExporter{rates: map[string]float64{}}
		srv := tlsServer(exporter)
		applyTenantConfig(ctx, startPrometheus(ctx, srv))
	}, NodeTimeout(3*time.Minute))

	BeforeEach(func() {
		SetDefaultEventuallyTimeout(time.Minute)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	It("passes a healthy canary and records each query's value and verdict", func(ctx SpecContext) {
		ns := newNamespace(ctx, "analysis-pass")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		exporter.set("potato-facts:healthy", 0.01)
		r := withAnalysis(newRollout(ns, "healthy", []string{deploymentYAML(4, "potato-facts:healthy", "")}, setWeight(50), analysisStep(deployv1alpha1.Automatic)))
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		reportDuration("canary 50% → analysis (2 runs of 2s) → 100%, creation to Succeeded", time.Since(began))
		canary := r.Status.CanaryRevision
		Expect(r.Status.Analysis).To(HaveLen(2))
		for i, run := range r.Status.Analysis {
			Expect(run.Gate).To(Equal("steps[1]"))
			Expect(run.Run).To(BeEquivalentTo(i + 1))
			Expect(run.Query).To(Equal("errorRate"))
			Expect(run.Provider).To(Equal("prometheus"))
			Expect(run.Value).To(Equal("0.01"))
			Expect(run.Verdict).To(Equal(deployv1alpha1.VerdictPass))
			Expect(run.Rendered).To(ContainSubstring(`replica_set="` + canary + `"`))
			Expect(run.Rendered).To(ContainSubstring(`team="{{secrets.team}}"`), "secrets are not written into the status")
			Expect(run.Rendered).To(ContainSubstring("[2s]"), "a sliding window is one interval")
			Expect(run.End.Sub(run.Start.Time)).To(Equal(2 * time.Second))
		}
		Expect(r.Status.Analysis[1].Start.Time).To(Equal(r.Status.Analysis[0].End.Time), "sliding windows follow each other")
		Eventually(func() podCount { return podsOf(ctx, ns, canary) }).Should(Equal(podCount{Total: 4, Ready: 4}))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{}))
	}, SpecTimeout(4*time.Minute))

	It("rolls an unhealthy canary back automatically", func(ctx SpecContext) {
		ns := newNamespace(ctx, "analysis-fail")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		exporter.set("potato-facts:unhealthy", 0.5)
		r := withAnalysis(newRollout(ns, "unhealthy", []string{deploymentYAML(4, "potato-facts:unhealthy", "")}, setWeight(50), analysisStep(deployv1alpha1.Automatic)))
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		reportDuration("failed analysis (2 runs of 2s), creation to RolledBack", time.Since(began))
		Expect(r.Status.Message).To(Equal("analysis of steps[1] failed: query errorRate averaged 0.5 above upperLimit 0.1 over 2 runs"))
		Expect(r.Status.Analysis).To(HaveLen(2))
		Expect(r.Status.Analysis).To(HaveEach(And(HaveField("Verdict", deployv1alpha1.VerdictFail), HaveField("Value", "0.5"),
			HaveField("Message", "0.5 above upperLimit 0.1"))))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{Total: 4, Ready: 4}))
		Eventually(func() podCount { return podsOf(ctx, ns, r.Status.CanaryRevision) }).Should(Equal(podCount{}))
	}, SpecTimeout(4*time.Minute))

	It("waits for a Judgment before rolling a passing canary forward in manual mode", func(ctx SpecContext) {
		ns := newNamespace(ctx, "analysis-manual")
		deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		exporter.set("potato-facts:manual", 0.02)
		r := withAnalysis(newRollout(ns, "manual", []string{deploymentYAML(4, "potato-facts:manual", "")}, setWeight(25), analysisStep(deployv1alpha1.Manual)))
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseAwaitingApproval, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseAwaitingApproval), r.Status.Message)
		Expect(r.Status.WaitingFor).To(Equal("steps[1]"))
		Expect(r.Status.Weight).To(BeEquivalentTo(25))
		Expect(r.Status.Message).To(ContainSubstring("analysis of steps[1] passed (every query within its limits: errorRate averaged 0.02); waiting for a judgment"))
		Consistently(func() rolloutv1alpha1.Phase {
			Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
			return r.Status.Phase
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal(rolloutv1alpha1.PhaseAwaitingApproval))
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 1, Ready: 1}))

		decide(ctx, key, "roll-forward", "steps[1]", deployv1alpha1.DecisionApprove)
		r = waitForPhase(ctx, key, time.Minute, rolloutv1alpha1.PhaseSucceeded)
		Expect(r.Status.Analysis).To(HaveLen(2))
	}, SpecTimeout(4*time.Minute))

	It("runs an afterDeployment analysis gate once the canary reached 100%, and succeeds when it passes", func(ctx SpecContext) {
		ns := newNamespace(ctx, "after-pass")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		exporter.set("potato-facts:after-healthy", 0.01)
		r := withAnalysis(newRollout(ns, "after-healthy", []string{deploymentYAML(4, "potato-facts:after-healthy", "")}, setWeight(50)))
		r.Spec.AfterDeployment = []rolloutv1alpha1.AfterDeploymentAnalysis{{Index: 1, Analysis: *analysisStep(deployv1alpha1.Automatic).Analysis}}
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		reportDuration("canary 50% → 100% → afterDeployment analysis (2 runs of 2s), creation to Succeeded", time.Since(began))
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(3), "50%, 100%, then the gate")
		Expect(r.Status.Analysis).To(HaveLen(2))
		Expect(r.Status.Analysis).To(HaveEach(And(HaveField("Gate", "afterDeployment[1]"), HaveField("Verdict", deployv1alpha1.VerdictPass),
			HaveField("Value", "0.01"), HaveField("Rendered", ContainSubstring(`replica_set="`+r.Status.CanaryRevision+`"`)))))
		Eventually(func() podCount { return podsOf(ctx, ns, r.Status.CanaryRevision) }).Should(Equal(podCount{Total: 4, Ready: 4}))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{}))
	}, SpecTimeout(4*time.Minute))

	It("rolls back from 100% when an afterDeployment analysis gate fails (rollBackMode automatic)", func(ctx SpecContext) {
		ns := newNamespace(ctx, "after-fail")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		exporter.set("potato-facts:after-unhealthy", 0.5)
		r := withAnalysis(newRollout(ns, "after-unhealthy", []string{deploymentYAML(4, "potato-facts:after-unhealthy", "")}, setWeight(50)))
		r.Spec.AfterDeployment = []rolloutv1alpha1.AfterDeploymentAnalysis{{Index: 0, Analysis: *analysisStep(deployv1alpha1.Automatic).Analysis}}
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		Expect(r.Status.Message).To(Equal("analysis of afterDeployment[0] failed: query errorRate averaged 0.5 above upperLimit 0.1 over 2 runs"))
		Expect(r.Status.Analysis).To(HaveLen(2))
		Expect(r.Status.Analysis).To(HaveEach(And(HaveField("Gate", "afterDeployment[0]"), HaveField("Verdict", deployv1alpha1.VerdictFail))))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{Total: 4, Ready: 4}))
		Eventually(func() podCount { return podsOf(ctx, ns, r.Status.CanaryRevision) }).Should(Equal(podCount{}))
	}, SpecTimeout(4*time.Minute))

	It("runs a blue/green analysis condition after the switch, and rolls back to the old version when it fails", func(ctx SpecContext) {
		ns := newNamespace(ctx, "analysis-bluegreen")
		blue := deployFirstBlueGreen(ctx, ns, "potato-facts:v1")
		active := recordHistory(ctx, serviceGVK, ns, app, selectedVersion)
		exporter.set("potato-facts:bg-unhealthy", 0.5)
		r := withAnalysis(blueGreenRollout(ns, "green", blueGreenManifests("potato-facts:bg-unhealthy"), deployv1alpha1.BlueGreenStrategy{
			ActiveService: app, PreviewService: app + "-preview",
			ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{{Analysis: analysisStep(deployv1alpha1.Automatic).Analysis}},
		}))
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		reportDuration("blue/green with a failing analysis condition after the switch (2 runs of 2s), creation to RolledBack", time.Since(began))
		green := r.Status.CanaryRevision
		Expect(r.Status.Message).To(Equal("shutDownOldVersionAfter[0] failed at step 3/3: analysis of shutDownOldVersionAfter[0] failed: " +
			"query errorRate averaged 0.5 above upperLimit 0.1 over 2 runs"))
		Expect(r.Status.Analysis).To(HaveLen(2))
		Expect(r.Status.Analysis).To(HaveEach(And(HaveField("Gate", "shutDownOldVersionAfter[0]"), HaveField("Verdict", deployv1alpha1.VerdictFail),
			HaveField("Value", "0.5"), HaveField("Rendered", ContainSubstring(`replica_set="`+green+`"`)))))
		Expect(r.Status.BlueGreen.Conditions).To(ConsistOf(And(HaveField("Kind", "analysis"), HaveField("State", rolloutv1alpha1.ConditionFailed))))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(blue)), "the active Service is back on the old version")
		Expect(active.history()).To(Equal([]string{blue, green, blue}))
		Eventually(func() podCount { return podsOf(ctx, ns, green) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	It("switches a blue/green whose analysis condition passes before the switch", func(ctx SpecContext) {
		ns := newNamespace(ctx, "analysis-bluegreen-ok")
		blue := deployFirstBlueGreen(ctx, ns, "potato-facts:v1")
		exporter.set("potato-facts:bg-healthy", 0.01)
		r := withAnalysis(blueGreenRollout(ns, "green", blueGreenManifests("potato-facts:bg-healthy"), deployv1alpha1.BlueGreenStrategy{
			ActiveService: app, PreviewService: app + "-preview",
			RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{{Analysis: analysisStep(deployv1alpha1.Automatic).Analysis}},
		}))
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		Expect(r.Status.Analysis).To(HaveLen(2))
		Expect(r.Status.Analysis).To(HaveEach(And(HaveField("Gate", "redirectTrafficAfter[0]"), HaveField("Verdict", deployv1alpha1.VerdictPass))))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(r.Status.CanaryRevision)))
		Eventually(func() podCount { return podsOf(ctx, ns, blue) }).Should(Equal(podCount{}))
	}, SpecTimeout(4*time.Minute))

	It("runs a blue/green afterDeployment analysis gate after the switch, and rolls back to the old version, which still runs, when it fails", func(ctx SpecContext) {
		ns := newNamespace(ctx, "after-bluegreen-fail")
		blue := deployFirstBlueGreen(ctx, ns, "potato-facts:v1")
		active := recordHistory(ctx, serviceGVK, ns, app, selectedVersion)
		exporter.set("potato-facts:bg-after-unhealthy", 0.5)
		r := withAnalysis(blueGreenRollout(ns, "green", blueGreenManifests("potato-facts:bg-after-unhealthy"), deployv1alpha1.BlueGreenStrategy{
			ActiveService: app, PreviewService: app + "-preview"}))
		r.Spec.AfterDeployment = []rolloutv1alpha1.AfterDeploymentAnalysis{{Index: 1, Analysis: *analysisStep(deployv1alpha1.Automatic).Analysis}}
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		key := client.ObjectKeyFromObject(r)

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		reportDuration("blue/green with a failing afterDeployment analysis gate (2 runs of 2s), creation to RolledBack", time.Since(began))
		green := r.Status.CanaryRevision
		Expect(r.Status.Message).To(Equal("afterDeployment[1] failed at step 3/3: analysis of afterDeployment[1] failed: " +
			"query errorRate averaged 0.5 above upperLimit 0.1 over 2 runs"))
		Expect(r.Status.Analysis).To(HaveLen(2))
		Expect(r.Status.Analysis).To(HaveEach(And(HaveField("Gate", "afterDeployment[1]"), HaveField("Query", "errorRate"),
			HaveField("Verdict", deployv1alpha1.VerdictFail), HaveField("Value", "0.5"), HaveField("Rendered", ContainSubstring(`replica_set="`+green+`"`)))))
		Expect(r.Status.BlueGreen.Conditions).To(ConsistOf(And(HaveField("Gate", "afterDeployment[1]"), HaveField("Kind", "analysis"),
			HaveField("State", rolloutv1alpha1.ConditionFailed))))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(blue)), "the active Service is back on the old version")
		Expect(active.history()).To(Equal([]string{blue, green, blue}), "the gate ran while the active Service selected the new version")
		Eventually(func() podCount { return podsOf(ctx, ns, green) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	It("finishes a blue/green whose afterDeployment analysis gate passes, beside its shutDownOldVersionAfter conditions", func(ctx SpecContext) {
		ns := newNamespace(ctx, "after-bluegreen-ok")
		blue := deployFirstBlueGreen(ctx, ns, "potato-facts:v1")
		exporter.set("potato-facts:bg-after-healthy", 0.01)
		r := withAnalysis(blueGreenRollout(ns, "green", blueGreenManifests("potato-facts:bg-after-healthy"), deployv1alpha1.BlueGreenStrategy{
			ActiveService: app, PreviewService: app + "-preview",
			ShutDownOldVersionAfter: []deployv1alpha1.BlueGreenCondition{{Pause: &deployv1alpha1.PauseStep{Duration: ptr.To[int32](1), Unit: deployv1alpha1.Seconds}}}}))
		r.Spec.AfterDeployment = []rolloutv1alpha1.AfterDeploymentAnalysis{{Index: 0, Analysis: *analysisStep(deployv1alpha1.Automatic).Analysis}}
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		Expect(r.Status.Analysis).To(HaveLen(2))
		Expect(r.Status.Analysis).To(HaveEach(And(HaveField("Gate", "afterDeployment[0]"), HaveField("Verdict", deployv1alpha1.VerdictPass), HaveField("Value", "0.01"))))
		Expect(r.Status.BlueGreen.Conditions).To(ConsistOf(
			And(HaveField("Gate", "shutDownOldVersionAfter[0]"), HaveField("State", rolloutv1alpha1.ConditionPassed)),
			And(HaveField("Gate", "afterDeployment[0]"), HaveField("State", rolloutv1alpha1.ConditionPassed))))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(r.Status.CanaryRevision)))
		Eventually(func() podCount { return podsOf(ctx, ns, blue) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, r.Status.CanaryRevision)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	It("fails the analysis with a clear message when the provider is unknown", func(ctx SpecContext) {
		ns := newNamespace(ctx, "analysis-noprovider")
		deployFirstVersion(ctx, ns, 2, "potato-facts:v1")
		r := withAnalysis(newRollout(ns, "noprovider", []string{deploymentYAML(2, "potato-facts:np", "")}, setWeight(50), analysisStep(deployv1alpha1.Automatic)))
		r.Spec.Analysis.DefaultMetricProviderName = "datadog-eu"
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 2*time.Minute, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseSucceeded)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack))
		Expect(r.Status.Message).To(ContainSubstring(`metric provider "datadog-eu" is not in ConfigMap aurora-rna/aurora-metric-providers`))
		Expect(r.Status.Analysis[0].Verdict).To(Equal(deployv1alpha1.VerdictError))
	}, SpecTimeout(4*time.Minute))
})

var _ = Describe("runWebhook steps", func() {
	BeforeEach(func(ctx SpecContext) {
		applyTenantConfig(ctx, "")
		SetDefaultEventuallyTimeout(time.Minute)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	// webhookRollout is a canary 50% → runWebhook → 100% calling the receiver.
	webhookRollout := func(ns, name, receiverURL string, timeoutSeconds int32, image string) *rolloutv1alpha1.Rollout {
		r := newRollout(ns, name, []string{deploymentYAML(4, image, "")}, setWeight(50),
			deployv1alpha1.CanaryStep{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "integration-tests", Context: map[string]string{"suite": "smoke"}}})
		r.Spec.CallbackBaseURI = "https://api.aurora.example/webhooks/" + name + "/staging"
		r.Spec.Webhooks = []deployv1alpha1.Webhook{{
			Name: "integration-tests", Method: "POST", URITemplate: receiverURL + "/run/{{context.suite}}",
			Headers:      []deployv1alpha1.WebhookHeader{{Key: "Authorization", Value: "Bearer {{secrets.token}}"}},
			BodyTemplate: &deployv1alpha1.BodyTemplate{Inline: `{"callbackUri": "{{armory.callbackUri}}", "version": "{{armory.replicaSetName}}", "env": "{{armory.environmentName}}"}`},
			Timeout:      &deployv1alpha1.Timeout{Duration: timeoutSeconds, Unit: deployv1alpha1.Seconds},
		}}
		return r
	}

	It("goes on after a successful callback", func(ctx SpecContext) {
		ns := newNamespace(ctx, "webhook-ok")
		deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		var key client.ObjectKey
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			// What the REST API does with {"success": true, "mdMessage": ...}: an approve of the gate.
			decideWithReason(ctx, key, "callback-ok", "steps[1]", deployv1alpha1.DecisionApprove, "smoke tests **passed**")
		}}
		srv := tlsServer(rcv)
		r := webhookRollout(ns, "hook-ok", srv.URL, 600, "potato-facts:hook-ok")
		key = client.ObjectKeyFromObject(r)
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		reportDuration("canary 50% → runWebhook with an immediate callback → 100%, creation to Succeeded", time.Since(began))
		calls := rcv.received()
		Expect(calls).To(HaveLen(1), "called once")
		Expect(calls[0].Method).To(Equal("POST"))
		Expect(calls[0].Path).To(Equal("/run/smoke"))
		Expect(calls[0].Authorization).To(Equal("Bearer s3cr3t-token"))
		Expect(calls[0].Body).To(Equal(map[string]string{"callbackUri": "https://api.aurora.example/webhooks/hook-ok/staging/steps%5B1%5D",
			"version": r.Status.CanaryRevision, "env": "staging"}))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Gate", "steps[1]"), HaveField("Name", "integration-tests"),
			HaveField("Phase", deployv1alpha1.WebhookSucceeded), HaveField("Attempts", BeEquivalentTo(1)),
			HaveField("StatusCode", BeEquivalentTo(202)), HaveField("Message", "smoke tests **passed**"))))
	}, SpecTimeout(4*time.Minute))

	It("rolls back after a failed callback, with its message", func(ctx SpecContext) {
		ns := newNamespace(ctx, "webhook-fail")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		var key client.ObjectKey
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			// {"success": false, "mdMessage": ...}: a rollback of the gate with the message as reason.
			decideWithReason(ctx, key, "callback-fail", "steps[1]", deployv1alpha1.DecisionRollback, "3 smoke tests failed")
		}}
		srv := tlsServer(rcv)
		r := webhookRollout(ns, "hook-fail", srv.URL, 600, "potato-facts:hook-fail")
		key = client.ObjectKeyFromObject(r)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		Expect(r.Status.Message).To(Equal("rolled back by decision callback-fail at step 2/3: 3 smoke tests failed"))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Phase", deployv1alpha1.WebhookFailed), HaveField("Message", "3 smoke tests failed"))))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	It("times out and rolls back when no callback comes", func(ctx SpecContext) {
		ns := newNamespace(ctx, "webhook-timeout")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		rcv := &webhookReceiver{}
		srv := tlsServer(rcv)
		r := webhookRollout(ns, "hook-timeout", srv.URL, 3, "potato-facts:hook-timeout")
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		Expect(r.Status.Message).To(Equal("webhook integration-tests of steps[1]: no callback within 3s"))
		Expect(r.Status.Webhooks).To(ConsistOf(HaveField("Phase", deployv1alpha1.WebhookTimedOut)))
		Expect(rcv.received()).To(HaveLen(1))
		Eventually(func() podCount { return podsOf(ctx, ns, stable) }).Should(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	// afterWebhookRollout moves the webhook of webhookRollout from the strategy into an
	// afterDeployment gate (index 2) whose webhook the agent calls: networkMode remoteNetworkAgent.
	afterWebhookRollout := func(r *rolloutv1alpha1.Rollout) *rolloutv1alpha1.Rollout {
		steps := r.Spec.Strategy.Canary.Steps
		r.Spec.AfterDeploymentWebhooks = []rolloutv1alpha1.AfterDeploymentWebhook{{Index: 2, RunWebhook: *steps[len(steps)-1].RunWebhook}}
		r.Spec.Strategy.Canary.Steps = steps[:len(steps)-1]
		r.Spec.Webhooks[0].NetworkMode = deployv1alpha1.NetworkModeRemoteNetworkAgent
		return r
	}

	It("calls an afterDeployment remoteNetworkAgent webhook gate at 100% and succeeds after its callback", func(ctx SpecContext) {
		ns := newNamespace(ctx, "after-webhook-ok")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		var key client.ObjectKey
		var atCall podCount
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			atCall = podsOf(ctx, ns, stable)
			decideWithReason(ctx, key, "callback-ok", "afterDeployment[2]", deployv1alpha1.DecisionApprove, "smoke tests **passed**")
		}}
		srv := tlsServer(rcv)
		r := afterWebhookRollout(webhookRollout(ns, "after-hook-ok", srv.URL, 600, "potato-facts:after-hook-ok"))
		key = client.ObjectKeyFromObject(r)
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		reportDuration("canary 50% → 100% → afterDeployment webhook with an immediate callback, creation to Succeeded", time.Since(began))
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(3), "50%, 100%, then the gate")
		Expect(atCall).To(Equal(podCount{}), "the gate is called once the new version runs at 100%")
		calls := rcv.received()
		Expect(calls).To(HaveLen(1), "called once")
		Expect(calls[0].Path).To(Equal("/run/smoke"))
		Expect(calls[0].Authorization).To(Equal("Bearer s3cr3t-token"), "secrets resolve from the executor's configuration namespace")
		Expect(calls[0].Body).To(Equal(map[string]string{"callbackUri": "https://api.aurora.example/webhooks/after-hook-ok/staging/afterDeployment%5B2%5D",
			"version": r.Status.CanaryRevision, "env": "staging"}))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Gate", "afterDeployment[2]"), HaveField("Name", "integration-tests"),
			HaveField("Phase", deployv1alpha1.WebhookSucceeded), HaveField("Attempts", BeEquivalentTo(1)),
			HaveField("StatusCode", BeEquivalentTo(202)), HaveField("Message", "smoke tests **passed**"))))
		Eventually(func() podCount { return podsOf(ctx, ns, r.Status.CanaryRevision) }).Should(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	It("rolls a blue/green back to the old version when its afterDeployment remoteNetworkAgent webhook gate fails", func(ctx SpecContext) {
		ns := newNamespace(ctx, "after-webhook-bg")
		blue := deployFirstBlueGreen(ctx, ns, "potato-facts:v1")
		active := recordHistory(ctx, serviceGVK, ns, app, selectedVersion)
		var key client.ObjectKey
		var selectedAtCall map[string]string
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			selectedAtCall = selectorOf(ctx, ns, app)
			// {"success": false, "mdMessage": ...}: a rollback with the message as reason.
			decideWithReason(ctx, key, "callback-fail", "", deployv1alpha1.DecisionRollback, "3 smoke tests failed")
		}}
		srv := tlsServer(rcv)
		hooked := afterWebhookRollout(webhookRollout(ns, "green", srv.URL, 600, "unused"))
		r := blueGreenRollout(ns, "green", blueGreenManifests("potato-facts:bg-after-hook"), deployv1alpha1.BlueGreenStrategy{ActiveService: app, PreviewService: app + "-preview"})
		r.Spec.CallbackBaseURI, r.Spec.Webhooks, r.Spec.AfterDeploymentWebhooks = hooked.Spec.CallbackBaseURI, hooked.Spec.Webhooks, hooked.Spec.AfterDeploymentWebhooks
		key = client.ObjectKeyFromObject(r)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		green := r.Status.CanaryRevision
		Expect(r.Status.Message).To(Equal("rolled back by decision callback-fail at step 3/3: 3 smoke tests failed"))
		Expect(selectedAtCall).To(Equal(pinned(green)), "the gate is called once the active Service selects the new version")
		Expect(rcv.received()).To(HaveLen(1))
		Expect(rcv.received()[0].Body).To(HaveKeyWithValue("callbackUri", "https://api.aurora.example/webhooks/green/staging/afterDeployment%5B2%5D"))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Gate", "afterDeployment[2]"), HaveField("Phase", deployv1alpha1.WebhookFailed),
			HaveField("Message", "3 smoke tests failed"))))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(blue)), "the active Service is back on the old version")
		Expect(active.history()).To(Equal([]string{blue, green, blue}))
		Eventually(func() podCount { return podsOf(ctx, ns, green) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	// beforeWebhookRollout moves the webhook of webhookRollout from the strategy into a
	// beforeDeployment gate (index 1) whose webhook the agent calls, and adds a ConfigMap to the
	// manifests: nothing of it may be applied before the gate passed.
	beforeWebhookRollout := func(r *rolloutv1alpha1.Rollout) *rolloutv1alpha1.Rollout {
		steps := r.Spec.Strategy.Canary.Steps
		r.Spec.BeforeDeploymentWebhooks = []rolloutv1alpha1.BeforeDeploymentWebhook{{Index: 1, RunWebhook: *steps[len(steps)-1].RunWebhook}}
		r.Spec.Strategy.Canary.Steps = steps[:len(steps)-1]
		r.Spec.Webhooks[0].NetworkMode = deployv1alpha1.NetworkModeRemoteNetworkAgent
		r.Spec.Manifests = append(r.Spec.Manifests, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: green}\n")
		return r
	}
	// applied lists what of the Rollout a namespace holds: its ReplicaSets and whether ConfigMap
	// settings exists.
	applied := func(ctx SpecContext, ns string) []string {
		GinkgoHelper()
		rss := &appsv1.ReplicaSetList{}
		Expect(k8sClient.List(ctx, rss, client.InNamespace(ns))).To(Succeed())
		var out []string
		for _, rs := range rss.Items {
			out = append(out, "ReplicaSet/"+rs.Name)
		}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, &corev1.ConfigMap{}); err == nil {
			out = append(out, "ConfigMap/settings")
		}
		return out
	}

	It("calls a beforeDeployment remoteNetworkAgent webhook gate before it applies anything, and deploys after its callback", func(ctx SpecContext) {
		ns := newNamespace(ctx, "before-webhook-ok")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		var key client.ObjectKey
		var atCall []string
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			atCall = applied(ctx, ns)
			decideWithReason(ctx, key, "callback-ok", "beforeDeployment[1]", deployv1alpha1.DecisionApprove, "change ticket CHG-42 approved")
		}}
		srv := tlsServer(rcv)
		r := beforeWebhookRollout(webhookRollout(ns, "before-hook-ok", srv.URL, 600, "potato-facts:before-hook-ok"))
		key = client.ObjectKeyFromObject(r)
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		reportDuration("beforeDeployment webhook with an immediate callback → canary 50% → 100%, creation to Succeeded", time.Since(began))
		Expect(atCall).To(Equal([]string{"ReplicaSet/" + stable}), "nothing of the Rollout is applied before the gate passed")
		calls := rcv.received()
		Expect(calls).To(HaveLen(1), "called once")
		Expect(calls[0].Authorization).To(Equal("Bearer s3cr3t-token"), "secrets resolve from the executor's configuration namespace")
		Expect(calls[0].Body).To(Equal(map[string]string{"callbackUri": "https://api.aurora.example/webhooks/before-hook-ok/staging/beforeDeployment%5B1%5D",
			"version": r.Status.CanaryRevision, "env": "staging"}))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Gate", "beforeDeployment[1]"), HaveField("Phase", deployv1alpha1.WebhookSucceeded),
			HaveField("Attempts", BeEquivalentTo(1)), HaveField("Message", "change ticket CHG-42 approved"))))
		Expect(r.Status.TotalSteps).To(BeEquivalentTo(2), "the strategy's steps alone")
		Expect(applied(ctx, ns)).To(ContainElement("ConfigMap/settings"))
		Eventually(func() podCount { return podsOf(ctx, ns, r.Status.CanaryRevision) }).Should(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	It("applies nothing and ends Failed when a beforeDeployment remoteNetworkAgent webhook gate fails", func(ctx SpecContext) {
		ns := newNamespace(ctx, "before-webhook-fail")
		stable := deployFirstVersion(ctx, ns, 4, "potato-facts:v1")
		var key client.ObjectKey
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			// {"success": false, "mdMessage": ...}: a rollback with the message as its reason.
			decideWithReason(ctx, key, "callback-fail", "", deployv1alpha1.DecisionRollback, "change freeze until Monday")
		}}
		srv := tlsServer(rcv)
		r := beforeWebhookRollout(webhookRollout(ns, "before-hook-fail", srv.URL, 600, "potato-facts:before-hook-fail"))
		key = client.ObjectKeyFromObject(r)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseFailed), r.Status.Message)
		Expect(r.Status.Message).To(Equal("rolled back by decision callback-fail before the deployment: change freeze until Monday"))
		Expect(conditionReason(r, "Stalled")).To(Equal("True/" + executor.ReasonBeforeDeploymentFailed))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Gate", "beforeDeployment[1]"), HaveField("Phase", deployv1alpha1.WebhookFailed),
			HaveField("Message", "change freeze until Monday"))))
		Expect(r.Status.CanaryRevision).To(BeEmpty())
		Consistently(func() []string { return applied(ctx, ns) }).WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal([]string{"ReplicaSet/" + stable}))
		Expect(podsOf(ctx, ns, stable)).To(Equal(podCount{Total: 4, Ready: 4}))
	}, SpecTimeout(4*time.Minute))

	It("retries a failing call retryCount times, then rolls back", func(ctx SpecContext) {
		ns := newNamespace(ctx, "webhook-retry")
		deployFirstVersion(ctx, ns, 2, "potato-facts:v1")
		r := webhookRollout(ns, "hook-retry", "https://127.0.0.1:1", 600, "potato-facts:hook-retry")
		r.Spec.Webhooks[0].RetryCount = 1
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		r = waitForPhase(ctx, client.ObjectKeyFromObject(r), 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		Expect(r.Status.Message).To(HavePrefix("webhook integration-tests of steps[1] failed after 2 attempts: POST 127.0.0.1:1: "))
		Expect(r.Status.Message).NotTo(ContainSubstring("s3cr3t"))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Phase", deployv1alpha1.WebhookFailed), HaveField("Attempts", BeEquivalentTo(2)))))
	}, SpecTimeout(4*time.Minute))
})
