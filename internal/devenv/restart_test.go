package devenv

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
)

// restartApp is the target namespace and name of the application the restart spec deploys.
const restartApp = "potato-facts"

var _ = Describe("A second start on the same state directory", func() {
	It("brings back the tenant, its credentials, Deployments and applications; refuses a concurrent start; --fresh starts afresh", func(ctx SpecContext) {
		dir := filepath.Join(GinkgoT().TempDir(), "state")
		opts := Options{Targets: []string{"staging"}, TargetNodes: 1, StateDir: dir, Log: GinkgoLogr}

		began := time.Now()
		first, err := Start(ctx, opts)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(first.Stop)
		AddReportEntry("first start", time.Since(began).Round(time.Millisecond).String())
		v1 := restartDeployment(first, "potato-facts-v1", "v1")
		Expect(first.CloudClient.Create(ctx, v1)).To(Succeed())
		waitSucceeded(ctx, first, v1)
		podsBefore := readyPods(ctx, first)
		Expect(podsBefore).To(HaveLen(2))
		Expect(podsBefore).To(HaveEach(HaveSuffix(":v1")))
		tenant := &iamv1alpha1.Tenant{}
		Expect(first.CloudClient.Get(ctx, types.NamespacedName{Name: "demo-dev"}, tenant)).To(Succeed())
		creds, config := readJSON(dir, "credentials.json"), readJSON(dir, "config")
		Expect(creds).To(HaveKeyWithValue("clientSecret", first.Deployer.ClientSecret))
		Expect(config).To(HaveKeyWithValue("clientSecret", first.Admin.ClientSecret))
		for _, key := range []string{"ca.key", "master.key", "preview.key", "credentials.json", "config"} {
			info, err := os.Stat(filepath.Join(dir, key))
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)), key)
		}

		By("setting a tenant secret through the REST API, sealed under the state directory's master key")
		firstDeployer := clientcredentials.Config{ClientID: first.Deployer.ClientID, ClientSecret: first.Deployer.ClientSecret,
			TokenURL: first.Issuer + "/oauth/token", Scopes: []string{"api:deployment:full"}}
		firstToken, err := firstDeployer.Token(context.WithValue(ctx, oauth2.HTTPClient, first.HTTPClient))
		Expect(err).NotTo(HaveOccurred())
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, first.APIURL+"/secrets/ciToken", strings.NewReader(`{"value": "restart-s3cr3t"}`))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Authorization", "Bearer "+firstToken.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := first.HTTPClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK))

		By("refusing a second start while the first runs, leaving its files alone")
		_, err = Start(ctx, opts)
		Expect(err).To(MatchError(ContainSubstring("state directory " + dir + " is in use by another aurora dev")))
		Expect(filepath.Join(dir, "ready")).To(BeAnExistingFile())

		By("stopping every process and removing ready")
		processes := append(first.Cloud.Processes(), first.Targets["staging"].Processes()...)
		first.Stop()
		Expect(filepath.Join(dir, "ready")).NotTo(BeAnExistingFile())
		for _, p := range processes {
			Expect(syscall.Kill(p.PID, 0)).To(MatchError(syscall.ESRCH), "%s (pid %d) still runs", p.Component, p.PID)
		}

		By("starting again on the same directory")
		began = time.Now()
		second, err := Start(ctx, opts)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(second.Stop)
		AddReportEntry("second start, reusing the directory", time.Since(began).Round(time.Millisecond).String())
		Expect(filepath.Join(dir, "ready")).To(BeAnExistingFile())

		again := &iamv1alpha1.Tenant{}
		Expect(second.CloudClient.Get(ctx, types.NamespacedName{Name: "demo-dev"}, again)).To(Succeed())
		Expect(again.UID).To(Equal(tenant.UID))
		Expect(second.Deployer).To(Equal(first.Deployer))
		Expect(second.Admin).To(Equal(first.Admin))
		Expect(readJSON(dir, "credentials.json")).To(Equal(creds), "the same client id and secret")
		newConfig := readJSON(dir, "config")
		Expect(newConfig).To(HaveKeyWithValue("clientId", config["clientId"]))
		Expect(newConfig).To(HaveKeyWithValue("clientSecret", config["clientSecret"]))
		Expect(newConfig).To(HaveKeyWithValue("apiURL", second.APIURL), "addresses rewritten")
		Expect(readJSON(dir, "endpoints.json")).To(HaveKeyWithValue("hub", second.HubAddress))

		opened, err := (&tenantsecrets.Store{Client: second.CloudClient, Sealer: second.sealer}).Resolver(ctx, tenant.Status.Namespace)("ciToken")
		Expect(err).NotTo(HaveOccurred(), "the controller and the API of the second start open the secret set before")
		Expect(opened).To(Equal("restart-s3cr3t"))

		kept := &deployv1alpha1.Deployment{}
		Expect(second.CloudClient.Get(ctx, client.ObjectKeyFromObject(v1), kept)).To(Succeed())
		Expect(kept.UID).To(Equal(v1.UID))
		Expect(kept.Status.State).To(Equal(deployv1alpha1.StateSucceeded))

		By("issuing a token for the old client secret")
		deployer := clientcredentials.Config{ClientID: first.Deployer.ClientID, ClientSecret: first.Deployer.ClientSecret,
			TokenURL: second.Issuer + "/oauth/token", Scopes: []string{"api:deployment:full"}}
		token, err := deployer.Token(context.WithValue(ctx, oauth2.HTTPClient, second.HTTPClient))
		Expect(err).NotTo(HaveOccurred())
		Expect(token.AccessToken).NotTo(BeEmpty())

		By("keeping the application in the target cluster")
		Eventually(func() map[types.UID]string { return readyPods(ctx, second) }).WithContext(ctx).WithTimeout(time.Minute).Should(Equal(podsBefore))

		By("reconnecting the agent and running a new Deployment")
		Expect(second.AgentConnected("staging")).To(BeTrue())
		v2 := restartDeployment(second, "potato-facts-v2", "v2")
		Expect(second.CloudClient.Create(ctx, v2)).To(Succeed())
		waitSucceeded(ctx, second, v2)
		Eventually(func() []string { return slices.Collect(maps.Values(readyPods(ctx, second))) }).WithContext(ctx).WithTimeout(time.Minute).
			Should(And(HaveLen(2), HaveEach(HaveSuffix(":v2"))))
		second.Stop()

		By("starting afresh with Fresh")
		fresh, err := Start(ctx, Options{Targets: opts.Targets, TargetNodes: 1, StateDir: dir, Fresh: true, Log: GinkgoLogr})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(fresh.Stop)
		Expect(fresh.CloudClient.Get(ctx, types.NamespacedName{Name: "demo-dev"}, again)).To(Succeed())
		Expect(again.UID).NotTo(Equal(tenant.UID))
		Expect(fresh.Deployer.ClientSecret).NotTo(Equal(first.Deployer.ClientSecret))
		Expect(readJSON(dir, "credentials.json")).To(HaveKeyWithValue("clientSecret", fresh.Deployer.ClientSecret))
		err = fresh.CloudClient.Get(ctx, client.ObjectKeyFromObject(v1), &deployv1alpha1.Deployment{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the old Deployment is gone: %v", err)
		Expect(readyPods(ctx, fresh)).To(BeEmpty(), "the old application is gone")
	}, NodeTimeout(10*time.Minute))
})

