package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/aurora-cd/aurora/cli/deployfile"
)

// validateOutput is what `validate -o json|yaml` prints.
type validateOutput struct {
	File     string                   `json:"file"`
	Valid    bool                     `json:"valid"`
	Errors   []*deployfile.FieldError `json:"errors,omitempty"`
	Warnings []string                 `json:"warnings,omitempty"`
}

func newValidateCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "validate -f FILE",
		GroupID: groupUser,
		Short:   "Check a deploy file without deploying it",
		Long: "Parses the deploy file, reads its manifests[].path as deploy start does, and asks the API to\n" +
			"check it (a dry run: nothing is created). Every problem is printed with its line and column,\n" +
			"file:line:column: field: message. Exits 1 when the file is not valid.",
		Example: "  aurora validate -f deploy.yml\n  aurora template canary | aurora validate -f /dev/stdin",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newSession(cmd)
			if err != nil {
				return err
			}
			out := validateOutput{File: file}
			f, body, err := s.readDeployFile(cmd.Context(), file, deployfile.Options{})
			var fe *deployfile.FieldError
			switch {
			case errors.As(err, &fe):
				out.Errors = []*deployfile.FieldError{fe}
			case err != nil:
				return err
			default:
				c, err := s.client()
				if err != nil {
					return err
				}
				res, err := c.StartPipeline(cmd.Context(), body, true)
				if err != nil {
					if out.Errors = fieldErrors(f, err); out.Errors == nil {
						return err
					}
				} else {
					out.Valid, out.Warnings = res.Valid, res.Warnings
				}
			}
			if err := printValue(cmd.OutOrStdout(), s.cfg.Output, out, func(w io.Writer) error {
				for _, e := range out.Errors {
					fmt.Fprintln(w, e.Error())
				}
				for _, warning := range out.Warnings {
					fmt.Fprintf(w, "%s: warning: %s\n", file, warning)
				}
				if out.Valid {
					fmt.Fprintf(w, "%s is valid\n", file)
				}
				return nil
			}); err != nil {
				return err
			}
			if !out.Valid {
				return withExitCode(ExitFailure, nil)
			}
			return nil
		},
	}
	bindClientFlags(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "Deploy file: a path or an http(s) URL (required).")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}
