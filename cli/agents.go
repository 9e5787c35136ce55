package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/cli/apiclient"
	"github.com/aurora-cd/aurora/cli/rnainstall"
)

func newAgentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "agent",
		Aliases: []string{"agents"},
		GroupID: groupUser,
		Short:   "List the Remote Network Agents of the tenant, and install one in a cluster",
		Example: "  aurora agents list\n  aurora agent install prod --hub-address hub.aurora.example:443 --apply",
	}
	bindClientFlags(cmd)
	cmd.AddCommand(newAgentsListCommand(), newAgentInstallCommand())
	return cmd
}

func newAgentsListCommand() *cobra.Command {
	return newListCommand(listing[apiclient.ConnectedAgent]{
		short:   "List the agents of the tenant and whether they are connected",
		example: "  aurora agents list\n  aurora agents list -o json",
		fetch:   (*apiclient.Client).ConnectedAgents,
		header:  []string{"AGENT", "CONNECTED", "VERSION", "CONNECTED AT", "LAST HEARTBEAT", "HUB", "CLIENT ID"},
		row: func(a apiclient.ConnectedAgent) []string {
			return []string{a.AgentIdentifier, fmt.Sprint(a.Connected), orDash(a.AgentVersion), orDash(a.ConnectedAtIso8601),
				orDash(a.LastHeartbeatAtIso8601), orDash(a.HubInstanceUUID), orDash(a.ClientID)}
		},
	})
}

// agentInstallOptions are the flags of `aurora agent install`.
type agentInstallOptions struct {
	namespace, hubAddress, hubCAFile, image, credential string
	apply                                               bool
	kubeconfig, kubeContext                             string
	wait                                                time.Duration
}

func newAgentInstallCommand() *cobra.Command {
	opts := agentInstallOptions{}
	cmd := &cobra.Command{
		Use:   "install AGENT",
		Short: "Create a credential for an agent and print or apply its manifests for a cluster",
		Long: "Creates (or re-creates) the machine credential of the agent AGENT (scope api:agentHub:full,\n" +
			"limited to that agent identifier) and renders the Remote Network Agent's manifests for a\n" +
			"target cluster: namespace, RBAC, the Rollout CRD, its configuration, the credential as a\n" +
			"Secret and the Deployment. It prints them (YAML; -o json for a List), or with --apply applies\n" +
			"them to the cluster of --kubeconfig/--context with server-side apply. AGENT is what deploy\n" +
			"files name as a target's account.\n\n" +
			"The printed manifests hold the credential's secret: keep them out of version control.",
		Example: "  aurora agent install prod --hub-address hub.aurora.example:443 > rna.yaml\n" +
			"  aurora agent install staging --hub-address hub.aurora.example:443 --apply --context staging --wait 2m",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAgentInstall(cmd, args[0], opts) },
	}
	f := cmd.Flags()
	f.StringVarP(&opts.namespace, "namespace", "n", rnainstall.DefaultNamespace, "Namespace to run the agent in.")
	f.StringVar(&opts.hubAddress, "hub-address", "", "The Agent Hub's host:port as the agent dials it (default: $AURORA_HUB_ADDRESS; required).")
	f.StringVar(&opts.hubCAFile, "hub-ca-file", "", "PEM CA of the Hub's and the auth service's certificates, for the agent (default: the CA file of the configuration; none: the system roots).")
	f.StringVar(&opts.image, "image", "", "The aurora image the agent runs (default: the one of the kustomize base).")
	f.StringVar(&opts.credential, "credential-name", "", "Name of the agent's machine credential (default: rna-AGENT).")
	f.BoolVar(&opts.apply, "apply", false, "Apply the manifests to the cluster instead of printing them.")
	f.StringVar(&opts.kubeconfig, "kubeconfig", "", "Kubeconfig of the target cluster, with --apply (default: $KUBECONFIG or ~/.kube/config).")
	f.StringVar(&opts.kubeContext, "context", "", "Kubeconfig context of the target cluster, with --apply (default: the current one).")
	f.DurationVar(&opts.wait, "wait", 0, "With --apply, wait this long for the agent to connect (default: do not wait).")
	return cmd
}

