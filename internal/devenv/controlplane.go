package devenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
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
	"github.com/aurora-cd/aurora/hub"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/server"
	"github.com/aurora-cd/aurora/server/console"
)

// systemNamespace holds the control plane's own objects (the auth service's signing keys).
const systemNamespace = "aurora-system"

// startControlPlane runs the controllers, creates the demo tenant, and starts the auth service, the
// Hub and the REST API.
func (e *Env) startControlPlane(ctx context.Context) error {
	log := e.opts.Log
	// The REST API's address is chosen first: the auth service must know the Console's redirect URI
	// and the Deployment controller the webhooks' callback URI.
	apiListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the REST API: %w", err)
	}
	e.APIURL = "https://" + apiListener.Addr().String()
	apiServing := false
	defer func() {
		if !apiServing {
		}
	}()
	callbackURL := e.opts.APIURL
	if callbackURL == "" {
		callbackURL = e.APIURL
	}
	if err := e.loadMasterKey(); err != nil {
		return err
	}
	// Environments started one after another in a process (a restart on the same state directory)
	// share controller names.
	mgr, err := ctrl.NewManager(e.Cloud.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}
	for name, setup := range map[string]func() error{
		"Tenant": func() error { return (&tenant.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr) },
		"MachineCredential": func() error {
			return (&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)
		},
		"Deployment": func() error {
			return (&deployment.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("aurora-deployment-controller"), APIURL: callbackURL, APIReader: mgr.GetAPIReader(), Sealer: e.sealer}).SetupWithManager(mgr)
		},
		"Judgment": func() error {
			return (&judgment.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("aurora-judgment-controller")}).SetupWithManager(mgr)
		},
	} {
		if err := setup(); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", name, err)
		}
	}
	e.onStop(runInBackground(log, "controllers", mgr.Start))

	log.Info("Creating the tenant", "organization", e.opts.Organization, "environment", e.opts.Environment)
	// On a reused state directory everything created here exists already.
	if err := e.CloudClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", systemNamespace, err)
	}
	tn := &iamv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: e.opts.Organization + "-" + e.opts.Environment},
		Spec:       iamv1alpha1.TenantSpec{Organization: e.opts.Organization, Environment: e.opts.Environment, DisplayName: "Aurora demo"},
	}
	if err := e.CloudClient.Create(ctx, tn); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the tenant: %w", err)
	}
	if err := waitFor(ctx, time.Minute, func() (bool, error) {
		if err := e.CloudClient.Get(ctx, client.ObjectKeyFromObject(tn), tn); err != nil {
			return false, err
		}
		return apimeta.IsStatusConditionTrue(tn.Status.Conditions, meta.ReadyCondition), nil
	}); err != nil {
		return fmt.Errorf("waiting for the tenant: %w", err)
	}
	e.TenantNamespace = tn.Status.Namespace

	if err := e.startTLS(); err != nil {
		return err
	}
	if err := e.startAuth(ctx); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("picking the Hub's address: %w", err)
	}
	e.HubAddress = l.Addr().String()
	_ = l.Close()
	if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fmt.Errorf("picking the address of the Hub's preview links: %w", err)
	}
	e.PreviewURL = "https://" + l.Addr().String()
	_ = l.Close()
	if e.state != nil {
		e.previewKey = e.state.previewKey
	} else {
		e.previewKey = make([]byte, 32)
		_, _ = rand.Read(e.previewKey) // crypto/rand.Read never fails.
	}
	if err := e.StartHub(ctx); err != nil {
		return err
	}
	e.onStop(e.StopHub)
	apiServing = true
	if err := e.startAPI(ctx, apiListener); err != nil {
		return err
	}

	id, secret, err := e.createCredential(ctx, "deployer", []iamv1alpha1.Scope{iamv1alpha1.ScopeDeploymentFull, iamv1alpha1.ScopeInfrastructureRead}, nil)
	if err != nil {
		return err
	}
	e.Deployer = Credential{ClientID: id, ClientSecret: secret}
	if id, secret, err = e.createCredential(ctx, "admin", []iamv1alpha1.Scope{iamv1alpha1.ScopeTenantFull}, nil); err != nil {
		return err
	}
	e.Admin = Credential{ClientID: id, ClientSecret: secret}
	return e.createDemoUser(ctx)
}

