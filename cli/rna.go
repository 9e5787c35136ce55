package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/internal/version"
	"github.com/aurora-cd/aurora/rna"
	"github.com/aurora-cd/aurora/rna/executor"
)

// clientSecretEnv is the environment variable that may hold the agent's client secret.
const clientSecretEnv = "AURORA_CLIENT_SECRET"

// rnaOptions are the flags of `aurora rna`.
type rnaOptions struct {
	kubeconfig              string
	hubAddress              string
	hubFallbackAddresses    []string
	hubCAFile               string
	hubServerName           string
	agentIdentifier         string
	clientID                string
	clientSecretFile        string
	tokenURL                string
	audience                string
	inventoryInterval       time.Duration
	initialBackoff          time.Duration
	maxBackoff              time.Duration
	dialTimeout             time.Duration
	sendTimeout             time.Duration
	leaderElect             bool
	leaderElectionNamespace string
	configNamespace         string
	probeAddr               string
	metricsAddr             string
	secureMetrics           bool
	zap                     zap.Options
}

// newRNACommand returns `aurora rna`, the Remote Network Agent of a target cluster.
func newRNACommand() *cobra.Command {
	opts := rnaOptions{}
	cmd := &cobra.Command{
		Use:     "rna",
		GroupID: groupComponents,
		Short:   "Run the Remote Network Agent in a target cluster",
		Long: "Runs the Remote Network Agent (RNA) of a target cluster. It dials out to the Agent Hub over\n" +
			"gRPC with TLS (nothing dials in), authenticates with a MachineCredential's token (client-credentials\n" +
			"grant, scope api:agentHub:full), mirrors the Rollouts the Hub sends into this cluster (server-side\n" +
			"apply), streams their statuses back and reports the cluster's inventory. It reconnects with capped\n" +
			"exponential backoff and full jitter, and drops a stream on which the Hub has been silent for three\n" +
			"heartbeat intervals.\n\n" +
			"Run several replicas with --leader-elect: only the leader holds the tunnel. /readyz fails while the\n" +
			"leader's tunnel is down; standby replicas are ready. The client secret is read from\n" +
			"--client-secret-file or $" + clientSecretEnv + " and never logged.",
		Example: "  aurora rna --hub-address hub.aurora.example:443 --hub-ca-file /etc/aurora/ca.crt \\\n" +
			"    --agent-identifier staging --client-id rna-staging --client-secret-file /etc/aurora/client-secret \\\n" +
			"    --token-url https://auth.aurora.example/oauth/token --leader-elect",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRNA(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.kubeconfig, "kubeconfig", "", "Kubeconfig of the target cluster (default: $KUBECONFIG, ~/.kube/config or in-cluster).")
	f.StringVar(&opts.hubAddress, "hub-address", "", "gRPC address of the Agent Hub, host:port (required).")
	f.StringSliceVar(&opts.hubFallbackAddresses, "hub-fallback-address", nil,
		"More addresses of the Hub (of single replicas, say), tried in turn after --hub-address; repeat or separate with commas.")
	f.StringVar(&opts.hubCAFile, "hub-ca-file", "", "PEM CA certificate(s) to trust for the Hub and the token endpoint (default: the system roots).")
	f.StringVar(&opts.hubServerName, "hub-server-name", "", "Name to verify the Hub's certificate against, when it is not the host of --hub-address.")
	f.StringVar(&opts.agentIdentifier, "agent-identifier", "", "Name of this agent: the deploy file's target account (required).")
	f.StringVar(&opts.clientID, "client-id", "", "Client id of the agent's MachineCredential (required).")
	f.StringVar(&opts.clientSecretFile, "client-secret-file", "", "File holding the MachineCredential's client secret (default: $"+clientSecretEnv+").")
	f.StringVar(&opts.tokenURL, "token-url", "", "Token endpoint of the auth service, https://…/oauth/token (required).")
	f.StringVar(&opts.audience, "audience", rna.DefaultAudience, "Audience of the agent's tokens.")
	f.DurationVar(&opts.inventoryInterval, "inventory-interval", rna.DefaultInventoryInterval, "How often the cluster's inventory is sent to the Hub.")
	f.DurationVar(&opts.initialBackoff, "initial-backoff", rna.DefaultInitialBackoff, "Cap of the first reconnect delay; the cap doubles with each failed attempt.")
	f.DurationVar(&opts.maxBackoff, "max-backoff", rna.DefaultMaxBackoff, "Largest reconnect delay; a stream connected this long resets the backoff.")
	f.DurationVar(&opts.dialTimeout, "dial-timeout", rna.DefaultDialTimeout, "Time allowed to connect: dial, TLS, token, Hello and the Hub's Welcome.")
	f.DurationVar(&opts.sendTimeout, "send-timeout", rna.DefaultSendTimeout, "Time allowed to send one message or close a stream.")
	f.BoolVar(&opts.leaderElect, "leader-elect", false, "Elect a leader, so that of several replicas only one holds the tunnel.")
	f.StringVar(&opts.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	f.StringVar(&opts.configNamespace, "config-namespace", "", "Namespace of the tenant's secret store (Secret "+executor.SecretStoreName+") and metric providers (ConfigMap "+executor.MetricProvidersName+"); the agent's own namespace (default: each Rollout's namespace).")
	f.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	f.StringVar(&opts.metricsAddr, "metrics-bind-address", ":8080", "Address of the /metrics endpoint (0 for none).")
	f.BoolVar(&opts.secureMetrics, "metrics-secure", false, "Serve metrics over HTTPS with Kubernetes authentication and authorization (needs RBAC to create TokenReviews and SubjectAccessReviews).")
	bindLogFlags(f, &opts.zap)
	for _, required := range []string{"hub-address", "agent-identifier", "client-id", "token-url"} {
		_ = cmd.MarkFlagRequired(required)
	}
	return cmd
}

func runRNA(cmd *cobra.Command, opts rnaOptions) error {
	setupLogger(&opts.zap)
	log := ctrl.Log.WithName("setup")

	secret, err := readClientSecret(opts.clientSecretFile)
	if err != nil {
		return err
	}
	tlsConfig, err := rnaClientTLS(opts.hubCAFile, opts.hubServerName)
	if err != nil {
		return err
	}
	cfg, err := restConfig(opts.kubeconfig)
	if err != nil {
		return err
	}
	tokenTLS := tlsConfig.Clone()
	tokenTLS.ServerName = "" // the token endpoint is verified against its own host
	tokens, err := rna.ClientCredentialsTokenSource(cmd.Context(), rna.ClientCredentials{
		ClientID: opts.clientID, ClientSecret: secret, TokenURL: opts.tokenURL, Audience: opts.audience, TLS: tokenTLS,
	})
	if err != nil {
		return fmt.Errorf("--client-id/--token-url: %w", err)
	}
	agent, err := rna.New(rna.Options{
		HubAddress: opts.hubAddress, HubAddresses: opts.hubFallbackAddresses, TLS: tlsConfig, TokenSource: tokens,
		AgentIdentifier: opts.agentIdentifier, AgentVersion: version.Version, Target: cfg,
		InitialBackoff: opts.initialBackoff, MaxBackoff: opts.maxBackoff, DialTimeout: opts.dialTimeout,
		SendTimeout: opts.sendTimeout, InventoryInterval: opts.inventoryInterval,
		Log: ctrl.Log.WithName("rna"),
	})
	if err != nil {
		return err
	}

	metricsOpts := metricsOptions(opts.metricsAddr, opts.secureMetrics)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme.New(),
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        opts.probeAddr,
		LeaderElection:                opts.leaderElect,
		LeaderElectionID:              "rna.aurora.dev",
		LeaderElectionNamespace:       opts.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating the agent's manager: %w", err)
	}
	// The Rollout executor runs the mirrored Rollouts in this cluster; like the tunnel, only on the
	// leader.
	if err := (&executor.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("aurora-executor"), Previews: agent, ConfigNamespace: opts.configNamespace}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Rollout executor: %w", err)
	}
	if err := mgr.Add(agent); err != nil {
		return fmt.Errorf("adding the agent to the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("tunnel", rna.ReadyWhileStandby(mgr.Elected(), agent.TunnelConnected)); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}
	log.Info("Starting the remote network agent", "agent", opts.agentIdentifier, "hub", opts.hubAddress,
		"clientID", opts.clientID, "tokenURL", opts.tokenURL, "leaderElection", opts.leaderElect, "version", version.Version)
	if err := mgr.Start(cmd.Context()); err != nil {
		return fmt.Errorf("running the remote network agent: %w", err)
	}
	return nil
}

// readClientSecret reads the client secret from file, or from $AURORA_CLIENT_SECRET when file is
// empty. Surrounding whitespace (a trailing newline) is dropped.
func readClientSecret(file string) (string, error) {
	var secret string
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--client-secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(data))
	} else {
		secret = strings.TrimSpace(os.Getenv(clientSecretEnv))
	}
	if secret == "" {
		return "", errors.New("no client secret: set --client-secret-file or $" + clientSecretEnv)
	}
	return secret, nil
}

// rnaClientTLS returns the client TLS configuration of the tunnel: trusting the CA file when given
// (else the system roots), verifying serverName when given, TLS 1.2 or newer.
func rnaClientTLS(caFile, serverName string) (*tls.Config, error) {
	var config *tls.Config
	if caFile != "" {
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--hub-ca-file: %w", err)
		}
		if config, err = tlsutil.ClientConfig(caPEM); err != nil {
			return nil, fmt.Errorf("--hub-ca-file %s: %w", caFile, err)
		}
	} else {
		roots, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("loading the system's CA certificates: %w", err)
		}
		config = &tls.Config{RootCAs: roots, MinVersion: tlsutil.MinVersion, CipherSuites: tlsutil.ModernCipherSuites()}
	}
	config.ServerName = serverName
	return config, nil
}
