package executor_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// blueGreenManifests are the active and preview Services and a 4-replica Deployment of image.
func blueGreenManifests(image string) []string {
	return []string{servicesYAML(app, app+"-preview"), deploymentYAML(4, image, "")}
}

// deployFirstBlueGreen runs a first blue/green deployment of image and returns its version: the
// active Service is pinned to it.
func deployFirstBlueGreen(ctx SpecContext, ns, image string) string {
	GinkgoHelper()
	r := blueGreenRollout(ns, "blue", blueGreenManifests(image), deployv1alpha1.BlueGreenStrategy{ActiveService: app, PreviewService: app + "-preview"})
	Expect(k8sClient.Create(ctx, r)).To(Succeed())
	r = waitForPhase(ctx, client.ObjectKeyFromObject(r), time.Minute, rolloutv1alpha1.PhaseSucceeded)
	Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(r.Status.CanaryRevision)))
	return r.Status.CanaryRevision
}

var _ = Describe("Blue/green runWebhook conditions", func() {
	BeforeEach(func(ctx SpecContext) {
		applyTenantConfig(ctx, "")
		SetDefaultEventuallyTimeout(time.Minute)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	// webhookBlueGreen is a blue/green whose switch waits for the smoke webhook's callback.
	webhookBlueGreen := func(ns, name, receiverURL, image string) *rolloutv1alpha1.Rollout {
		r := blueGreenRollout(ns, name, blueGreenManifests(image), deployv1alpha1.BlueGreenStrategy{
			ActiveService: app, PreviewService: app + "-preview",
			RedirectTrafficAfter: []deployv1alpha1.BlueGreenCondition{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke", Context: map[string]string{"suite": "preview"}}}},
		})
		r.Spec.CallbackBaseURI = "https://api.aurora.example/webhooks/" + name + "/staging"
		r.Spec.Webhooks = []deployv1alpha1.Webhook{{
			Name: "smoke", Method: "POST", URITemplate: receiverURL + "/run/{{context.suite}}",
			Headers:      []deployv1alpha1.WebhookHeader{{Key: "Authorization", Value: "Bearer {{secrets.token}}"}},
			BodyTemplate: &deployv1alpha1.BodyTemplate{Inline: `{"callbackUri": "{{armory.callbackUri}}", "version": "{{armory.replicaSetName}}"}`},
			Timeout:      &deployv1alpha1.Timeout{Duration: 600, Unit: deployv1alpha1.Seconds},
		}}
		return r
	}

	It("switches the active Service after a successful callback on redirectTrafficAfter[0]", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bg-webhook-ok")
		blue := deployFirstBlueGreen(ctx, ns, "potato-facts:v1")
		active := recordHistory(ctx, serviceGVK, ns, app, selectedVersion)
		var key client.ObjectKey
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			// What the REST API does with {"success": true, "mdMessage": ...}: an approve of the gate.
			decideWithReason(ctx, key, "callback-ok", "redirectTrafficAfter[0]", deployv1alpha1.DecisionApprove, "preview smoke tests passed")
		}}
		srv := tlsServer(rcv)
		r := webhookBlueGreen(ns, "green", srv.URL, "potato-facts:v2")
		key = client.ObjectKeyFromObject(r)
		began := time.Now()
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseSucceeded), r.Status.Message)
		reportDuration("blue/green with a runWebhook condition and an immediate callback, creation to Succeeded", time.Since(began))
		green := r.Status.CanaryRevision
		calls := rcv.received()
		Expect(calls).To(HaveLen(1), "called once")
		Expect(calls[0].Path).To(Equal("/run/preview"))
		Expect(calls[0].Authorization).To(Equal("Bearer s3cr3t-token"))
		Expect(calls[0].Body).To(Equal(map[string]string{
			"callbackUri": "https://api.aurora.example/webhooks/green/staging/redirectTrafficAfter%5B0%5D", "version": green}))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Gate", "redirectTrafficAfter[0]"), HaveField("Name", "smoke"),
			HaveField("Phase", deployv1alpha1.WebhookSucceeded), HaveField("StatusCode", BeEquivalentTo(202)),
			HaveField("Message", "preview smoke tests passed"))))
		Expect(r.Status.BlueGreen.Conditions).To(ConsistOf(And(HaveField("Gate", "redirectTrafficAfter[0]"), HaveField("Kind", "runWebhook"),
			HaveField("State", rolloutv1alpha1.ConditionPassed))))
		Expect(selectorOf(ctx, ns, app)).To(Equal(pinned(green)))
		Eventually(func() podCount { return podsOf(ctx, ns, blue) }).Should(Equal(podCount{}))
		Expect(active.history()).To(Equal([]string{blue, green}), "the active Service moved once, after the callback")
	}, SpecTimeout(4*time.Minute))

	It("rolls back on a failed callback before the switch, leaving the active Service untouched", func(ctx SpecContext) {
		ns := newNamespace(ctx, "bg-webhook-fail")
		blue := deployFirstBlueGreen(ctx, ns, "potato-facts:v1")
		before := &corev1.Service{}
		Expect(k8sClient.Get(ctx, objectKey(ns, app), before)).To(Succeed())
		active := recordHistory(ctx, serviceGVK, ns, app, func(u *unstructured.Unstructured) string { return u.GetResourceVersion() })
		var key client.ObjectKey
		rcv := &webhookReceiver{onCall: func(req webhookRequest) {
			defer GinkgoRecover()
			// {"success": false, "mdMessage": ...}: a rollback of the gate with the message as reason.
			decideWithReason(ctx, key, "callback-fail", "redirectTrafficAfter[0]", deployv1alpha1.DecisionRollback, "2 smoke tests failed")
		}}
		srv := tlsServer(rcv)
		r := webhookBlueGreen(ns, "green", srv.URL, "potato-facts:v2")
		key = client.ObjectKeyFromObject(r)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())

		r = waitForPhase(ctx, key, 2*time.Minute, rolloutv1alpha1.PhaseSucceeded, rolloutv1alpha1.PhaseRolledBack, rolloutv1alpha1.PhaseFailed)
		Expect(r.Status.Phase).To(Equal(rolloutv1alpha1.PhaseRolledBack), r.Status.Message)
		Expect(r.Status.Message).To(Equal("rolled back by decision callback-fail at step 2/3: 2 smoke tests failed"))
		Expect(r.Status.Webhooks).To(ConsistOf(And(HaveField("Gate", "redirectTrafficAfter[0]"), HaveField("Phase", deployv1alpha1.WebhookFailed),
			HaveField("Message", "2 smoke tests failed"))))
		Expect(rcv.received()).To(HaveLen(1))
		Eventually(func() podCount { return podsOf(ctx, ns, r.Status.CanaryRevision) }).Should(Equal(podCount{}))
		Expect(podsOf(ctx, ns, blue)).To(Equal(podCount{Total: 4, Ready: 4}))
		after := &corev1.Service{}
		Expect(k8sClient.Get(ctx, objectKey(ns, app), after)).To(Succeed())
		Expect(after.Spec.Selector).To(Equal(pinned(blue)))
		Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "the active Service was not written at all")
		Expect(active.history()).To(Equal([]string{before.ResourceVersion}))
	}, SpecTimeout(4*time.Minute))
})
