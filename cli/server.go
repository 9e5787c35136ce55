package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/internal/scheme"
	"github.com/aurora-cd/aurora/internal/tlsutil"
	"github.com/aurora-cd/aurora/server"
)

// serverOptions are the flags of `aurora server`.
type serverOptions struct {
	kubeconfig    string
	listen        string
	tlsCertFile   string
	tlsKeyFile    string
	issuer        string
	audience      string
	issuerCAFile  string
	hubAddress    string
	hubCAFile     string
	metricsAddr   string
	secureMetrics bool
	probeAddr     string
	masterKeyFile string
	console       consoleOptions
	zap           zap.Options
}

func newServerCommand() *cobra.Command {
	opts := serverOptions{}
	cmd := &cobra.Command{
		Use:     "server",
		GroupID: groupComponents,
		Short:   "Run the REST API that the CLI and the Console use",
		Long: "Runs Aurora's REST API over HTTPS (TLS 1.2 or newer): pipelines (start, validate, status,\n" +
			"approve/reject/skip/rollback/cancel), webhook callbacks, agents and their inventory, machine\n" +
			"credentials, tenant secrets, roles, environments and whoami. Every route but /healthz, /readyz and /openapi.json\n" +
			"needs a bearer token of the auth service with the API audience; the caller's tenant is the token's.\n" +
			"The inventory routes ask the Agent Hub (--hub-address), forwarding the caller's token.",
		Example: "  aurora server --issuer https://auth.aurora.example --tls-cert-file tls.crt --tls-key-file tls.key \\\n" +
			"    --hub-address aurora-hub.aurora-system.svc:8443",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServer(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.kubeconfig, "kubeconfig", "", "Kubeconfig of the cloud cluster (default: $KUBECONFIG, ~/.kube/config or in-cluster).")
	f.StringVar(&opts.listen, "listen-address", ":8443", "Address to serve HTTPS on.")
	f.StringVar(&opts.tlsCertFile, "tls-cert-file", "", "PEM certificate (chain) to serve (required); reloaded when the file changes.")
	f.StringVar(&opts.tlsKeyFile, "tls-key-file", "", "PEM private key of the certificate (required).")
	f.StringVar(&opts.issuer, "issuer", "", "https URL of the auth service whose tokens callers present (required).")
	f.StringVar(&opts.audience, "audience", auth.DefaultAudience, "Audience the callers' tokens must carry.")
	f.StringVar(&opts.issuerCAFile, "issuer-ca-file", "", "PEM CA bundle to trust, besides the system roots, when fetching the issuer's discovery document and keys.")
	f.StringVar(&opts.hubAddress, "hub-address", "", "host:port of the Agent Hub, for the inventory routes (empty: they answer 503).")
	f.StringVar(&opts.hubCAFile, "hub-ca-file", "", "PEM CA bundle to trust, besides the system roots, for the Agent Hub's certificate.")
	f.StringVar(&opts.metricsAddr, "metrics-bind-address", "0", "Address of the Prometheus metrics endpoint (:8443 for HTTPS, :8080 for HTTP, 0 for none).")
	f.BoolVar(&opts.secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	f.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "Address of the HTTP /healthz and /readyz probes (0 for none).")
	f.StringVar(&opts.masterKeyFile, "master-key-file", "", masterKeyFileUsage+" Without it the /secrets routes answer 503.")
	bindConsoleFlags(f, &opts.console)
	bindLogFlags(f, &opts.zap)
	for _, required := range []string{"issuer", "tls-cert-file", "tls-key-file"} {
		_ = cmd.MarkFlagRequired(required)
	}
	return cmd
}

func runServer(ctx context.Context, opts serverOptions) error {
	setupLogger(&opts.zap)
	log := ctrl.Log.WithName("setup")
	cfg, err := restConfig(opts.kubeconfig)
	if err != nil {
		return err
	}
	tlsConfig, certs, err := servingTLS(opts.tlsCertFile, opts.tlsKeyFile, "h2", "http/1.1")
	if err != nil {
		return err
	}
	verifier, err := issuerVerifier(ctx, opts.issuer, opts.audience, opts.issuerCAFile)
	if err != nil {
		return err
	}
	sealer, err := sealerFromFile("master-key-file", opts.masterKeyFile)
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	inventory, err := hubInventory(opts.hubAddress, opts.hubCAFile)
	if err != nil {
		return err
	}
	ui, err := consoleHandler(opts.console, opts.issuer)
	if err != nil {
		return err
	}
	api, err := server.New(server.Options{Client: c, Verifier: verifier, TLS: tlsConfig, Inventory: inventory, Console: ui, Sealer: sealer, Log: ctrl.Log.WithName("server")})
	if err != nil {
		return err
	}
	metrics, err := serverMetrics(cfg, opts)
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
		group.Go(func() error { return serveServerProbes(ctx, opts.probeAddr, api) })
	}
	group.Go(func() error { return api.Serve(ctx, l) })
	log.Info("Starting the REST API", "address", opts.listen, "issuer", opts.issuer, "hub", opts.hubAddress)
	return group.Wait()
}

// serverMetrics returns the metrics endpoint, or nil when --metrics-bind-address is 0.
func serverMetrics(cfg *rest.Config, opts serverOptions) (metricsserver.Server, error) {
	if opts.metricsAddr == "0" {
		return nil, nil
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the metrics endpoint's client: %w", err)
	}
	m, err := metricsserver.NewServer(metricsOptions(opts.metricsAddr, opts.secureMetrics), cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("--metrics-bind-address: %w", err)
	}
	return m, nil
}

// serveServerProbes serves /healthz (the process runs) and /readyz (the cloud cluster answers).
func serveServerProbes(ctx context.Context, addr string, api *server.Server) error {
	mux := http.NewServeMux()
	mux.Handle("/healthz", http.StripPrefix("/healthz", &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}))
	mux.Handle("/readyz", http.StripPrefix("/readyz", &healthz.Handler{Checks: map[string]healthz.Checker{
		"cloud": func(r *http.Request) error { return api.Ready(r.Context()) },
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

// hubInventory returns the inventory source of the Agent Hub at address (trusting caFile besides
// the system roots), or nil when no address is set.
func hubInventory(address, caFile string) (server.InventorySource, error) {
	if address == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--hub-ca-file: %w", err)
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("--hub-ca-file %s: no PEM certificate found", caFile)
		}
	}
	inventory, err := server.NewHubInventory(address, &tls.Config{RootCAs: pool, MinVersion: tlsutil.MinVersion})
	if err != nil {
		return nil, fmt.Errorf("--hub-address: %w", err)
	}
	return inventory, nil
}
