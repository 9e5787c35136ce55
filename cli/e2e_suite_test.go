package cli_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/users"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/judgment"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/controllers/tenant"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/server"
)

// The aurora binary, built for the suite, against a real cloud cluster (kube-apiserver + etcd)
// with the controllers, the auth service and the REST API running over TLS.
var (
	// binary is the built aurora.
	binary string
	// cluster is the cloud cluster; k8sClient talks to it directly.
	cluster   *testcluster.Cluster
	k8sClient client.Client
	// caFile trusts the CA of every serving certificate; httpClient too. serverTLS serves with a
	// certificate of that CA for 127.0.0.1.
	caFile     string
	httpClient *http.Client
	serverTLS  *tls.Config
	// issuerURL and apiURL are the auth service and the REST API.
	issuerURL, apiURL string
	// admin is a machine credential of tenant acme/prod with api:tenant:full; deployer one with
	// api:deployment:full.
	admin, deployer machineCredential
	// secretSealer is the master key the API seals tenant secrets under.
	secretSealer *envelope.Sealer
	// tenantNamespace is acme/prod's namespace.
	tenantNamespace string
)

// The person of the suite: alice, tenant admin in acme/prod and deployer in acme/staging.
const (
	userName     = "alice"
	userPassword = "correct-horse-battery-staple-42"
)

// machineCredential is a client id and secret.
type machineCredential struct{ id, secret string }

func TestCLI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "aurora CLI suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	dir := GinkgoT().TempDir()

	By("building the aurora binary")
	binary = filepath.Join(dir, "aurora")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/aurora")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))

	By("starting the cloud cluster and the controllers")
	cluster, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "cli", Scheme: scheme.New(),
		CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(cluster.Stop)
	k8sClient = cluster.Client
	mgr, err := ctrl.NewManager(cluster.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	Expect((&tenant.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)).To(Succeed())
	Expect((&deployment.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("aurora-deployment-controller")}).SetupWithManager(mgr)).To(Succeed())
	Expect((&judgment.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("aurora-judgment-controller")}).SetupWithManager(mgr)).To(Succeed())
	serveInBackground(mgr.Start)

	By("creating the tenants acme/prod and acme/staging, their credentials and a person")
	tenantNamespace = createTenant(ctx, "acme", "prod")
	createTenant(ctx, "acme", "staging")
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aurora-system"}})).To(Succeed())
	admin = newCredential(ctx, "admin", iamv1alpha1.ScopeTenantFull)
	deployer = newCredential(ctx, "deployer", iamv1alpha1.ScopeDeploymentFull, iamv1alpha1.ScopeInfrastructureRead)
	_, err = users.EnsureUser(ctx, k8sClient, "aurora-system", &iamv1alpha1.User{ObjectMeta: metav1.ObjectMeta{Name: userName},
		Spec: iamv1alpha1.UserSpec{Organization: "acme", DisplayName: "Alice", Tenants: []iamv1alpha1.TenantRoles{
			{Environment: "prod", Roles: []string{iamv1alpha1.RoleTenantAdmin}},
			{Environment: "staging", Roles: []string{iamv1alpha1.RoleDeployer}}}}}, userPassword, true)
	Expect(err).NotTo(HaveOccurred())

	By("starting the auth service and the REST API over TLS")
	ca, err := tlsutil.NewCA("cli test CA", 24*time.Hour)
	Expect(err).NotTo(HaveOccurred())
	caFile = filepath.Join(dir, "ca.crt")
	Expect(os.WriteFile(caFile, ca.CertPEM, 0o644)).To(Succeed())
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, 24*time.Hour)
	Expect(err).NotTo(HaveOccurred())
	serverTLS, err = tlsutil.ServerConfig(certPEM, keyPEM)
	Expect(err).NotTo(HaveOccurred())
	clientTLS, err := tlsutil.ClientConfig(ca.CertPEM)
	Expect(err).NotTo(HaveOccurred())
	httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	masterKey, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	authListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	issuerURL = "https://" + authListener.Addr().String()
	authSrv, err := auth.NewServer(ctx, auth.ServerConfig{Kubernetes: cluster.Config, Issuer: issuerURL,
		KeysNamespace: "aurora-system", KeysSecret: "signing-keys", MasterKey: masterKey, TLS: serverTLS,
		People: auth.PeopleConfig{DevicePollInterval: time.Second}})
	Expect(err).NotTo(HaveOccurred())
	serveInBackground(func(ctx context.Context) error { return authSrv.Serve(ctx, authListener) })
	var verifier *verify.Verifier
	Eventually(func() error {
		verifier, err = verify.NewVerifier(ctx, verify.Options{IssuerURL: issuerURL, Audience: auth.DefaultAudience, HTTPClient: httpClient})
		return err
	}).WithTimeout(30 * time.Second).Should(Succeed())
	apiClient, err := client.New(cluster.Config, client.Options{Scheme: scheme.New()})
	Expect(err).NotTo(HaveOccurred())
	secretKey, err := envelope.NewMasterKey()
	Expect(err).NotTo(HaveOccurred())
	secretSealer, err = envelope.NewSealer(secretKey)
	Expect(err).NotTo(HaveOccurred())
	api, err := server.New(server.Options{Client: apiClient, Verifier: verifier, TLS: serverTLS, Sealer: secretSealer, Log: ctrl.Log.WithName("server")})
	Expect(err).NotTo(HaveOccurred())
	apiListener, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	apiURL = "https://" + apiListener.Addr().String()
	serveInBackground(func(ctx context.Context) error { return api.Serve(ctx, apiListener) })
	Eventually(func() (int, error) {
		resp, err := httpClient.Get(apiURL + "/readyz")
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
}, NodeTimeout(20*time.Minute))

