package cli

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/aurora-cd/aurora/cli/deployfile"
)

func newTemplateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "template",
		GroupID: groupUser,
		Short:   "Print a deploy file to start from",
		Long: "Prints a complete deploy file, with sample manifests inline, for a canary or a blue/green\n" +
			"deployment to two targets (staging, then prod). It validates as it is; edit it to taste.",
		Example: "  aurora template canary > deploy.yml\n" +
			"  aurora template canary --features manual,automated,traffic\n" +
			"  aurora template bluegreen --features manual",
	}
	for _, kind := range deployfile.TemplateKinds {
		cmd.AddCommand(newTemplateKindCommand(kind))
	}
	return cmd
}

func newTemplateKindCommand(kind string) *cobra.Command {
	var features []string
	var output string
	what := map[string]string{"canary": "a canary deployment: the new version takes a growing share, step by step",
		"bluegreen": "a blue/green deployment: the new version runs beside the old one until traffic switches over"}[kind]
	cmd := &cobra.Command{
		Use:   kind,
		Short: "Print a deploy file of " + what,
		Long: "Prints a deploy file of " + what + ".\n\n" +
			"--features adds optional parts: manual (a person approves before prod and during the rollout),\n" +
			"automated (a metric analysis step with its query) and traffic (traffic management with a\n" +
			"service mesh or Service switching).",
		Example: fmt.Sprintf("  aurora template %[1]s > deploy.yml\n  aurora template %[1]s --features manual,automated,traffic", kind),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := deployfile.Template(kind, features)
			if err != nil {
				return err
			}
			switch output {
			case outputText, outputYAML:
			case outputJSON:
				if out, err = yaml.YAMLToJSON(out); err != nil {
					return fmt.Errorf("converting the template to JSON: %w", err)
				}
				var b bytes.Buffer
				if err := json.Indent(&b, out, "", "  "); err != nil {
					return fmt.Errorf("converting the template to JSON: %w", err)
				}
				out = append(b.Bytes(), '\n')
			default:
				return fmt.Errorf("output %q: expected text, json or yaml", output)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringSliceVarP(&features, "features", "f", nil, "Optional parts, comma-separated: manual, automated, traffic.")
	cmd.Flags().StringVarP(&output, "output", "o", outputYAML, "Output format: yaml (with comments; text is the same) or json.")
	return cmd
}
