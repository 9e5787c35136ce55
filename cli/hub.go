package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/hub"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// hubOptions are the flags of `aurora hub`.
type hubOptions struct {
	kubeconfig          string
	listen              string
	tlsCertFile         string
	tlsKeyFile          string
	issuer              string
	audience            string
	issuerCAFile        string
	replica             string
	heartbeatInterval   time.Duration
	statusWriteInterval time.Duration
	maxMessageBytes     int
	sendQueueSize       int
	sendTimeout         time.Duration
	disconnectGrace     time.Duration
	drainTimeout        time.Duration
	readBufferSize      int
	agentStatusWorkers  int
	leaseNamespace      string
	leaseDuration       time.Duration
	httpsListen         string
	advertiseAddress    string
	peerCertFile        string
	peerKeyFile         string
	peerCAFile          string
	peerIdentity        string
	peerServerName      string
	previewKeyFile      string
	previewBaseURL      string
	metricsAddr         string
	secureMetrics       bool
	probeAddr           string
	zap                 zap.Options
}

// verifierRetryInterval is how long `aurora hub` waits between attempts to reach the issuer.
const verifierRetryInterval = 5 * time.Second

func newHubCommand() *cobra.Command {
	opts := hubOptions{}
	cmd := &cobra.Command{
		Use:     "hub",
		GroupID: groupComponents,
		Short:   "Run the Agent Hub that Remote Network Agents connect to",
		Long: "Runs the Agent Hub: a gRPC server over TLS (1.2 or newer) that Remote Network Agents dial out to.\n" +
			"Each agent authenticates with a bearer token of the auth service (scope api:agentHub:full; its\n" +
			"tenant comes from the token) and holds one tunnel. The Hub registers the tenant's Agent, mirrors\n" +
			"the Rollouts labelled deploy.aurora.dev/agent=<agent> down the tunnel and writes the status the\n" +
			"agent reports back. The gRPC health service answers without a token. On SIGTERM the Hub drains:\n" +
			"it asks every agent to reconnect (to another replica) and marks its Agents disconnected.",
		Example: "  aurora hub --issuer https://auth.aurora.example --tls-cert-file tls.crt --tls-key-file tls.key",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runHub(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.kubeconfig, "kubeconfig", "", "Kubeconfig of the cloud cluster (default: $KUBECONFIG, ~/.kube/config or in-cluster).")
	f.StringVar(&opts.listen, "listen-address", ":8443", "Address to serve the agents' gRPC tunnels on (TLS).")
	f.StringVar(&opts.tlsCertFile, "tls-cert-file", "", "PEM certificate (chain) to serve (required); reloaded when the file changes.")
	f.StringVar(&opts.tlsKeyFile, "tls-key-file", "", "PEM private key of the certificate (required).")
	f.StringVar(&opts.issuer, "issuer", "", "https URL of the auth service whose tokens agents present (required): the tokens' iss and the base of OIDC discovery.")
	f.StringVar(&opts.audience, "audience", auth.DefaultAudience, "Audience the agents' tokens must carry.")
	f.StringVar(&opts.issuerCAFile, "issuer-ca-file", "", "PEM CA bundle to trust, besides the system roots, when fetching the issuer's discovery document and keys.")
	f.StringVar(&opts.replica, "replica", "", "Name of this replica in Welcome, in Agent status and in logs (default: the host name, the pod name in Kubernetes).")
	f.DurationVar(&opts.heartbeatInterval, "heartbeat-interval", hub.DefaultHeartbeatInterval,
		"How often each side of a tunnel sends Heartbeat; a side silent for 3 intervals is dropped.")
	f.DurationVar(&opts.statusWriteInterval, "status-write-interval", hub.DefaultStatusWriteInterval,
		"How often at most an Agent's lastHeartbeatAt is written while it stays connected.")
	f.IntVar(&opts.maxMessageBytes, "max-message-bytes", hub.DefaultMaxMessageBytes, "Largest tunnel message the Hub sends or accepts, in bytes.")
	f.IntVar(&opts.sendQueueSize, "send-queue-size", hub.DefaultSendQueueSize, "Messages that may wait to be sent to one agent.")
	f.DurationVar(&opts.sendTimeout, "send-timeout", 0,
		"How long an agent's send queue may stay full, or one send block, before the agent is dropped (default: two heartbeat intervals).")
	f.DurationVar(&opts.disconnectGrace, "disconnect-grace", hub.DefaultDisconnectGrace,
		"How long after a tunnel ends its Agent is marked disconnected, unless the agent reconnected (negative: at once).")
	f.DurationVar(&opts.drainTimeout, "drain-timeout", hub.DefaultDrainTimeout, "How long a shutdown waits for the tunnels to close, then for the last Agent writes.")
	f.IntVar(&opts.readBufferSize, "read-buffer-size", 0,
		"gRPC read buffer per connection in bytes: 0 keeps gRPC's 32 KiB, -1 removes it (about 30 KiB less memory per idle agent over TLS, slower tails near saturation).")
	f.IntVar(&opts.agentStatusWorkers, "agent-status-workers", hub.DefaultAgentStatusWorkers, "How many Agent status writes run at once.")
	f.StringVar(&opts.leaseNamespace, "lease-namespace", "",
		"Namespace of the replicas' Leases: set it (to the Hub's namespace) when several replicas run; agents' Leases live in their tenant namespaces.")
	f.DurationVar(&opts.leaseDuration, "lease-duration", hub.DefaultLeaseDuration, "How long a replica's Lease stays valid without renewal; its agents re-home to other replicas after that.")
	f.StringVar(&opts.httpsListen, "https-listen-address", "", "Address of the HTTPS endpoint of preview links and of the other replicas' calls (empty: none).")
	f.StringVar(&opts.advertiseAddress, "advertise-address", "", "host:port at which the other replicas reach this one's HTTPS endpoint (the pod IP and port).")
	f.StringVar(&opts.peerCertFile, "peer-cert-file", "", "PEM client certificate identifying this replica to the others (common name --peer-identity).")
	f.StringVar(&opts.peerKeyFile, "peer-key-file", "", "PEM private key of --peer-cert-file.")
	f.StringVar(&opts.peerCAFile, "peer-ca-file", "", "PEM CA bundle that signs the replicas' client and serving certificates.")
	f.StringVar(&opts.peerServerName, "peer-server-name", "",
		"Name the replicas' serving certificates are checked against when one calls another at its advertised address, such as the Hub Service's DNS name (empty: the advertised host).")
	f.StringVar(&opts.peerIdentity, "peer-identity", hub.DefaultPeerIdentity, "Common name of the client certificate of a Hub replica.")
	f.StringVar(&opts.previewKeyFile, "preview-key-file", "", "File holding the key (at least 32 bytes) that signs preview links; the same for every replica (empty: no preview links).")
	f.StringVar(&opts.previewBaseURL, "preview-base-url", "", "https URL under which the HTTPS endpoint is reached from outside, the base of preview links.")
	f.StringVar(&opts.metricsAddr, "metrics-bind-address", "0", "Address of the Prometheus metrics endpoint (:8443 for HTTPS, :8080 for HTTP, 0 for none).")
	f.BoolVar(&opts.secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	f.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "Address of the HTTP /healthz and /readyz probes (0 for none); the gRPC health service runs on the tunnel port as well.")
	bindLogFlags(f, &opts.zap)
	for _, required := range []string{"issuer", "tls-cert-file", "tls-key-file"} {
		_ = cmd.MarkFlagRequired(required)
	}
	return cmd
}

func runHub(ctx context.Context, opts hubOptions) error {
	setupLogger(&opts.zap)
	log := ctrl.Log.WithName("setup")
	cfg, err := restConfig(opts.kubeconfig)
	if err != nil {
		return err
	}
	tlsConfig, certs, err := servingTLS(opts.tlsCertFile, opts.tlsKeyFile)
	if err != nil {
		return err
	}
	verifier, err := issuerVerifier(ctx, opts.issuer, opts.audience, opts.issuerCAFile)
	if err != nil {
		return err
	}
	hubOpts := hub.Options{
		Cloud: cfg, Verifier: verifier, TLS: tlsConfig, Replica: opts.replica,
		HeartbeatInterval: opts.heartbeatInterval, StatusWriteInterval: opts.statusWriteInterval,
		MaxMessageBytes: opts.maxMessageBytes, SendQueueSize: opts.sendQueueSize, SendTimeout: opts.sendTimeout,
		DisconnectGrace: opts.disconnectGrace, DrainTimeout: opts.drainTimeout, ReadBufferSize: opts.readBufferSize,
		AgentStatusWorkers: opts.agentStatusWorkers,
		LeaseNamespace:     opts.leaseNamespace, LeaseDuration: opts.leaseDuration, AdvertiseAddress: opts.advertiseAddress,
		PeerIdentity: opts.peerIdentity, PreviewBaseURL: opts.previewBaseURL,
	}
	if err := hubCoordinationOptions(opts, &hubOpts); err != nil {
		return err
	}
	server, err := hub.New(hubOpts)
	if err != nil {
		return err
	}
	metrics, err := hubMetricsServer(cfg, opts)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("--listen-address: %w", err)
	}

	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return certs.Start(ctx) })
	if metrics != nil {
		group.Go(func() error { return metrics.Start(ctx) })
	}
	if opts.probeAddr != "0" {
		group.Go(func() error { return serveProbes(ctx, opts.probeAddr, server) })
	}
	group.Go(func() error { return server.Serve(ctx, l) })
	if opts.httpsListen != "" {
		httpsListener, err := net.Listen("tcp", opts.httpsListen)
		if err != nil {
			return fmt.Errorf("--https-listen-address: %w", err)
		}
		group.Go(func() error { return server.ServeHTTPS(ctx, httpsListener) })
	}
	log.Info("Starting the agent hub", "address", opts.listen, "issuer", opts.issuer)
	return group.Wait()
}

