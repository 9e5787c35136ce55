package deployment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// receivedCall is one call a webhook receiver got.
type receivedCall struct {
	Path, Authorization string
	Body                map[string]string
}

// receiver is an HTTPS webhook receiver (certificate of testCA) that records its calls, answers
// 202 and hands each call to onCall, which answers later as a real receiver does.
type receiver struct {
	mu     sync.Mutex
	calls  []receivedCall
	onCall func(receivedCall)
}

func (rcv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := receivedCall{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body}
	rcv.mu.Lock()
	rcv.calls = append(rcv.calls, c)
	rcv.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	if rcv.onCall != nil {
		go rcv.onCall(c)
	}
}

func (rcv *receiver) received() []receivedCall {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]receivedCall(nil), rcv.calls...)
}

func startReceiver(rcv *receiver) string {
	GinkgoHelper()
	certPEM, keyPEM, err := testCA.IssueServing([]string{"127.0.0.1"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	srv := httptest.NewUnstartedServer(rcv)
	srv.TLS = cfg
	srv.StartTLS()
	DeferCleanup(srv.Close)
	return srv.URL
}

// withWebhookGate adds the webhook "smoke" (calling url) and a runWebhook gate of prod: before or
// after its deployment.
func withWebhookGate(url string, before bool, timeoutSeconds int32) func(*deployv1alpha1.DeploymentSpec) {
	return func(s *deployv1alpha1.DeploymentSpec) {
		s.ContextOverrides = map[string]string{"suite": "smoke"}
		s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: url + "/run/{{context.suite}}",
			Headers:      []deployv1alpha1.WebhookHeader{{Key: "Authorization", Value: "Bearer {{secrets.ciToken}}"}},
			BodyTemplate: &deployv1alpha1.BodyTemplate{Inline: `{"callbackUri": "{{armory.callbackUri}}", "env": "{{armory.environmentName}}", "version": "{{armory.replicaSetName}}"}`},
			Timeout:      &deployv1alpha1.Timeout{Duration: timeoutSeconds, Unit: deployv1alpha1.Seconds}}}
		t := s.Targets["prod"]
		t.Constraints = &deployv1alpha1.Constraints{}
		if before {
			t.Constraints.BeforeDeployment = []deployv1alpha1.BeforeDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}
		} else {
			t.Constraints.AfterDeployment = []deployv1alpha1.AfterDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}
		}
		s.Targets["prod"] = t
	}
}

// callbackJudgment is the Judgment the REST API makes of a webhook callback on a gate of prod.
func callbackJudgment(ns, deploymentName, name, gate string, success bool, message string) *deployv1alpha1.Judgment {
	decision := deployv1alpha1.DecisionApprove
	if !success {
		decision = deployv1alpha1.DecisionRollback
	}
	return &deployv1alpha1.Judgment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: deployv1alpha1.JudgmentSpec{DeploymentName: deploymentName, Target: "prod", Gate: gate, Decision: decision, Author: "ci-pipeline", Reason: message}}
}

// callBack creates the Judgment of a callback from a receiver's goroutine, as the REST API does; it
// does not wait for its outcome (the spec checks that).
func callBack(j *deployv1alpha1.Judgment) {
	defer GinkgoRecover()
	Expect(k8sClient.Create(context.Background(), j)).To(Succeed())
}

// callback creates the Judgment of a callback and waits until it is decided.
func callback(ctx SpecContext, ns, deploymentName, name, gate string, success bool, message string) *deployv1alpha1.Judgment {
	GinkgoHelper()
	j := callbackJudgment(ns, deploymentName, name, gate, success, message)
	return judge(ctx, ns, name, j.Spec, nil)
}

// decided waits until a Judgment is decided and returns it.
func decided(ctx SpecContext, ns, name string) *deployv1alpha1.Judgment {
	GinkgoHelper()
	j := &deployv1alpha1.Judgment{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, j)).To(Succeed())
		g.Expect(readyOf(j.Status.Conditions)).NotTo(BeNil())
		g.Expect(readyOf(j.Status.Conditions).Reason).NotTo(BeEmpty())
	}).WithContext(ctx).Should(Succeed())
	return j
}

// storeSecrets sets the tenant's sealed secret ciToken, as the REST API does.
func storeSecrets(ctx SpecContext, ns string) {
	GinkgoHelper()
	_, err := secretStore.Put(ctx, ns, "ciToken", []byte("ci-s3cr3t"))
	Expect(err).NotTo(HaveOccurred())
}

