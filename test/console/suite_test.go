// Package console drives the Console in headless Chromium against Aurora whole: a cloud cluster,
// two full target clusters with agents, the controllers, the auth service with a person who logs
// in, the Hub, and `aurora server`'s REST API with the Console mounted. It saves a screenshot of
// each page ($AURORA_SCREENSHOTS_DIR; `make screenshots` writes them to docs/screenshots).
package console

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/auth/users"
	"github.com/aurora-cd/aurora/internal/browser"
	"github.com/aurora-cd/aurora/internal/devenv"
)

// The people who log in: alice, tenant admin and deployer of the demo tenant and deployer of a
// second tenant to switch to; bob, only a deployer of the demo tenant. Both have userPassword.
const (
	userName     = "alice"
	deployerName = "bob"
	userPassword = "correct-horse-battery-staple"
)

var (
	env    *devenv.Env
	apiURL string
	b      *browser.Browser
)

func TestConsole(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Console in a browser suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	start := time.Now()

	By("starting Aurora: clusters, controllers, auth service, Hub, agents, REST API with the Console")
	var err error
	env, err = devenv.Start(ctx, devenv.Options{Targets: []string{"staging", "prod"}, TargetNodes: 2,
		HeartbeatInterval: time.Second, ConsolePollInterval: time.Second, Log: ctrl.Log.WithName("devenv")})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	apiURL = env.APIURL

	By("creating a second tenant and the person")
	qa := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "demo-qa"},
		Spec: iamv1alpha1.TenantSpec{Organization: "demo", Environment: "qa", DisplayName: "Aurora demo QA"}}
	Expect(env.CloudClient.Create(ctx, qa)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(env.CloudClient.Get(ctx, client.ObjectKeyFromObject(qa), qa)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(qa.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
	}).WithTimeout(time.Minute).Should(Succeed())
	_, err = users.EnsureUser(ctx, env.CloudClient, "aurora-system", &iamv1alpha1.User{
		ObjectMeta: metav1.ObjectMeta{Name: userName},
		Spec: iamv1alpha1.UserSpec{Organization: "demo", DisplayName: "Alice", Tenants: []iamv1alpha1.TenantRoles{
			{Environment: "dev", Roles: []string{iamv1alpha1.RoleDeployer, iamv1alpha1.RoleTenantAdmin}},
			{Environment: "qa", Roles: []string{iamv1alpha1.RoleDeployer}},
		}},
	}, userPassword, true)
	Expect(err).NotTo(HaveOccurred())
	_, err = users.EnsureUser(ctx, env.CloudClient, "aurora-system", &iamv1alpha1.User{
		ObjectMeta: metav1.ObjectMeta{Name: deployerName},
		Spec: iamv1alpha1.UserSpec{Organization: "demo", DisplayName: "Bob", Tenants: []iamv1alpha1.TenantRoles{
			{Environment: "dev", Roles: []string{iamv1alpha1.RoleDeployer}},
		}},
	}, userPassword, true)
	Expect(err).NotTo(HaveOccurred())

	By("starting Chromium, trusting the keys of the API's and the auth service's certificates")
	b, err = browser.Start(context.Background(), browser.Options{TrustedCertificates: [][]byte{
		peerCertificate(env.APIURL, env.ClientTLS), peerCertificate(env.Issuer, env.ClientTLS)}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(b.Stop)
	AddReportEntry("environment started in", time.Since(start).String())
	AddReportEntry("screenshots", b.ScreenshotsDir)
}, NodeTimeout(20*time.Minute))

// peerCertificate is the PEM serving certificate of an https URL, as a client trusting clientTLS
// sees it.
func peerCertificate(url string, clientTLS *tls.Config) []byte {
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), clientTLS)
	Expect(err).NotTo(HaveOccurred())
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	Expect(certs).NotTo(BeEmpty())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw})
}
