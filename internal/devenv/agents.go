package devenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/version"
	"github.com/aurora-cd/aurora/rna"
	"github.com/aurora-cd/aurora/rna/executor"
)

// agentProcess is the RNA of one target: its tunnel client and its Rollout executor.
type agentProcess struct {
	agent      *rna.Agent
	credential Credential
	stop       func()
}

// StartAgent (re)starts the RNA of a target: it gets a machine credential bound to its identifier
// on first start, dials the Hub and runs the Rollout executor in the target cluster.
func (e *Env) StartAgent(ctx context.Context, id string) error {
	target, ok := e.Targets[id]
	if !ok {
		return fmt.Errorf("no target cluster %q", id)
	}
	e.mu.Lock()
	proc := e.agents[id]
	e.mu.Unlock()
	if proc == nil {
		clientID, secret, err := e.createCredential(ctx, id+"-agent", []iamv1alpha1.Scope{iamv1alpha1.ScopeAgentHubFull}, []string{id})
		if err != nil {
			return err
		}
		proc = &agentProcess{credential: Credential{ClientID: clientID, ClientSecret: secret}}
		e.onStop(func() { e.StopAgent(id) })
	}
	tokens, err := rna.ClientCredentialsTokenSource(context.Background(), rna.ClientCredentials{
		ClientID: proc.credential.ClientID, ClientSecret: proc.credential.ClientSecret,
		TokenURL: e.Issuer + "/oauth/token", TLS: e.ClientTLS,
	})
	if err != nil {
		return fmt.Errorf("agent %s: %w", id, err)
	}
	agent, err := rna.New(rna.Options{
		HubAddress: e.HubAddress, TLS: e.ClientTLS, TokenSource: tokens, AgentIdentifier: id, AgentVersion: version.Version,
		Target: target.Config, InitialBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second,
		Log: e.opts.Log.WithName("rna").WithValues("agent", id), Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		return fmt.Errorf("agent %s: %w", id, err)
	}
	// Several agents (and restarts of one) share this process: their controllers share a name.
	mgr, err := ctrl.NewManager(target.Config, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		return fmt.Errorf("agent %s: creating its manager: %w", id, err)
	}
	if err := (&executor.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("aurora-executor"), Previews: agent, HTTPClient: e.outboundClient()}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("agent %s: setting up the executor: %w", id, err)
	}
	if err := mgr.Add(agent); err != nil {
		return fmt.Errorf("agent %s: adding the tunnel: %w", id, err)
	}
	proc.agent = agent
	proc.stop = runInBackground(e.opts.Log, "rna "+id, mgr.Start)
	e.mu.Lock()
	e.agents[id] = proc
	e.mu.Unlock()
	return nil
}

// StopAgent stops the RNA of a target (its tunnel and its executor).
func (e *Env) StopAgent(id string) {
	e.mu.Lock()
	proc := e.agents[id]
	e.mu.Unlock()
	if proc != nil && proc.stop != nil {
		proc.stop()
		proc.stop = nil
	}
}

// AgentConnected reports whether the RNA of a target holds a tunnel.
func (e *Env) AgentConnected(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	proc := e.agents[id]
	return proc != nil && proc.stop != nil && proc.agent.Connected()
}

// waitAgentsConnected waits until every agent holds a tunnel.
func (e *Env) waitAgentsConnected(ctx context.Context) error {
	return waitFor(ctx, time.Minute, func() (bool, error) {
		for _, id := range e.opts.Targets {
			if !e.AgentConnected(id) {
				return false, nil
			}
		}
		return true, nil
	})
}

// outboundClient is the HTTP client of the agents' metric queries and webhook calls: TLS 1.2 or
// newer, trusting the system's roots and the environment's CA (so that local receivers can use
// its certificates).
func (e *Env) outboundClient() *http.Client {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	roots.AppendCertsFromPEM(e.CA.CertPEM)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}}}
}
