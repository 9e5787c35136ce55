package security_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
)

// webhookReceiver is an HTTPS server (the test CA's certificate) that records the Authorization
// header of every call and answers 202, as a CI system that will call back later.
type webhookReceiver struct {
	mu    sync.Mutex
	auths []string
}

func (rcv *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rcv.mu.Lock()
	rcv.auths = append(rcv.auths, r.Header.Get("Authorization"))
	rcv.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// received returns the Authorization headers received so far.
func (rcv *webhookReceiver) received() []string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]string(nil), rcv.auths...)
}

// startWebhookReceiver serves rcv over TLS until the spec ends and returns its URL.
func startWebhookReceiver(rcv *webhookReceiver) string {
	ts := httptest.NewUnstartedServer(rcv)
	ts.TLS = serverTLS.Clone()
	ts.StartTLS()
	DeferCleanup(ts.Close)
	return ts.URL
}

// webhookDeployment is a deployment of one target whose beforeDeployment gate calls url with the
// header Authorization: Bearer {{secrets.<key>}}.
func webhookDeployment(namespace, name, url, key string) *deployv1alpha1.Deployment {
	GinkgoHelper()
	d := &deployv1alpha1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	Expect(yaml.UnmarshalStrict([]byte(`
application: web
targets:
  prod:
    account: prod
    namespace: web
    strategy: rolling
    constraints:
      beforeDeployment: [{runWebhook: {name: smoke}}]
strategies:
  rolling: {canary: {steps: [{setWeight: {weight: 100}}]}}
webhooks:
  - name: smoke
    method: POST
    uriTemplate: `+url+`/run
    headers: [{key: Authorization, value: "Bearer {{secrets.`+key+`}}"}]
    timeout: {duration: 600, unit: seconds}
manifests:
  - inline: |
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: web}
`), &d.Spec)).To(Succeed())
	return d
}

// connectedAgent registers the agent prod in namespace as connected, as the Hub does.
func connectedAgent(ctx SpecContext, namespace string) {
	GinkgoHelper()
	agent := &deployv1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "prod"}, Spec: deployv1alpha1.AgentSpec{AgentIdentifier: "prod"}}
	Expect(cloudClient.Create(ctx, agent)).To(Succeed())
	agent.Status.Connected = true
	agent.Status.LastHeartbeatAt = &metav1.Time{Time: metav1.Now().Time}
	Expect(cloudClient.Status().Update(ctx, agent)).To(Succeed())
}

// randomSecret returns a value no other spec uses.
func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "s3cr3t-" + hex.EncodeToString(b)
}

var _ = Describe("Tenant secrets at rest", func() {
	It("stores a secret set through the REST API only sealed, and a webhook receives the opened value", func(ctx SpecContext) {
		tok := mustToken(ctx, newCredential(ctx, acme, uniqueName("secrets-setter"), []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull}))
		value := randomSecret()

		By("setting it with PUT /secrets/ciToken over TLS")
		body, err := json.Marshal(map[string]string{"value": value})
		Expect(err).NotTo(HaveOccurred())
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, "https://"+apiAddr+"/secrets/ciToken", bytes.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		By("reading the Secret, and every Secret of the cluster, as the API server returns them")
		raw, err := rawGet(ctx, "/api/v1/namespaces/"+acme.namespace()+"/secrets/"+tenantsecrets.StoreName)
		Expect(err).NotTo(HaveOccurred())
		secret := &corev1.Secret{}
		Expect(json.Unmarshal(raw, secret)).To(Succeed())
		Expect(secret.Data).To(HaveKey("ciToken"))
		Expect(secret.Data["ciToken"][:4]).To(Equal([]byte("AENV")), "the value is sealed")
		expectAbsent(raw, []byte(value), "the tenant secret")
		expectAbsent(secret.Data["ciToken"], []byte(value), "the tenant secret")
		all, err := rawGet(ctx, "/api/v1/secrets")
		Expect(err).NotTo(HaveOccurred())
		expectAbsent(all, []byte(value), "the tenant secret in any Secret")

		By("a constraint webhook that uses {{secrets.ciToken}} receives the value")
		rcv := &webhookReceiver{}
		url := startWebhookReceiver(rcv)
		connectedAgent(ctx, acme.namespace())
		Expect(cloudClient.Create(ctx, webhookDeployment(acme.namespace(), uniqueName("sealed-hook"), url, "ciToken"))).To(Succeed())
		Eventually(rcv.received).WithContext(ctx).WithTimeout(30 * time.Second).Should(ContainElement("Bearer " + value))
	})

	It("refuses a value written as plain text with kubectl: the target fails saying how to set it, and nothing is sent", func(ctx SpecContext) {
		value := randomSecret()
		Expect(cloudClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: globex.namespace(), Name: tenantsecrets.StoreName},
			StringData: map[string]string{"plainToken": value}})).To(Succeed())
		rcv := &webhookReceiver{}
		url := startWebhookReceiver(rcv)
		connectedAgent(ctx, globex.namespace())
		name := uniqueName("plain-hook")
		Expect(cloudClient.Create(ctx, webhookDeployment(globex.namespace(), name, url, "plainToken"))).To(Succeed())

		d := &deployv1alpha1.Deployment{}
		Eventually(func(g Gomega) {
			g.Expect(cloudClient.Get(ctx, types.NamespacedName{Namespace: globex.namespace(), Name: name}, d)).To(Succeed())
			g.Expect(d.Status.State).To(Equal(deployv1alpha1.StateFailed))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(d.Status.Targets).To(HaveLen(1))
		Expect(d.Status.Targets[0].Message).To(And(ContainSubstring(`secret "plainToken"`), ContainSubstring("is not sealed"),
			ContainSubstring("aurora secrets set plainToken")))
		status, err := json.Marshal(d.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(ContainSubstring(value), "the status never shows the value")
		Expect(rcv.received()).To(BeEmpty(), "no webhook call was made")
	})
})