func runAgentInstall(cmd *cobra.Command, agent string, opts agentInstallOptions) error {
	if opts.hubAddress == "" {
		opts.hubAddress = os.Getenv("AURORA_HUB_ADDRESS")
	}
	if opts.hubAddress == "" {
		return fmt.Errorf("--hub-address: expected the Agent Hub's host:port (or $AURORA_HUB_ADDRESS)")
	}
	if opts.credential == "" {
		opts.credential = "rna-" + agent
	}
	s, err := newSession(cmd)
	if err != nil {
		return err
	}
	if opts.hubCAFile == "" {
		opts.hubCAFile = s.cfg.CAFile
	}
	var caPEM []byte
	if opts.hubCAFile != "" {
		if caPEM, err = os.ReadFile(opts.hubCAFile); err != nil {
			return fmt.Errorf("--hub-ca-file: %w", err)
		}
	}
	ctx := cmd.Context()
	is, err := apiclient.Discover(ctx, s.http, s.cfg.AuthURL)
	if err != nil {
		return err
	}
	var cluster client.Client
	if opts.apply {
		if cluster, err = targetClusterClient(opts.kubeconfig, opts.kubeContext); err != nil {
			return err
		}
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	cred, err := createAgentCredential(ctx, c, cmd.ErrOrStderr(), opts.credential, agent)
	if err != nil {
		return err
	}
	objs, err := rnainstall.Build(rnainstall.Options{AgentIdentifier: agent, Namespace: opts.namespace, HubAddress: opts.hubAddress,
		TokenURL: is.TokenURL, ClientID: cred.ClientID, ClientSecret: cred.ClientSecret, CAPEM: caPEM, Image: opts.image})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !opts.apply {
		if s.cfg.Output == outputJSON {
			items := make([]any, len(objs))
			for i, o := range objs {
				items[i] = o.Object
			}
			return printValue(out, outputJSON, map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, nil)
		}
		return rnainstall.Render(out, objs)
	}
	if err := rnainstall.Apply(ctx, cluster, objs); err != nil {
		return err
	}
	applied := make([]string, len(objs))
	for i, o := range objs {
		applied[i] = objectRef(o)
	}
	result := map[string]any{"agent": agent, "credential": cred.Name, "clientId": cred.ClientID, "namespace": opts.namespace, "applied": applied}
	if opts.wait > 0 {
		connected, err := waitForAgent(ctx, c, agent, opts.wait)
		if err != nil {
			return err
		}
		result["connected"] = connected
		if !connected {
			defer func() {
				fmt.Fprintf(cmd.ErrOrStderr(), "Agent %s did not connect within %s: check its pods in namespace %s.\n", agent, opts.wait, opts.namespace)
			}()
		}
	}
	return printValue(out, s.cfg.Output, result, func(w io.Writer) error {
		fmt.Fprintf(w, "Applied %d objects for agent %s (credential %s, client id %s):\n  %s\n", len(objs), agent, cred.Name, cred.ClientID,
			strings.Join(applied, "\n  "))
		if c, ok := result["connected"].(bool); ok && c {
			fmt.Fprintf(w, "Agent %s is connected.\n", agent)
		}
		return nil
	})
}

// createAgentCredential creates the agent's credential, re-creating it when one of that name
// exists (its secret cannot be read again).
func createAgentCredential(ctx context.Context, c *apiclient.Client, log io.Writer, name, agent string) (*apiclient.Credential, error) {
	req := apiclient.NewCredential{Name: name, Scopes: []string{"api:agentHub:full"}, AgentIdentifiers: []string{agent}}
	cred, err := c.CreateCredential(ctx, req)
	if apiclient.IsCode(err, apiclient.CodeConflict) {
		fmt.Fprintf(log, "Credential %s exists; re-creating it (agents using its old secret must be re-installed).\n", name)
		if err := c.DeleteCredential(ctx, name); err != nil {
			return nil, fmt.Errorf("deleting the old credential %s: %w", name, err)
		}
		cred, err = c.CreateCredential(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the agent's credential %s: %w", name, err)
	}
	return cred, nil
}

// waitForAgent polls the tenant's agents until agent is connected or timeout passes.
func waitForAgent(ctx context.Context, c *apiclient.Client, agent string, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		agents, err := c.ConnectedAgents(ctx)
		if err != nil && ctx.Err() == nil {
			return false, err
		}
		for _, a := range agents {
			if a.AgentIdentifier == agent && a.Connected {
				return true, nil
			}
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(2 * time.Second):
		}
	}
}

// targetClusterClient is a client of the cluster of a kubeconfig and context.
func targetClusterClient(kubeconfig, kubeContext string) (client.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the target cluster's kubeconfig: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("connecting to the target cluster: %w", err)
	}
	return c, nil
}

// objectRef names an object as kubectl does: kind/namespace/name.
func objectRef(o *unstructured.Unstructured) string {
	if o.GetNamespace() != "" {
		return fmt.Sprintf("%s/%s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	return o.GetKind() + "/" + o.GetName()
}