// issuerVerifier returns a verifier of the issuer's tokens for audience, trusting caFile (if set)
// besides the system roots, retrying until the issuer answers or ctx ends: the auth service may
// start after the component.
func issuerVerifier(ctx context.Context, issuer, audience, caFile string) (*verify.Verifier, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--issuer-ca-file: %w", err)
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("--issuer-ca-file %s: no PEM certificate found", caFile)
		}
	}
	httpClient := &http.Client{Timeout: verify.DefaultHTTPTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tlsutil.MinVersion},
	}}
	log := ctrl.Log.WithName("setup")
	for {
		verifier, err := verify.NewVerifier(ctx, verify.Options{IssuerURL: issuer, Audience: audience, HTTPClient: httpClient})
		if err == nil {
			return verifier, nil
		}
		if errors.Is(err, verify.ErrInvalidOptions) {
			return nil, fmt.Errorf("--issuer/--audience: %w", err)
		}
		log.Error(err, "The issuer is not reachable yet; retrying", "issuer", issuer, "retryIn", verifierRetryInterval.String())
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reaching the issuer %s: %w", issuer, err)
		case <-time.After(verifierRetryInterval):
		}
	}
}

// hubMetricsServer returns the metrics endpoint of controller-runtime's registry (where the Hub's
// metrics are), or nil when --metrics-bind-address is 0.
func hubMetricsServer(cfg *rest.Config, opts hubOptions) (metricsserver.Server, error) {
	metricsOpts := metricsOptions(opts.metricsAddr, opts.secureMetrics)
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the metrics endpoint's client: %w", err)
	}
	server, err := metricsserver.NewServer(metricsOpts, cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("--metrics-bind-address: %w", err)
	}
	return server, nil
}

