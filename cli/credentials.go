package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aurora-cd/aurora/cli/apiclient"
)

func newCredentialsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "credentials",
		Aliases: []string{"credential"},
		GroupID: groupUser,
		Short:   "Manage the machine credentials of the tenant (for CI, agents and integrations)",
		Long: "Creates, lists and deletes machine credentials: a client id and secret with scopes, for the\n" +
			"client-credentials grant. The secret is shown once, when the credential is created.",
		Example: "  aurora credentials create ci --scope api:deployment:full\n" +
			"  aurora credentials list\n  aurora credentials delete ci",
	}
	bindClientFlags(cmd)
	cmd.AddCommand(newCredentialsCreateCommand(), newCredentialsListCommand(), newCredentialsDeleteCommand())
	return cmd
}

func newCredentialsCreateCommand() *cobra.Command {
	req := apiclient.NewCredential{}
	var expiresIn time.Duration
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a machine credential and show its secret, once",
		Long: "Creates a machine credential with the scopes given (api:deployment:full, api:tenant:full,\n" +
			"api:organization:full, api:agentHub:full, read:infrastructure:data). Its secret is printed\n" +
			"now and never again: store it at once.",
		Example: "  aurora credentials create ci --scope api:deployment:full\n" +
			"  aurora credentials create rna-prod --scope api:agentHub:full --agent prod --expires-in 2160h -o json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if len(req.Scopes) == 0 {
				return fmt.Errorf("--scope: expected at least one scope, e.g. api:deployment:full")
			}
			if expiresIn < 0 {
				return fmt.Errorf("--expires-in %s: expected a positive duration", expiresIn)
			}
			if expiresIn > 0 {
				req.ExpiresAtIso8601 = time.Now().Add(expiresIn).UTC().Format(time.RFC3339)
			}
			s, c, err := newAPISession(cmd)
			if err != nil {
				return err
			}
			cred, err := c.CreateCredential(cmd.Context(), req)
			if err != nil {
				return err
			}
			return printValue(cmd.OutOrStdout(), s.cfg.Output, cred, func(w io.Writer) error {
				fmt.Fprintf(w, "Created credential %s with scopes %s.\n", cred.Name, strings.Join(cred.Scopes, ", "))
				fmt.Fprintf(w, "Client ID:     %s\nClient secret: %s\n", cred.ClientID, cred.ClientSecret)
				_, err := fmt.Fprintln(w, "The secret is shown only now: store it (e.g. as AURORA_CLIENT_SECRET in your CI's secrets).")
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&req.Scopes, "scope", nil, "Scopes of the credential (repeatable, or comma-separated; required).")
	f.StringSliceVar(&req.Roles, "role", nil, "Roles of the credential, for gates whose requiresRoles name them (repeatable).")
	f.StringVar(&req.Description, "description", "", "What the credential is for.")
	f.StringSliceVar(&req.AgentIdentifiers, "agent", nil, "Agent identifiers an api:agentHub:full credential may connect as (default: any of the tenant).")
	f.DurationVar(&expiresIn, "expires-in", 0, "How long the credential stays valid, e.g. 720h (default: no expiry).")
	return cmd
}

func newCredentialsListCommand() *cobra.Command {
	return newListCommand(listing[apiclient.Credential]{
		short:   "List the machine credentials of the tenant",
		example: "  aurora credentials list\n  aurora credentials list -o json",
		fetch:   (*apiclient.Client).Credentials,
		header:  []string{"NAME", "CLIENT ID", "SCOPES", "CREATED BY", "CREATED", "EXPIRES"},
		row: func(c apiclient.Credential) []string {
			return []string{c.Name, c.ClientID, strings.Join(c.Scopes, ","), orDash(c.CreatedBy), orDash(c.CreatedIso8601), orDash(c.ExpiresAtIso8601)}
		},
	})
}

func newCredentialsDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a machine credential; its tokens stop working when they expire",
		Example: "  aurora credentials delete ci",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, c, err := newAPISession(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteCredential(cmd.Context(), args[0]); err != nil {
				return err
			}
			return printValue(cmd.OutOrStdout(), s.cfg.Output, map[string]string{"deleted": args[0]}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Deleted credential %s.\n", args[0])
				return err
			})
		},
	}
}
