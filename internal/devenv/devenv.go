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
	// credentials.json, config, and last ready.
	StateDir string
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
	// Issuer is the auth service's URL; HubAddress the Hub's host:port.
	Issuer, HubAddress string
	// Deployer is a machine credential of the tenant with api:deployment:full and
	// read:infrastructure:data, for CI-like clients.
	Deployer Credential

	serverTLS *tls.Config
	verifier  *verify.Verifier
	authSrv   *auth.Server

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

// Start brings the whole environment up; on error it stops what it started.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	opts = opts.withDefaults()
	e := &Env{opts: opts, Targets: map[string]*testcluster.Cluster{}, agents: map[string]*agentProcess{}}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	crdDir, err := writeCRDs()
	if err != nil {
		return nil, err
	}
	e.onStop(func() { _ = os.RemoveAll(crdDir) })

	log := opts.Log
	log.Info("Starting the cloud cluster")
	if e.Cloud, err = testcluster.StartAPI(ctx, testcluster.Options{Name: "cloud", Scheme: scheme.New(), CRDDirectoryPaths: []string{crdDir}}); err != nil {
		return nil, fmt.Errorf("starting the cloud cluster: %w", err)
	}
	e.onStop(func() { _ = e.Cloud.Stop() })
	e.CloudClient = e.Cloud.Client
	for _, id := range opts.Targets {
		log.Info("Starting a target cluster", "agent", id, "nodes", opts.TargetNodes)
		c, err := testcluster.StartFull(ctx, testcluster.Options{Name: id, Scheme: scheme.New(), CRDDirectoryPaths: []string{crdDir}, Nodes: opts.TargetNodes})
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
		if err := e.writeState(opts.StateDir); err != nil {
			return nil, err
		}
	}
	log.Info("Aurora is up", "issuer", e.Issuer, "hub", e.HubAddress, "tenantNamespace", e.TenantNamespace)
	return e, nil
}

// Stop stops everything, the latest started first. It is safe to call more than once.
func (e *Env) Stop() {
	e.mu.Lock()
	stops := e.stops
	e.stops = nil
	e.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
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
