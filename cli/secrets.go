package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/aurora-cd/aurora/cli/apiclient"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
)

func newSecretsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secrets",
		Aliases: []string{"secret"},
		GroupID: groupUser,
		Short:   "Manage the tenant's secrets, the {{secrets.<name>}} of webhooks",
		Long: "Sets, lists and deletes the tenant's secrets, which webhook templates use as {{secrets.<name>}}.\n" +
			"Values are stored encrypted (AES-256-GCM under the installation's master key) and are never\n" +
			"shown again: list prints names and update times only. A value is read from stdin or from a\n" +
			"file, never from an argument, so that it stays out of shell history.",
		Example: "  printf %s \"$CI_TOKEN\" | aurora secrets set ciToken\n" +
			"  aurora secrets set tlsKey --from-file key.pem\n" +
			"  aurora secrets list\n  aurora secrets delete ciToken",
	}
	bindClientFlags(cmd)
	cmd.AddCommand(newSecretsSetCommand(), newSecretsListCommand(), newSecretsDeleteCommand())
	return cmd
}

// readSecretValue reads a secret's value from file, or from stdin when file is empty (dropping one
// trailing newline there, as `echo` adds). It checks the value's size; errors never quote it.
func readSecretValue(stdin io.Reader, file string) ([]byte, error) {
	var value []byte
	var err error
	if file != "" {
		if value, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("--from-file: %w", err)
		}
	} else {
		if value, err = io.ReadAll(io.LimitReader(stdin, tenantsecrets.MaxValueBytes+3)); err != nil {
			return nil, fmt.Errorf("reading the value from stdin: %w", err)
		}
		value = bytes.TrimSuffix(value, []byte("\n"))
		value = bytes.TrimSuffix(value, []byte("\r"))
	}
	if err := tenantsecrets.ValidateValue(value); err != nil {
		return nil, err
	}
	return value, nil
}

func newSecretsSetCommand() *cobra.Command {
	var fromFile string
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Create or replace a secret; the value comes from stdin or --from-file",
		Long: "Sets the tenant secret NAME (letters, digits, '-', '_' and '.'), used in webhook templates as\n" +
			"{{secrets.NAME}}. The value is read from stdin (one trailing newline dropped) or, exactly, from\n" +
			"--from-file; at most 64 KiB.",
		Example: "  printf %s \"$CI_TOKEN\" | aurora secrets set ciToken\n" +
			"  aurora secrets set tlsKey --from-file key.pem",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := tenantsecrets.ValidateName(name); err != nil {
				return err
			}
			if fromFile == "" {
				if f, ok := cmd.InOrStdin().(*os.File); ok {
					if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
						fmt.Fprintf(cmd.ErrOrStderr(), "Enter the value of %s, then Ctrl-D:\n", name)
					}
				}
			}
			value, err := readSecretValue(cmd.InOrStdin(), fromFile)
			if err != nil {
				return err
			}
			s, c, err := newAPISession(cmd)
			if err != nil {
				return err
			}
			set, err := c.SetSecret(cmd.Context(), name, string(value))
			if err != nil {
				return err
			}
			return printValue(cmd.OutOrStdout(), s.cfg.Output, set, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Set secret %s; webhooks use it as {{secrets.%s}}.\n", set.Name, set.Name)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&fromFile, "from-file", "", "Read the value from this file, byte for byte (default: stdin).")
	return cmd
}

func newSecretsListCommand() *cobra.Command {
	return newListCommand(listing[apiclient.Secret]{
		short:   "List the names of the tenant's secrets and when they were set (never their values)",
		example: "  aurora secrets list\n  aurora secrets list -o json",
		fetch:   (*apiclient.Client).Secrets,
		header:  []string{"NAME", "UPDATED"},
		row:     func(s apiclient.Secret) []string { return []string{s.Name, orDash(s.UpdatedIso8601)} },
	})
}

func newSecretsDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a secret; webhooks that use it fail until it is set again",
		Example: "  aurora secrets delete ciToken",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, c, err := newAPISession(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteSecret(cmd.Context(), args[0]); err != nil {
				return err
			}
			return printValue(cmd.OutOrStdout(), s.cfg.Output, map[string]string{"deleted": args[0]}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Deleted secret %s.\n", args[0])
				return err
			})
		},
	}
}