// serveInBackground runs serve until the suite ends.
func serveInBackground(serve func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		if err := serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
			Fail(fmt.Sprintf("a component stopped: %v", err))
		}
	}()
	DeferCleanup(func() { cancel(); <-done })
}

// createTenant creates a Tenant, waits until it is ready and returns its namespace.
func createTenant(ctx context.Context, organization, environment string) string {
	tn := &iamv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: organization + "-" + environment},
		Spec: iamv1alpha1.TenantSpec{Organization: organization, Environment: environment}}
	Expect(k8sClient.Create(ctx, tn)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(tn), tn)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition)).To(BeTrue())
	}).WithTimeout(time.Minute).Should(Succeed())
	return tn.Status.Namespace
}

// newCredential creates a MachineCredential of acme/prod and waits for its secret.
func newCredential(ctx context.Context, name string, scopes ...iamv1alpha1.Scope) machineCredential {
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: tenantNamespace},
		Spec: iamv1alpha1.MachineCredentialSpec{Scopes: scopes}}
	Expect(k8sClient.Create(ctx, mc)).To(Succeed())
	s := &corev1.Secret{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(mc), mc)).To(Succeed())
		g.Expect(mc.Status.SecretHashes).NotTo(BeEmpty())
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: tenantNamespace, Name: machinecredential.SecretName(name)}, s)).To(Succeed())
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return machineCredential{id: string(s.Data[machinecredential.ClientIDKey]), secret: string(s.Data[machinecredential.ClientSecretKey])}
}

// cliEnv is a user's environment for the binary: a home of its own with a configuration file.
type cliEnv struct {
	home string
	vars map[string]string
}

// newCLIEnv writes a configuration (apiURL, authURL, caFile) into a new home; vars are added to the
// environment of every run.
func newCLIEnv(vars map[string]string) *cliEnv {
	home := GinkgoT().TempDir()
	Expect(os.MkdirAll(filepath.Join(home, ".aurora"), 0o700)).To(Succeed())
	cfg := fmt.Sprintf("apiURL: %s\nauthURL: %s\ncaFile: %s\n", apiURL, issuerURL, caFile)
	Expect(os.WriteFile(filepath.Join(home, ".aurora", "config"), []byte(cfg), 0o600)).To(Succeed())
	return &cliEnv{home: home, vars: vars}
}

// as returns an environment that authenticates as a machine credential.
func as(c machineCredential) *cliEnv {
	return newCLIEnv(map[string]string{"AURORA_CLIENT_ID": c.id, "AURORA_CLIENT_SECRET": c.secret})
}

// command is the binary with args in the environment.
func (e *cliEnv) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = e.home
	cmd.Env = []string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH")}
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// result is what a run of the binary gave.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary to its end.
func (e *cliEnv) run(ctx context.Context, args ...string) result {
	return e.runWithInput(ctx, nil, args...)
}

func (e *cliEnv) runWithInput(ctx context.Context, stdin io.Reader, args ...string) result {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := e.command(ctx, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		Fail(fmt.Sprintf("running aurora %s: %v", strings.Join(args, " "), err))
	}
	GinkgoWriter.Printf("$ aurora %s\n%s%s(exit %d)\n", strings.Join(args, " "), r.stdout, r.stderr, r.code)
	return r
}

// writeFile writes a file into the environment's home and returns its path.
func (e *cliEnv) writeFile(name, text string) string {
	p := filepath.Join(e.home, name)
	Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
	Expect(os.WriteFile(p, []byte(text), 0o644)).To(Succeed())
	return p
}
