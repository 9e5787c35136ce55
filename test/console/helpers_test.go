package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// css selects by CSS.
func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// do runs browser actions, failing the spec after timeout.
func do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		path, _ := b.Screenshot("failure-" + strings.ReplaceAll(CurrentSpecReport().LeafNodeText, " ", "-"))
		Fail(fmt.Sprintf("browser: %v (screenshot %s; page problems: %v)", err, path, b.Problems()))
	}
}

// eval evaluates JavaScript in the page.
func eval[T any](js string) T {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	Expect(err).NotTo(HaveOccurred(), js)
	return v
}

// text is the text content of the first element sel matches (SVG elements too).
func text(sel string) string {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
	defer cancel()
	t, err := chromedp.Run(ctx, chromedp.TextContent(css(sel)))
	Expect(err).NotTo(HaveOccurred(), sel)
	return t
}

// screenshot saves the page as an artefact.
func screenshot(name string) {
	GinkgoHelper()
	path, err := b.Screenshot(name)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("screenshot "+name, path)
}

// machineToken gets a token of a machine credential with the client-credentials grant.
func machineToken(clientID, clientSecret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	res, err := env.HTTPClient.PostForm(env.Issuer+"/oauth/token", form)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint answered %d: %s", res.StatusCode, tok.Error)
	}
	return tok.AccessToken, nil
}

// startPipeline starts a deploy.yml through the REST API as a CI pipeline does, and returns its id.
func startPipeline(deployYAML string) string {
	GinkgoHelper()
	token, err := machineToken(env.Deployer.ClientID, env.Deployer.ClientSecret)
	Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequest(http.MethodPost, apiURL+"/pipelines/kubernetes", strings.NewReader(deployYAML))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/yaml")
	res, err := env.HTTPClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	Expect(res.StatusCode).To(Equal(http.StatusAccepted), string(body))
	var ans struct {
		PipelineID string `json:"pipelineId"`
	}
	Expect(json.Unmarshal(body, &ans)).To(Succeed())
	return ans.PipelineID
}

// pipelineStatus reads a pipeline's status word through the REST API.
func pipelineStatus(id string) (string, error) {
	token, err := machineToken(env.Deployer.ClientID, env.Deployer.ClientSecret)
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequest(http.MethodGet, apiURL+"/pipelines/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := env.HTTPClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var p struct {
		Status string `json:"status"`
	}
	return p.Status, json.NewDecoder(res.Body).Decode(&p)
}

// deployFile is potato-facts at a version to staging then prod: a canary with an approval on
// staging, straight to 100% on prod once staging succeeded.
func deployFile(version string) string { return deployFileApprovedBy(version, "") }

// deployFileApprovedBy is deployFile whose approval on staging requires a role (none when empty).
func deployFileApprovedBy(version, role string) string {
	pause := "{untilApproved: true}"
	if role != "" {
		pause = "{untilApproved: true, requiresRoles: [" + role + "]}"
	}
	return fmt.Sprintf(`version: v1
kind: kubernetes
application: potato-facts
targets:
  staging:
    account: staging
    namespace: potato-facts
    strategy: canary
  prod:
    account: prod
    namespace: potato-facts
    strategy: rolling
    constraints:
      dependsOn: [staging]
strategies:
  canary:
    canary:
      steps:
        - setWeight: {weight: 50}
        - pause: %[2]s
        - setWeight: {weight: 100}
  rolling:
    canary:
      steps:
        - setWeight: {weight: 100}
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: potato-facts
      spec:
        replicas: 4
        selector:
          matchLabels: {app: potato-facts}
        template:
          metadata:
            labels: {app: potato-facts}
          spec:
            containers:
              - name: app
                image: ghcr.io/aurora-cd/potato-facts:%[1]s
`, version, pause)
}
