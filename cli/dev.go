package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aurora-cd/aurora/internal/devenv"
)

// devOptions are the flags of `aurora dev`.
type devOptions struct {
	stateDir string
	targets  []string
	nodes    int
	fresh    bool
	zap      zap.Options
}

func newDevCommand() *cobra.Command {
	opts := devOptions{}
	cmd := &cobra.Command{
		Use:     "dev",
		GroupID: groupComponents,
		Short:   "Run Aurora whole on this machine: a cloud cluster, target clusters and the control plane",
		Long: "Starts, with no cluster given, a cloud cluster and one full target cluster per --targets entry\n" +
			"(real kube-apiserver, etcd, kube-controller-manager, kube-scheduler and kwok with simulated\n" +
			"nodes, built from source on first use by hack/test-binaries.sh), the controllers, the auth\n" +
			"service and the Agent Hub over TLS from a generated CA, a demo tenant, and a Remote Network\n" +
			"Agent with its Rollout executor per target. It writes what a client needs into --state-dir:\n" +
			"endpoints.json, ca.crt, kubeconfig-cloud and kubeconfig-<target>, credentials.json (a\n" +
			"deployer's client id and secret, and the login of the demo user, a tenant admin), config, and\n" +
			"last ready. Stops everything on Ctrl-C.\n\n" +
			"A second start with the same --state-dir reuses it: the clusters come back with their\n" +
			"objects (the tenant, its credentials with the same client ids and secrets, the demo user, the\n" +
			"Deployments, the applications in the targets) on new ports, and the files above are rewritten.\n" +
			"A directory another aurora dev is running on is refused; --fresh deletes what an earlier run\n" +
			"left there and starts from nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.stateDir, "state-dir", ".aurora/dev", "Directory to write endpoints, CA, kubeconfigs and credentials into.")
	f.StringSliceVar(&opts.targets, "targets", []string{"staging", "prod"}, "Agent identifiers of the target clusters to start.")
	f.IntVar(&opts.nodes, "nodes", 3, "Simulated nodes per target cluster.")
	f.BoolVar(&opts.fresh, "fresh", false, "Delete what an earlier run left in --state-dir (clusters, tenant, credentials) and start from nothing.")
	bindLogFlags(f, &opts.zap)
	return cmd
}

func runDev(cmd *cobra.Command, opts devOptions) error {
	setupLogger(&opts.zap)
	stateDir, err := filepath.Abs(opts.stateDir)
	if err != nil {
		return fmt.Errorf("--state-dir: %w", err)
	}
	env, err := devenv.Start(cmd.Context(), devenv.Options{Targets: opts.targets, TargetNodes: opts.nodes, StateDir: stateDir, Fresh: opts.fresh,
		Log: ctrl.Log.WithName("dev")})
	if err != nil {
		return err
	}
	defer env.Stop() // removes ready first, then stops every process, then releases the state directory
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "\nAurora is running.\n")
	fmt.Fprintf(out, "  auth service (OIDC issuer): %s\n", env.Issuer)
	fmt.Fprintf(out, "  Agent Hub:                  %s\n", env.HubAddress)
	fmt.Fprintf(out, "  tenant namespace:           %s\n", env.TenantNamespace)
	fmt.Fprintf(out, "  REST API:                   %s (see %s/openapi.json)\n", env.APIURL, env.APIURL)
	fmt.Fprintf(out, "  Console:                    %s (log in as %s; the password is in %s; trust %s)\n",
		env.ConsoleURL(), env.DemoUser.Username, filepath.Join(stateDir, "credentials.json"), filepath.Join(stateDir, "ca.crt"))
	fmt.Fprintf(out, "  state:                      %s\n", stateDir)
	fmt.Fprintf(out, "\nTry:\n  kubectl --kubeconfig %s -n %s get aurora\n", filepath.Join(stateDir, "kubeconfig-cloud"), env.TenantNamespace)
	for _, t := range opts.targets {
		fmt.Fprintf(out, "  kubectl --kubeconfig %s get pods -A\n", filepath.Join(stateDir, "kubeconfig-"+t))
	}
	fmt.Fprintf(out, "  AURORA_CONFIG=%s aurora agents list\n", filepath.Join(stateDir, "config"))
	fmt.Fprintf(out, "\nCtrl-C stops everything.\n")
	<-cmd.Context().Done()
	return nil
}
