// Package devenv runs Aurora whole on one machine: a cloud cluster and target clusters (real
// control planes from internal/testcluster), the controllers, the auth service, the Agent Hub, and
// in each target a Remote Network Agent with its Rollout executor — all in this process, over real
// TLS on 127.0.0.1. `aurora dev` and the end-to-end tests use it.
package devenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/verify"
	crdfs "github.com/aurora-cd/aurora/config/crd"
	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// Options configure an environment. The zero value gives the embedded default: targets staging and
// prod, tenant demo/dev.
type Options struct {
	// Targets are the agent identifiers of the target clusters, one full cluster each.
	Targets []string
	// TargetNodes is the number of simulated nodes per target cluster. Default 3.
	TargetNodes int
	// Organization and Environment name the demo tenant. Default demo / dev.
	Organization, Environment string
	// HeartbeatInterval of the tunnels. Default 2s.
	HeartbeatInterval time.Duration
	// StateDir, when set, receives what a client needs: endpoints.json, ca.crt, kubeconfig-<name>,
	// credentials.json, the aurora CLI's config, and last ready. It also keeps what a restart reuses:
	// state.json, the dev CA's key, the auth service's master key, the preview-link key and each
	// cluster's etcd data under clusters/. A start on a directory an earlier run left continues with
	// its tenant, credentials, users and Deployments; a directory in use by a running environment is
	// refused.
	StateDir string
	// ConsoleRedirectURIs are more redirect URIs of the Console (OAuth client aurora-console) the
	// auth service accepts, besides the Console of the environment's REST API (ConsoleURL).
	ConsoleRedirectURIs []string
	// ConsolePollInterval is how often the Console refreshes its pages. Default
	// console.DefaultPollInterval.
	ConsolePollInterval time.Duration
	// Fresh deletes what an earlier run left in StateDir before starting.
	Fresh bool
	// DemoUser and DemoPassword are the login of the demo tenant's person (a tenant admin and
	// deployer there), for the device flow and the Console. Default demo / aurora-demo-password.
	DemoUser, DemoPassword string
	// APIURL is the REST API's public URL, when one runs: the Deployment controller gives webhook
	// steps their callback URI under it.
	APIURL string
	// Log is the environment's logger.
	Log logr.Logger
}

func (o Options) withDefaults() Options {
	if len(o.Targets) == 0 {
		o.Targets = []string{"staging", "prod"}
	}
	if o.TargetNodes <= 0 {
		o.TargetNodes = 3
	}
	if o.Organization == "" {
		o.Organization = "demo"
	}
	if o.Environment == "" {
		o.Environment = "dev"
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 2 * time.Second
	}
	if o.DemoUser == "" {
		o.DemoUser = "demo"
	}
	if o.DemoPassword == "" {
		o.DemoPassword = "aurora-demo-password"
	}
	return o
}

// Env is a running environment.
type Env struct {
	opts Options

	// Cloud is the cloud cluster; CloudClient an admin client of it.
	Cloud       *testcluster.Cluster
	CloudClient client.Client
	// Targets are the target clusters by agent identifier.
	Targets map[string]*testcluster.Cluster
	// TenantNamespace is the demo tenant's namespace in the cloud cluster.
	TenantNamespace string
	// CA signed every serving certificate; ClientTLS trusts it.
	CA        *tlsutil.CA
	ClientTLS *tls.Config
	// HTTPClient trusts the CA.
	HTTPClient *http.Client
	// Issuer is the auth service's URL; HubAddress the Hub's host:port; APIURL the REST API's
	// URL (the Console is served under APIURL + "/console/").
	Issuer, HubAddress, APIURL string
	// PreviewURL is the base URL of the Hub's preview links.
	PreviewURL string
	// Deployer is a machine credential of the tenant with api:deployment:full and
	// read:infrastructure:data, for CI-like clients.
	Deployer Credential
	// Admin is a machine credential of the tenant with api:tenant:full (the CLI's config uses it).
	Admin Credential
	// DemoUser is the login of a person of the demo tenant (roles tenant-admin and deployer).
	DemoUser Login

	serverTLS *tls.Config
	verifier  *verify.Verifier
	// previewKey signs preview links; the same across Hub restarts.
	previewKey []byte
	// masterKey seals the auth service's signing keys and, through sealer, the tenant secrets the
	// REST API sets and the Deployment controller opens; kept in the state directory.
	masterKey []byte
	sealer    *envelope.Sealer
	authSrv   *auth.Server
	// state is the held state directory, or nil without Options.StateDir.
	state *stateDir

	mu      sync.Mutex
	stops   []func() // in start order; Stop runs them in reverse
	hubStop func()
	agents  map[string]*agentProcess
}