var _ = Describe("runWebhook constraint gates", func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(30 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	It("calls a beforeDeployment webhook from the control plane and starts the target after a successful callback", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		storeSecrets(ctx, ns)
		rcv := &receiver{}
		rcv.onCall = func(receivedCall) {
			callBack(callbackJudgment(ns, "web-hook-ok", "cb-ok", "beforeDeployment[0]", true, "smoke tests **passed**"))
		}
		url := startReceiver(rcv)
		createDeployment(ctx, ns, "web-hook-ok", oneTarget, withWebhookGate(url, true, 600))
		j := decided(ctx, ns, "cb-ok")
		Expect(readyOf(j.Status.Conditions).Status).To(Equal(metav1.ConditionTrue), readyOf(j.Status.Conditions).Message)

		ro := rolloutOf(ctx, ns, deployment.RolloutName("web-hook-ok", "prod"))
		Expect(ro.Spec.CallbackBaseURI).To(Equal(testAPIURL + "/webhooks/web-hook-ok/prod"))
		calls := rcv.received()
		Expect(calls).To(HaveLen(1))
		Expect(calls[0].Path).To(Equal("/run/smoke"))
		Expect(calls[0].Authorization).To(Equal("Bearer ci-s3cr3t"))
		Expect(calls[0].Body).To(Equal(map[string]string{"callbackUri": testAPIURL + "/webhooks/web-hook-ok/prod/beforeDeployment%5B0%5D",
			"env": "prod", "version": ""}))
		Eventually(func(g Gomega) {
			d := deploymentOf(ctx, ns, "web-hook-ok")
			g.Expect(d.Status.State).To(Equal(deployv1alpha1.StateRunning))
			g.Expect(d.Status.Targets[0].RolloutName).To(Equal(ro.Name))
			g.Expect(d.Status.Targets[0].Webhooks).To(ConsistOf(And(HaveField("Gate", "beforeDeployment[0]"), HaveField("Phase", deployv1alpha1.WebhookSucceeded),
				HaveField("StatusCode", BeEquivalentTo(202)), HaveField("Message", "smoke tests **passed**"))))
		}).WithContext(ctx).Should(Succeed())
		d := deploymentOf(ctx, ns, "web-hook-ok")
		Expect(d.Status.PendingApprovals).To(BeEmpty(), "a webhook waiting for its callback is no pending approval")
	}, SpecTimeout(time.Minute))

	It("fails the target, keeping its new version, when an afterDeployment callback fails", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		storeSecrets(ctx, ns)
		rcv := &receiver{}
		rcv.onCall = func(receivedCall) {
			callBack(callbackJudgment(ns, "web-hook-fail", "cb-fail", "afterDeployment[0]", false, "3 smoke tests failed"))
		}
		url := startReceiver(rcv)
		createDeployment(ctx, ns, "web-hook-fail", oneTarget, withWebhookGate(url, false, 600))
		name := deployment.RolloutName("web-hook-fail", "prod")
		rolloutOf(ctx, ns, name)
		Expect(rcv.received()).To(BeEmpty(), "afterDeployment gates wait for the Rollout")
		execute(ctx, ns, name, func(s *rolloutv1alpha1.RolloutStatus) {
			s.Phase, s.Message, s.CanaryRevision = rolloutv1alpha1.PhaseSucceeded, "done", "web-5d8f7c9b1a"
		})

		d := waitForState(ctx, ns, "web-hook-fail", deployv1alpha1.StateFailed)
		Expect(d.Status.Targets[0].Message).To(Equal("webhook smoke of afterDeployment[0] failed by judgment cb-fail (ci-pipeline): 3 smoke tests failed; the target keeps the new version, its dependants do not start"))
		Expect(readyOf(d.Status.Conditions).Reason).To(Equal(deployment.ReasonWebhookFailed))
		Expect(d.Status.Targets[0].Webhooks).To(ConsistOf(And(HaveField("Phase", deployv1alpha1.WebhookFailed), HaveField("Message", "3 smoke tests failed"))))
		Expect(rcv.received()[0].Body).To(HaveKeyWithValue("version", "web-5d8f7c9b1a"))
	}, SpecTimeout(time.Minute))

	It("fails the target when no callback comes within the webhook's timeout", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		storeSecrets(ctx, ns)
		rcv := &receiver{}
		url := startReceiver(rcv)
		createDeployment(ctx, ns, "web-hook-silent", oneTarget, withWebhookGate(url, true, 2))
		Eventually(rcv.received).Should(HaveLen(1))
		d := waitForState(ctx, ns, "web-hook-silent", deployv1alpha1.StateFailed)
		Expect(d.Status.Targets[0].Message).To(Equal("webhook smoke of beforeDeployment[0]: no callback within 2s"))
		Expect(d.Status.Targets[0].Webhooks).To(ConsistOf(HaveField("Phase", deployv1alpha1.WebhookTimedOut)))
		Expect(rolloutCount(ctx, ns)).To(BeZero())
	}, SpecTimeout(time.Minute))

	It("fails the target at once when a template names a secret the tenant does not have", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		url := startReceiver(&receiver{})
		createDeployment(ctx, ns, "web-hook-nosecret", oneTarget, withWebhookGate(url, true, 600))
		d := waitForState(ctx, ns, "web-hook-nosecret", deployv1alpha1.StateFailed)
		Expect(d.Status.Targets[0].Message).To(ContainSubstring("webhooks[smoke].headers[0].value: {{secrets.ciToken}}: no Secret aurora-secrets in namespace " + ns))
	}, SpecTimeout(time.Minute))

	It("refuses a secret written as plain text with kubectl, says how to set it, and sends nothing", func(ctx SpecContext) {
		ns := newNamespace(ctx, "prod")
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: deployment.SecretStoreName},
			StringData: map[string]string{"ciToken": "plain-s3cr3t"}})).To(Succeed())
		rcv := &receiver{}
		url := startReceiver(rcv)
		createDeployment(ctx, ns, "web-hook-plain", oneTarget, withWebhookGate(url, true, 600))
		d := waitForState(ctx, ns, "web-hook-plain", deployv1alpha1.StateFailed)
		msg := d.Status.Targets[0].Message
		Expect(msg).To(ContainSubstring(`{{secrets.ciToken}}: secret "ciToken" of Secret ` + ns + "/aurora-secrets is not sealed"))
		Expect(msg).To(ContainSubstring("aurora secrets set ciToken"))
		Expect(msg).NotTo(ContainSubstring("plain-s3cr3t"))
		Expect(d.Status.Targets[0].Webhooks).To(ConsistOf(HaveField("Message", Not(ContainSubstring("plain-s3cr3t")))))
		Expect(rcv.received()).To(BeEmpty())
	}, SpecTimeout(time.Minute))
})