// createDemoUser makes the demo tenant's person: a tenant admin and deployer with a known password,
// kept (hashed) in the auth service's namespace.
func (e *Env) createDemoUser(ctx context.Context) error {
	u := &iamv1alpha1.User{ObjectMeta: metav1.ObjectMeta{Name: e.opts.DemoUser}, Spec: iamv1alpha1.UserSpec{
		Organization: e.opts.Organization, DisplayName: "Demo user",
		Tenants: []iamv1alpha1.TenantRoles{{Environment: e.opts.Environment, Roles: []string{iamv1alpha1.RoleTenantAdmin, iamv1alpha1.RoleDeployer}}},
	}}
	if _, err := users.EnsureUser(ctx, e.CloudClient, systemNamespace, u, e.opts.DemoPassword, true); err != nil {
		return fmt.Errorf("creating the demo user: %w", err)
	}
	e.DemoUser = Login{Username: e.opts.DemoUser, Password: e.opts.DemoPassword}
	return nil
}

// startTLS makes (or takes from the state directory) the CA, and issues the serving certificate of
// the auth service, the Hub and the REST API.
func (e *Env) startTLS() error {
	var ca *tlsutil.CA
	var err error
	if e.state != nil {
		ca = e.state.ca
	} else if ca, err = tlsutil.NewCA("aurora dev CA", servingValidity); err != nil {
		return fmt.Errorf("creating the CA: %w", err)
	}
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, servingValidity)
	if err != nil {
		return fmt.Errorf("issuing the serving certificate: %w", err)
	}
	if e.serverTLS, err = tlsutil.ServerConfig(certPEM, keyPEM); err != nil {
		return fmt.Errorf("configuring TLS: %w", err)
	}
	if e.ClientTLS, err = tlsutil.ClientConfig(ca.CertPEM); err != nil {
		return fmt.Errorf("configuring client TLS: %w", err)
	}
	e.CA = ca
	e.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: e.ClientTLS}}
	return nil
}

// loadMasterKey takes the master key of the state directory (the signing keys and tenant secrets in
// the cloud cluster are sealed with it), or a new one without a state directory.
func (e *Env) loadMasterKey() error {
	if e.state != nil {
		e.masterKey = e.state.masterKey
	} else {
		var err error
		if e.masterKey, err = envelope.NewMasterKey(); err != nil {
			return fmt.Errorf("creating the master key: %w", err)
		}
	}
	sealer, err := envelope.NewSealer(e.masterKey)
	if err != nil {
		return fmt.Errorf("using the master key: %w", err)
	}
	e.sealer = sealer
	return nil
}

// startAuth runs the auth service and builds the token verifier of the Hub.
func (e *Env) startAuth(ctx context.Context) error {
	masterKey := e.masterKey
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the auth service: %w", err)
	}
	e.Issuer = fmt.Sprintf("https://%s", l.Addr().String())
	srv, err := auth.NewServer(ctx, auth.ServerConfig{
		Kubernetes: e.Cloud.Config, Issuer: e.Issuer, KeysNamespace: systemNamespace, KeysSecret: "aurora-auth-signing-keys",
		MasterKey: masterKey, TLS: e.serverTLS, People: auth.PeopleConfig{ConsoleRedirectURIs: append([]string{e.ConsoleURL()}, e.opts.ConsoleRedirectURIs...)},
	})
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("starting the auth service: %w", err)
	}
	e.authSrv = srv
	e.onStop(runInBackground(e.opts.Log, "auth", func(ctx context.Context) error { return srv.Serve(ctx, l) }))
	return waitFor(ctx, 30*time.Second, func() (bool, error) {
		v, err := verify.NewVerifier(ctx, verify.Options{IssuerURL: e.Issuer, Audience: auth.DefaultAudience, HTTPClient: e.HTTPClient})
		if err != nil {
			return false, nil
		}
		e.verifier = v
		return true, nil
	})
}

