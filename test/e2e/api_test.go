package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/server"
)

var _ = Describe("The REST API", func() {
	It("starts a canary from a deploy file, approves it, reports it and answers the agents' inventory", func(ctx SpecContext) {
		const application = "api-facts"
		tok := deployerToken()
		deployFile := func(tag string, strategy deployv1alpha1.Strategy) []byte {
			d := deployment("unused", application, app(application, tag, 4, false), strategy, "staging")
			out, err := yaml.Marshal(d.Spec)
			Expect(err).NotTo(HaveOccurred())
			return out
		}
		status := func(id string) string {
			var p server.Pipeline
			apiCall(http.MethodGet, "/pipelines/"+id, tok, nil, "", http.StatusOK, &p)
			return p.Status
		}

		By("deploying v1 through the API")
		var first server.StartAnswer
		apiCall(http.MethodPost, "/pipelines/kubernetes", tok, deployFile("v1", canary(100)), "application/yaml", http.StatusAccepted, &first)
		Expect(first.PipelineID).To(HavePrefix(application + "-"))
		Eventually(func() string { return status(first.PipelineID) }).
			WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Equal("SUCCEEDED"))
		expectPods(ctx, "staging", application, map[string]int{"v1": 4})

		By("deploying v2 with a canary that pauses for approval at half the pods")
		var started server.StartAnswer
		apiCall(http.MethodPost, "/pipelines/kubernetes", tok, deployFile("v2", canary(50, "pause", 100)), "application/yaml", http.StatusAccepted, &started)
		Eventually(func(g Gomega) {
			var p server.Pipeline
			apiCall(http.MethodGet, "/pipelines/"+started.PipelineID, tok, nil, "", http.StatusOK, &p)
			g.Expect(p.PendingApprovals).To(ContainElement(SatisfyAll(HaveField("Target", "staging"), HaveField("Gate", "steps[1]"))))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		expectPods(ctx, "staging", application, map[string]int{"v1": 2, "v2": 2})

		By("approving the one waiting gate without naming it")
		var judged server.JudgmentAnswer
		apiCall(http.MethodPost, "/pipelines/"+started.PipelineID+"/approve", tok, nil, "", http.StatusAccepted, &judged)
		Expect(judged.Target).To(Equal("staging"))
		Expect(judged.Gate).To(Equal("steps[1]"))

		var p server.Pipeline
		Eventually(func() string {
			p = server.Pipeline{}
			apiCall(http.MethodGet, "/pipelines/"+started.PipelineID, tok, nil, "", http.StatusOK, &p)
			return p.Status
		}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Equal("SUCCEEDED"))
		Expect(p.Judgments).To(ContainElement(SatisfyAll(HaveField("Decision", "approve"), HaveField("Author", "deployer"))))
		var target server.TargetDeployment
		apiCall(http.MethodGet, "/deployments/"+p.Steps[0].Deployment.ID, tok, nil, "", http.StatusOK, &target)
		Expect(target.Status).To(Equal("SUCCEEDED"))
		Expect(target.Weight).To(Equal(int32(100)))
		expectPods(ctx, "staging", application, map[string]int{"v2": 4})

		By("reading the staging agent's inventory, which the Hub caches from the agent")
		var agents []server.ConnectedAgent
		apiCall(http.MethodGet, "/identity/connected-agents", tok, nil, "", http.StatusOK, &agents)
		Expect(agents).To(ContainElement(SatisfyAll(HaveField("AgentIdentifier", "staging"), HaveField("Connected", true))))
		Eventually(func(g Gomega) {
			var inv server.InfrastructureAnswer
			apiCall(http.MethodGet, "/infrastructure/agents/staging/namespaces", tok, nil, "", http.StatusOK, &inv)
			g.Expect(inv.Items).To(ContainElement(HaveKeyWithValue("name", application)))
		}).WithContext(ctx).WithTimeout(90 * time.Second).WithPolling(time.Second).Should(Succeed())
	})
})

// deployerToken gets a token of the environment's deployer credential from the auth service.
func deployerToken() string {
	GinkgoHelper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, env.Issuer+"/oauth/token", strings.NewReader(form.Encode()))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(env.Deployer.ClientID), url.QueryEscape(env.Deployer.ClientSecret))
	resp, err := env.HTTPClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	var out struct {
		AccessToken string `json:"access_token"`
	}
	Expect(json.NewDecoder(resp.Body).Decode(&out)).To(Succeed())
	return out.AccessToken
}

// apiCall sends a request to the environment's REST API, expects status and decodes the answer.
func apiCall(method, path, tok string, body []byte, contentType string, status int, into any) {
	GinkgoHelper()
	req, err := http.NewRequest(method, env.APIURL+path, bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := env.HTTPClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(status), "%s %s: %s", method, path, out)
	if into != nil {
		Expect(json.Unmarshal(out, into)).To(Succeed(), "%s", out)
	}
}
