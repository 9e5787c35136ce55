package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// callbackAPIURL is the REST API's URL the environment's Deployment controller hands out: the
// receiver reads the callback's deployment, target and gate from it.
const callbackAPIURL = "https://api.aurora.test"

// callbackReceiver is a webhook receiver (HTTPS, a certificate of the environment's CA) that answers
// 202 and then calls back as the REST API's callback route does: it reads {{armory.callbackUri}}
// from the body (…/webhooks/<deployment>/<target>/<gate>) and creates the Judgment of the callback
// on that gate — approve on success, rollback with the message on failure.
type callbackReceiver struct {
	success bool
	message string
	mu      sync.Mutex
	calls   []string
}

func (rcv *callbackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer GinkgoRecover()
	var body struct {
		CallbackURI string `json:"callbackUri"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rcv.mu.Lock()
	rcv.calls = append(rcv.calls, body.CallbackURI)
	rcv.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	go rcv.callBack(body.CallbackURI)
}

func (rcv *callbackReceiver) callBack(callbackURI string) {
	defer GinkgoRecover()
	u, err := url.Parse(callbackURI)
	Expect(err).NotTo(HaveOccurred())
	parts := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/webhooks/"), "/")
	Expect(parts).To(HaveLen(3), callbackURI)
	gate, err := url.PathUnescape(parts[2])
	Expect(err).NotTo(HaveOccurred())
	decision := deployv1alpha1.DecisionApprove
	if !rcv.success {
		decision = deployv1alpha1.DecisionRollback
	}
	j := &deployv1alpha1.Judgment{
		ObjectMeta: metav1.ObjectMeta{GenerateName: parts[0] + "-callback-", Namespace: env.TenantNamespace},
		Spec: deployv1alpha1.JudgmentSpec{DeploymentName: parts[0], Target: parts[1], Gate: gate, Decision: decision,
			Author: "ci-pipeline", Reason: rcv.message},
	}
	Expect(env.CloudClient.Create(context.Background(), j)).To(Succeed())
}

func (rcv *callbackReceiver) received() []string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]string(nil), rcv.calls...)
}

func startCallbackReceiver(rcv *callbackReceiver) string {
	GinkgoHelper()
	certPEM, keyPEM, err := env.CA.IssueServing([]string{"127.0.0.1"}, time.Hour)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	srv := httptest.NewUnstartedServer(rcv)
	srv.TLS = cfg
	srv.StartTLS()
	DeferCleanup(srv.Close)
	return srv.URL
}

var _ = Describe("A runWebhook step through the whole system", func() {
	// withWebhook makes the strategy 50% → runWebhook tests → 100%, the webhook calling url.
	withWebhook := func(d *deployv1alpha1.Deployment, url string) {
		d.Spec.Webhooks = []deployv1alpha1.Webhook{{Name: "tests", Method: "POST", URITemplate: url + "/run",
			BodyTemplate: &deployv1alpha1.BodyTemplate{Inline: `{"callbackUri": "{{armory.callbackUri}}"}`}}}
		d.Spec.Strategies["main"] = deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{Steps: []deployv1alpha1.CanaryStep{
			{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 50}}, {RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "tests"}}}}}
	}

	DescribeTable("the executor calls the webhook in the target cluster and acts on the callback's Judgment",
		func(ctx SpecContext, success bool, state deployv1alpha1.DeploymentState, pods map[string]int) {
			application := "hooked-" + map[bool]string{true: "ok", false: "fail"}[success]
			v1 := deployment(application+"-v1", application, app(application, "v1", 4, false), canary(100), "staging")
			Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
			waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)

			rcv := &callbackReceiver{success: success, message: "integration tests: 42 passed, " + map[bool]string{true: "0", false: "3"}[success] + " failed"}
			v2 := deployment(application+"-v2", application, app(application, "v2", 4, false), canary(100), "staging")
			withWebhook(v2, startCallbackReceiver(rcv))
			Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
			waitState(ctx, v2, state, 2*time.Minute)
			expectPods(ctx, "staging", application, pods)

			Expect(rcv.received()).To(ConsistOf(callbackAPIURL + "/webhooks/" + v2.Name + "/staging/steps%5B1%5D"))
			t := targetStatus(v2, "staging")
			Expect(t.Webhooks).To(ConsistOf(And(HaveField("Gate", "steps[1]"), HaveField("Message", rcv.message))))
			if !success {
				Expect(t.Message).To(ContainSubstring(rcv.message))
			}
		},
		Entry("success continues", SpecTimeout(5*time.Minute), true, deployv1alpha1.StateSucceeded, map[string]int{"v2": 4}),
		Entry("failure rolls back", SpecTimeout(5*time.Minute), false, deployv1alpha1.StateRolledBack, map[string]int{"v1": 4}),
	)
})

var _ = Describe("An afterDeployment webhook gate through an agent", func() {
	DescribeTable("the agent calls it once the blue/green switched, and the callback's Judgment finishes or rolls back the target",
		func(ctx SpecContext, success bool, state deployv1alpha1.DeploymentState, pods map[string]int, activeTag string) {
			application := "bg-gated-" + map[bool]string{true: "ok", false: "fail"}[success]
			manifest := func(tag string) string {
				return app(application, tag, 2, false) + services(application, application, application+"-preview")
			}
			strategy := deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: application, PreviewService: application + "-preview"}}
			v1 := deployment(application+"-v1", application, manifest("v1"), strategy, "staging")
			Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
			waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)
			blue := versionOf(ctx, "staging", application, "v1")

			rcv := &callbackReceiver{success: success, message: "smoke tests inside the cluster's network: " + map[bool]string{true: "passed", false: "2 failed"}[success]}
			url := startCallbackReceiver(rcv)
			v2 := deployment(application+"-v2", application, manifest("v2"), strategy, "staging")
			v2.Spec.Webhooks = []deployv1alpha1.Webhook{{Name: "smoke", Method: "POST", URITemplate: url + "/smoke", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent,
				BodyTemplate: &deployv1alpha1.BodyTemplate{Inline: `{"callbackUri": "{{armory.callbackUri}}"}`}}}
			v2.Spec.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Namespace: application, Strategy: "main", Constraints: &deployv1alpha1.Constraints{
				AfterDeployment: []deployv1alpha1.AfterDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "smoke"}}}}}
			Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
			waitState(ctx, v2, state, 3*time.Minute)
			expectPods(ctx, "staging", application, pods)

			Expect(rcv.received()).To(ConsistOf(callbackAPIURL+"/webhooks/"+v2.Name+"/staging/afterDeployment%5B0%5D"), "called once, by the agent")
			t := targetStatus(v2, "staging")
			Expect(t.Webhooks).To(ConsistOf(And(HaveField("Gate", "afterDeployment[0]"), HaveField("Name", "smoke"), HaveField("Message", rcv.message))))
			want := versionOf(ctx, "staging", application, activeTag)
			Expect(selects(ctx, "staging", application, application)).To(Equal(want))
			if !success {
				Expect(want).To(Equal(blue))
				Expect(t.Message).To(ContainSubstring(rcv.message))
			}
		},
		Entry("success finishes", SpecTimeout(6*time.Minute), true, deployv1alpha1.StateSucceeded, map[string]int{"v2": 2}, "v2"),
		Entry("failure switches the active Service back to the old version and removes the new one", SpecTimeout(6*time.Minute), false,
			deployv1alpha1.StateRolledBack, map[string]int{"v1": 2}, "v1"),
	)
})

var _ = Describe("A beforeDeployment webhook gate through an agent", func() {
	DescribeTable("the agent calls it before the Rollout applies anything, and the callback's Judgment starts the deployment or fails the target",
		func(ctx SpecContext, success bool, state deployv1alpha1.DeploymentState, pods map[string]int) {
			application := "gated-before-" + map[bool]string{true: "ok", false: "fail"}[success]
			v1 := deployment(application+"-v1", application, app(application, "v1", 2, false), canary(100), "staging")
			Expect(env.CloudClient.Create(ctx, v1)).To(Succeed())
			waitState(ctx, v1, deployv1alpha1.StateSucceeded, 2*time.Minute)

			rcv := &callbackReceiver{success: success, message: "change ticket " + map[bool]string{true: "approved", false: "refused: change freeze"}[success]}
			url := startCallbackReceiver(rcv)
			v2 := deployment(application+"-v2", application, app(application, "v2", 2, false), canary(50), "staging")
			v2.Spec.Webhooks = []deployv1alpha1.Webhook{{Name: "ticket", Method: "POST", URITemplate: url + "/ticket", NetworkMode: deployv1alpha1.NetworkModeRemoteNetworkAgent,
				BodyTemplate: &deployv1alpha1.BodyTemplate{Inline: `{"callbackUri": "{{armory.callbackUri}}"}`}}}
			v2.Spec.Targets["staging"] = deployv1alpha1.Target{Account: "staging", Namespace: application, Strategy: "main", Constraints: &deployv1alpha1.Constraints{
				BeforeDeployment: []deployv1alpha1.BeforeDeploymentStep{{RunWebhook: &deployv1alpha1.RunWebhookStep{Name: "ticket"}}}}}
			Expect(env.CloudClient.Create(ctx, v2)).To(Succeed())
			waitState(ctx, v2, state, 3*time.Minute)
			expectPods(ctx, "staging", application, pods)

			Expect(rcv.received()).To(ConsistOf(callbackAPIURL+"/webhooks/"+v2.Name+"/staging/beforeDeployment%5B0%5D"), "called once, by the agent")
			t := targetStatus(v2, "staging")
			Expect(t.Webhooks).To(ConsistOf(And(HaveField("Gate", "beforeDeployment[0]"), HaveField("Name", "ticket"), HaveField("Message", rcv.message))))
			if !success {
				Expect(t.Message).To(ContainSubstring(rcv.message))
			}
		},
		Entry("success deploys", SpecTimeout(6*time.Minute), true, deployv1alpha1.StateSucceeded, map[string]int{"v2": 2}),
		Entry("failure fails the target with nothing applied", SpecTimeout(6*time.Minute), false, deployv1alpha1.StateFailed, map[string]int{"v1": 2}),
	)
})