// restartDeployment is a Deployment of two replicas of the application at tag to staging, straight
// to 100%.
func restartDeployment(e *Env, name, tag string) *deployv1alpha1.Deployment {
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + restartApp + `
spec:
  replicas: 2
  selector:
    matchLabels: {app: ` + restartApp + `}
  template:
    metadata:
      labels: {app: ` + restartApp + `}
    spec:
      containers:
        - name: app
          image: ghcr.io/aurora-cd/` + restartApp + `:` + tag + `
`
	return &deployv1alpha1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.TenantNamespace},
		Spec: deployv1alpha1.DeploymentSpec{
			Application: restartApp,
			Targets:     map[string]deployv1alpha1.Target{"staging": {Account: "staging", Namespace: restartApp, Strategy: "main"}},
			Manifests:   []deployv1alpha1.Manifest{{Inline: manifest}},
			Strategies: map[string]deployv1alpha1.Strategy{"main": {Canary: &deployv1alpha1.CanaryStrategy{
				Steps: []deployv1alpha1.CanaryStep{{SetWeight: &deployv1alpha1.SetWeightStep{Weight: 100}}}}}},
		},
	}
}

// waitSucceeded waits until the Deployment is SUCCEEDED.
func waitSucceeded(ctx context.Context, e *Env, d *deployv1alpha1.Deployment) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(e.CloudClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
		g.Expect(d.Status.State).To(Equal(deployv1alpha1.StateSucceeded), "targets: %+v", d.Status.Targets)
	}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// readyPods returns the image of each Ready pod of the application in staging, by pod UID.
func readyPods(ctx context.Context, e *Env) map[types.UID]string {
	GinkgoHelper()
	pods := &corev1.PodList{}
	Expect(e.Targets["staging"].Client.List(ctx, pods, client.InNamespace(restartApp), client.MatchingLabels{"app": restartApp})).To(Succeed())
	ready := map[types.UID]string{}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if p.DeletionTimestamp == nil && c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready[p.UID] = p.Spec.Containers[0].Image
			}
		}
	}
	return ready
}

// readJSON reads a JSON object file of the state directory.
func readJSON(dir, name string) map[string]any {
	GinkgoHelper()
	out := map[string]any{}
	Expect(json.Unmarshal(must(os.ReadFile(filepath.Join(dir, name))), &out)).To(Succeed())
	return out
}