// serveProbes serves /healthz (the process runs) and /readyz (the Hub serves agents) on addr until
// ctx ends.
func serveProbes(ctx context.Context, addr string, server *hub.Server) error {
	mux := http.NewServeMux()
	mux.Handle("/healthz", http.StripPrefix("/healthz", &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}))
	mux.Handle("/readyz", http.StripPrefix("/readyz", &healthz.Handler{Checks: map[string]healthz.Checker{
		"hub": func(*http.Request) error { return server.Ready() },
	}}))
	probes := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errs := make(chan error, 1)
	go func() { errs <- probes.ListenAndServe() }()
	select {
	case err := <-errs:
		return fmt.Errorf("--health-probe-bind-address: %w", err)
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return probes.Shutdown(shutdown)
	}
}

// hubCoordinationOptions reads the files of the peer identity and of the preview key into o.
func hubCoordinationOptions(opts hubOptions, o *hub.Options) error {
	if opts.peerCertFile != "" || opts.peerKeyFile != "" || opts.peerCAFile != "" {
		if opts.peerCertFile == "" || opts.peerKeyFile == "" || opts.peerCAFile == "" {
			return errors.New("--peer-cert-file, --peer-key-file and --peer-ca-file go together")
		}
		certPEM, err := os.ReadFile(opts.peerCertFile)
		if err != nil {
			return fmt.Errorf("--peer-cert-file: %w", err)
		}
		keyPEM, err := os.ReadFile(opts.peerKeyFile)
		if err != nil {
			return fmt.Errorf("--peer-key-file: %w", err)
		}
		caPEM, err := os.ReadFile(opts.peerCAFile)
		if err != nil {
			return fmt.Errorf("--peer-ca-file: %w", err)
		}
		if o.PeerTLS, err = tlsutil.ClientConfigWithCert(caPEM, certPEM, keyPEM); err != nil {
			return fmt.Errorf("--peer-cert-file/--peer-key-file/--peer-ca-file: %w", err)
		}
		o.PeerTLS.ServerName = opts.peerServerName
		o.PeerClientCAs = x509.NewCertPool()
		if !o.PeerClientCAs.AppendCertsFromPEM(caPEM) {
			return fmt.Errorf("--peer-ca-file %s: no PEM certificate found", opts.peerCAFile)
		}
	}
	if opts.previewKeyFile != "" {
		key, err := os.ReadFile(opts.previewKeyFile)
		if err != nil {
			return fmt.Errorf("--preview-key-file: %w", err)
		}
		o.PreviewKey = key
	}
	return nil
}