// Credential is a machine credential's client id and secret.
type Credential struct {
	// ClientID is the client id.
	ClientID string `json:"clientId"`
	// ClientSecret is the client secret.
	ClientSecret string `json:"clientSecret"`
}

// Login is a person's username and password.
type Login struct {
	// Username is the User's name.
	Username string `json:"user"`
	// Password is the user's password.
	Password string `json:"password"`
}

// Start brings the whole environment up; on error it stops what it started.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	opts = opts.withDefaults()
	e := &Env{opts: opts, Targets: map[string]*testcluster.Cluster{}, agents: map[string]*agentProcess{}}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	log := opts.Log
	if opts.StateDir != "" {
		if e.state, err = openStateDir(opts.StateDir, opts); err != nil {
			return nil, err
		}
		e.onStop(e.state.unlock) // runs last
		if e.state.reused {
			log.Info("Reusing the state directory", "stateDir", opts.StateDir)
			// An error from here on may come from what the earlier run left.
			defer func() {
				if err != nil && ctx.Err() == nil {
					err = fmt.Errorf("%w (state directory %s from an earlier run: if it cannot be repaired, %s)", err, opts.StateDir, freshFlagAdvice)
				}
			}()
		}
	}
	crdDir, err := writeCRDs()
	if err != nil {
		return nil, err
	}
	e.onStop(func() { _ = os.RemoveAll(crdDir) })

	log.Info("Starting the cloud cluster")
	if e.Cloud, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "cloud", Scheme: scheme.New(), CRDDirectoryPaths: []string{crdDir}, DataDir: e.clusterDataDir("cloud")}); err != nil {
		return nil, fmt.Errorf("starting the cloud cluster: %w", err)
	}
	e.onStop(func() { _ = e.Cloud.Stop() })
	e.CloudClient = e.Cloud.Client
	for _, id := range opts.Targets {
		log.Info("Starting a target cluster", "agent", id, "nodes", opts.TargetNodes)
		c, err := testcluster.StartFull(ctx, testcluster.Options{Name: id, Scheme: scheme.New(), CRDDirectoryPaths: []string{crdDir}, Nodes: opts.TargetNodes,
			DataDir: e.clusterDataDir(id)})
		if err != nil {
			return nil, fmt.Errorf("starting target cluster %s: %w", id, err)
		}
		e.onStop(func() { _ = c.Stop() })
		e.Targets[id] = c
	}
	if err := e.startControlPlane(ctx); err != nil {
		return nil, err
	}
	for _, id := range opts.Targets {
		if err := e.StartAgent(ctx, id); err != nil {
			return nil, err
		}
	}
	if err := e.waitAgentsConnected(ctx); err != nil {
		return nil, err
	}
	if opts.StateDir != "" {
		if err := e.state.markComplete(); err != nil {
			return nil, err
		}
		if err := e.writeState(opts.StateDir); err != nil {
			return nil, err
		}
	}
	log.Info("Aurora is up", "issuer", e.Issuer, "hub", e.HubAddress, "tenantNamespace", e.TenantNamespace)
	return e, nil
}

// Stop stops everything, the latest started first, and then releases the state directory; its
// ready file goes first. It is safe to call more than once.
func (e *Env) Stop() {
	if e.opts.StateDir != "" && e.state != nil {
		_ = os.Remove(filepath.Join(e.opts.StateDir, readyFileName))
	}
	e.mu.Lock()
	stops := e.stops
	e.stops = nil
	e.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
}

// clusterDataDir is the persistent data directory of a cluster in the state directory, or "" (a
// temporary one) without a state directory.
func (e *Env) clusterDataDir(name string) string {
	if e.state == nil {
		return ""
	}
	return e.state.clusterDataDir(name)
}

func (e *Env) onStop(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stops = append(e.stops, f)
}

// runInBackground runs f until the returned stop is called; stop waits for f to return.
func runInBackground(log logr.Logger, what string, f func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error(err, "Component stopped with an error", "component", what)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

// writeCRDs writes the embedded CRDs into a temporary directory for the clusters to install.
func writeCRDs() (string, error) {
	dir, err := os.MkdirTemp("", "aurora-crds-")
	if err != nil {
		return "", fmt.Errorf("creating a directory for the CRDs: %w", err)
	}
	entries, err := crdfs.Bases.ReadDir("bases")
	if err != nil {
		return "", fmt.Errorf("reading the embedded CRDs: %w", err)
	}
	for _, entry := range entries {
		data, err := crdfs.Bases.ReadFile("bases/" + entry.Name())
		if err != nil {
			return "", fmt.Errorf("reading CRD %s: %w", entry.Name(), err)
		}
		if err := os.WriteFile(filepath.Join(dir, entry.Name()), data, 0o600); err != nil {
			return "", fmt.Errorf("writing CRD %s: %w", entry.Name(), err)
		}
	}
	return dir, nil
}
