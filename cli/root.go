// Package cli holds the commands of the aurora binary: the user-facing ones (login, deploy, ...)
// and the components of the control plane (controller, hub, auth, server, rna, dev).
package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aurora-cd/aurora/internal/version"
)

// NewRootCommand returns the aurora command with every subcommand.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "aurora",
		Short: "Aurora: continuous deployment for Kubernetes",
		Long: "Aurora rolls new versions of applications out to Kubernetes clusters: in dependency order,\n" +
			"through gates and approvals, progressively (canary, blue/green), with automatic rollback.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddGroup(&cobra.Group{ID: groupUser, Title: "Commands:"}, &cobra.Group{ID: groupComponents, Title: "Control plane components:"})
	root.AddCommand(newLoginCommand(), newLogoutCommand(), newDeployCommand(), newValidateCommand(), newTemplateCommand(),
		newAgentCommand(), newCredentialsCommand(), newSecretsCommand())
	root.AddCommand(newVersionCommand(), newControllerCommand(), newAuthCommand(), newRNACommand(), newHubCommand(), newServerCommand(), newDevCommand())
	return root
}

const groupComponents = "components"

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of aurora",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), version.String())
			return err
		},
	}
}