// StartHub (re)starts the Agent Hub on HubAddress.
func (e *Env) StartHub(ctx context.Context) error {
	srv, err := hub.New(hub.Options{Cloud: e.Cloud.Config, Verifier: e.verifier, TLS: e.serverTLS, Replica: "hub-0",
		HeartbeatInterval: e.opts.HeartbeatInterval, StatusWriteInterval: 5 * time.Second, Registerer: prometheus.NewRegistry(),
		PreviewKey: e.previewKey, PreviewBaseURL: e.PreviewURL})
	if err != nil {
		return fmt.Errorf("creating the Hub: %w", err)
	}
	var l, previews net.Listener
	if err := waitFor(ctx, 10*time.Second, func() (bool, error) {
		l, err = net.Listen("tcp", e.HubAddress)
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("listening on %s for the Hub: %w", e.HubAddress, err)
	}
	previewAddress := strings.TrimPrefix(e.PreviewURL, "https://")
	if err := waitFor(ctx, 10*time.Second, func() (bool, error) {
		previews, err = net.Listen("tcp", previewAddress)
		return err == nil, nil
	}); err != nil {
		_ = l.Close()
		return fmt.Errorf("listening on %s for the Hub's preview links: %w", previewAddress, err)
	}
	stopPreviews := runInBackground(e.opts.Log, "hub previews", func(ctx context.Context) error { return srv.ServeHTTPS(ctx, previews) })
	stopTunnels := runInBackground(e.opts.Log, "hub", func(ctx context.Context) error { return srv.Serve(ctx, l) })
	stop := func() { stopTunnels(); stopPreviews() }
	e.mu.Lock()
	e.hubStop = stop
	e.mu.Unlock()
	return nil
}

// StopHub stops the Hub (gracefully: agents get Drain).
func (e *Env) StopHub() {
	e.mu.Lock()
	stop := e.hubStop
	e.hubStop = nil
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// createCredential creates a MachineCredential in the tenant namespace (or keeps the one a
// reused state directory holds) and returns its client id and secret, once issued.
func (e *Env) createCredential(ctx context.Context, name string, scopes []iamv1alpha1.Scope, agents []string) (string, string, error) {
	role := iamv1alpha1.RoleDeployer
	if slices.Contains(scopes, iamv1alpha1.ScopeTenantFull) {
		role = iamv1alpha1.RoleTenantAdmin
	}
	mc := &iamv1alpha1.MachineCredential{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.TenantNamespace},
		Spec: iamv1alpha1.MachineCredentialSpec{Scopes: scopes, AgentIdentifiers: agents, Roles: []string{role}}}
	if err := e.CloudClient.Create(ctx, mc); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", "", fmt.Errorf("creating credential %s: %w", name, err)
	}
	// The controller writes the Secret before the hash that verifies it: wait for the hash.
	s := &corev1.Secret{}
	if err := waitFor(ctx, 30*time.Second, func() (bool, error) {
		if err := e.CloudClient.Get(ctx, client.ObjectKeyFromObject(mc), mc); err != nil {
			return false, err
		}
		if len(mc.Status.SecretHashes) == 0 {
			return false, nil
		}
		err := e.CloudClient.Get(ctx, types.NamespacedName{Namespace: e.TenantNamespace, Name: machinecredential.SecretName(name)}, s)
		return err == nil, client.IgnoreNotFound(err)
	}); err != nil {
		return "", "", fmt.Errorf("waiting for the secret of credential %s: %w", name, err)
	}
	return string(s.Data[machinecredential.ClientIDKey]), string(s.Data[machinecredential.ClientSecretKey]), nil
}

// waitFor polls cond every 100ms until it holds, fails, or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond() })
}

// startAPI runs the REST API with the Console on l over TLS from the dev CA, verifying the auth
// service's tokens, reading agent inventories from the Hub.
func (e *Env) startAPI(ctx context.Context, l net.Listener) error {
	c, err := client.New(e.Cloud.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("creating the REST API's client: %w", err)
	}
	inventory, err := server.NewHubInventory(e.HubAddress, e.ClientTLS)
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("connecting the REST API to the Hub: %w", err)
	}
	ui, err := console.New(console.Config{Issuer: e.Issuer, PollInterval: e.opts.ConsolePollInterval})
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("configuring the Console: %w", err)
	}
	e.onStop(func() { _ = inventory.Close() })
	api, err := server.New(server.Options{Client: c, Verifier: e.verifier, TLS: e.serverTLS, Inventory: inventory, Console: ui, Sealer: e.sealer, Log: e.opts.Log.WithName("server")})
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("creating the REST API: %w", err)
	}
	e.onStop(runInBackground(e.opts.Log, "server", func(ctx context.Context) error { return api.Serve(ctx, l) }))
	return waitFor(ctx, 30*time.Second, func() (bool, error) {
		resp, err := e.HTTPClient.Get(e.APIURL + "/readyz")
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}