var _ = Describe("callbacks of runWebhook steps", func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(30 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	// webhookStep makes prod's canary 25% → runWebhook smoke → 100%.
	webhookStep := func(s *deployv1alpha1.DeploymentSpec) {
		s.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: "https://ci.example/run"}}
		s.Strategies["canary"] = deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
			{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 25}}, {RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}}}
	}

	DescribeTable("passes a callback's Judgment to the Rollout that waits for it, with its message",
		func(ctx SpecContext, success bool, want deployv1alpha1.Decision) {
			ns := newNamespace(ctx, "prod")
			name := fmt.Sprintf("web-step-%t", success)
			createDeployment(ctx, ns, name, oneTarget, webhookStep)
			ro := rolloutOf(ctx, ns, deployment.RolloutName(name, "prod"))
			Expect(ro.Spec.CallbackBaseURI).To(Equal(testAPIURL + "/webhooks/" + name + "/prod"))
			Expect(ro.Spec.Webhooks).To(ConsistOf(HaveField("Name", "smoke")))
			// The executor called the webhook and waits for its callback.
			execute(ctx, ns, ro.Name, func(s *rolloutv1alpha1.RolloutStatus) {
				s.Phase, s.CurrentStep, s.TotalSteps, s.Weight, s.WaitingFor = rolloutv1alpha1.PhaseProgressing, 2, 3, 25, "steps[1]"
				s.Message = "step 2/3: weight 25%: waiting for the callback of webhook smoke"
				s.Webhooks = []deployv1alpha1.WebhookCall{{Gate: "steps[1]", Name: "smoke", Phase: deployv1alpha1.WebhookAwaitingCallback, Attempts: 1, StatusCode: 202}}
			})
			d := waitForState(ctx, ns, name, deployv1alpha1.StateRunning)
			Eventually(func() []deployv1alpha1.WebhookCall { return deploymentOf(ctx, ns, name).Status.Targets[0].Webhooks }).
				Should(ConsistOf(HaveField("Phase", deployv1alpha1.WebhookAwaitingCallback)))
			Expect(d.Status.PendingApprovals).To(BeEmpty())

			j := callback(ctx, ns, name, "cb", "steps[1]", success, "the **smoke** suite said so")
			Expect(readyOf(j.Status.Conditions).Status).To(Equal(metav1.ConditionTrue), readyOf(j.Status.Conditions).Message)
			Eventually(func() []rolloutv1alpha1.RolloutDecision { return rolloutOf(ctx, ns, ro.Name).Spec.Decisions }).Should(ConsistOf(
				rolloutv1alpha1.RolloutDecision{Name: "cb", Gate: "steps[1]", Decision: want, Reason: "the **smoke** suite said so"}))
		},
		Entry("success approves the step", SpecTimeout(time.Minute), true, deployv1alpha1.DecisionApprove),
		Entry("failure rolls the target back", SpecTimeout(time.Minute), false, deployv1alpha1.DecisionRollback),
	)
})
