package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aurora-cd/aurora/controllers/deployment"
	"github.com/aurora-cd/aurora/controllers/judgment"
	"github.com/aurora-cd/aurora/controllers/machinecredential"
	"github.com/aurora-cd/aurora/controllers/tenant"
	"github.com/aurora-cd/aurora/internal/scheme"
)

// controllerOptions are the flags of `aurora controller`.
type controllerOptions struct {
	metricsAddr  string
	probeAddr    string
	leaderElect  bool
	secureMetric bool
	components   []string
	apiURL       string
	workers      int
	masterKey    string
	zap          zap.Options
}

func newControllerCommand() *cobra.Command {
	opts := controllerOptions{}
	cmd := &cobra.Command{
		Use:     "controller",
		GroupID: groupComponents,
		Short:   "Run the controller manager of the cloud cluster",
		Long: "Runs the reconcilers of Aurora's kinds against the cluster of the current kubeconfig\n" +
			"(or the in-cluster configuration), with leader election, health probes and metrics.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runController(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.metricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint (:8443 for HTTPS, :8080 for HTTP, 0 for none).")
	f.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	f.BoolVar(&opts.leaderElect, "leader-elect", false, "Elect a leader, so that only one replica reconciles at a time.")
	f.BoolVar(&opts.secureMetric, "metrics-secure", true, "Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	f.StringSliceVar(&opts.components, "tenant-component-service-accounts", []string{"aurora-system/aurora-hub", "aurora-system/aurora-server"},
		"ServiceAccounts (namespace/name) of the Hub and the REST API, bound to the components Role in every tenant namespace.")
	f.StringVar(&opts.apiURL, "api-url", "", "Public URL of the REST API (aurora server): webhook steps get their callback URI under it, <api-url>/webhooks/<deployment>/<target>/<gate>.")
	f.IntVar(&opts.workers, "deployment-workers", deployment.DefaultWorkers, "How many Deployments are reconciled at once.")
	f.StringVar(&opts.masterKey, "master-key-file", "", masterKeyFileUsage)
	bindLogFlags(f, &opts.zap)
	return cmd
}

func runController(cmd *cobra.Command, opts controllerOptions) error {
	setupLogger(&opts.zap)
	log := ctrl.Log.WithName("setup")

	metricsOpts := metricsOptions(opts.metricsAddr, opts.secureMetric)
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsOpts,
		HealthProbeBindAddress: opts.probeAddr,
		LeaderElection:         opts.leaderElect,
		LeaderElectionID:       "controller.aurora.dev",
	})
	if err != nil {
		return fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := setupReconcilers(mgr, opts); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}
	log.Info("Starting the controller manager")
	if err := mgr.Start(cmd.Context()); err != nil {
		return fmt.Errorf("running the controller manager: %w", err)
	}
	return nil
}

// setupReconcilers registers every reconciler of the cloud cluster with the manager.
func setupReconcilers(mgr ctrl.Manager, opts controllerOptions) error {
	var components []tenant.ServiceAccountRef
	for _, c := range opts.components {
		ref, err := tenant.ParseServiceAccountRef(c)
		if err != nil {
			return fmt.Errorf("--tenant-component-service-accounts: %w", err)
		}
		components = append(components, ref)
	}
	sealer, err := sealerFromFile("master-key-file", opts.masterKey)
	if err != nil {
		return err
	}
	if sealer == nil {
		ctrl.Log.WithName("setup").Info("No --master-key-file: constraint webhooks that use {{secrets.<key>}} will fail")
	}
	if err := (&tenant.Reconciler{Client: mgr.GetClient(), Components: components}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Tenant controller: %w", err)
	}
	if err := (&machinecredential.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the MachineCredential controller: %w", err)
	}
	if err := (&deployment.Reconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("aurora-deployment-controller"), APIURL: opts.apiURL, APIReader: mgr.GetAPIReader(), Workers: opts.workers, Sealer: sealer}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Deployment controller: %w", err)
	}
	if err := (&judgment.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("aurora-judgment-controller")}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Judgment controller: %w", err)
	}
	return nil
}
