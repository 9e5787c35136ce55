package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aurora-cd/aurora/cli/apiclient"
)

// judgmentCommand describes one decision command of `aurora deploy`.
type judgmentCommand struct {
	decision, short, long, done string
}

var judgmentCommands = []judgmentCommand{
	{"approve", "Approve a gate that waits for approval",
		"Approves a pause that waits for approval. Without --target and --gate it approves the one gate that\n" +
			"waits, and lists the gates when several do.", "Approved"},
	{"reject", "Reject a gate that waits for approval",
		"Rejects a pause that waits for approval: the target is rolled back and its dependants do not start.", "Rejected"},
	{"skip", "Skip a timed pause",
		"Ends a timed pause (or an approval) at once, as if its time had run out.", "Skipped"},
	{"rollback", "Roll a deployment back",
		"Rolls a running deployment (or one of its targets, with --target) back to the version before it.\n" +
			"A finished deployment cannot be rolled back: deploy the old version again instead.", "Rolled back"},
	{"cancel", "Cancel a deployment",
		"Cancels a queued or running deployment (or one target, with --target); started targets roll back.", "Cancelled"},
}

func newJudgmentCommand(j judgmentCommand) *cobra.Command {
	req := apiclient.JudgmentRequest{}
	cmd := &cobra.Command{
		Use:   j.decision + " ID",
		Short: j.short,
		Long:  j.long,
		Example: fmt.Sprintf("  aurora deploy %[1]s potato-facts-x7k2p\n"+
			"  aurora deploy %[1]s potato-facts-x7k2p --target prod --gate 'steps[2]' --reason 'metrics look fine'", j.decision),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, c, err := newAPISession(cmd)
			if err != nil {
				return err
			}
			id := args[0]
			r := req
			if j.decision == "approve" && (r.Target == "" || r.Gate == "") {
				p, err := c.Pipeline(cmd.Context(), id)
				if err != nil {
					return err
				}
				if r, err = pickApproval(p, r); err != nil {
					return err
				}
			}
			res, err := c.Judge(cmd.Context(), id, j.decision, r)
			if err != nil {
				var apiErr *apiclient.Error
				if errors.As(err, &apiErr) && apiErr.Code == apiclient.CodeAmbiguous {
					return ambiguousError(id, apiErr)
				}
				return err
			}
			return printValue(cmd.OutOrStdout(), s.cfg.Output, res, func(w io.Writer) error {
				where := strings.TrimSpace(strings.Join([]string{res.Target, res.Gate}, " "))
				if where != "" {
					where = " " + where + " of"
				}
				_, err := fmt.Fprintf(w, "%s%s %s (judgment %s)\n", j.done, where, id, res.Judgment)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Target, "target", "", "The target the decision is for (default: the one that waits).")
	f.StringVar(&req.Gate, "gate", "", "The gate, e.g. steps[2] or beforeDeployment[0] (default: the one that waits).")
	f.StringVar(&req.Reason, "reason", "", "Why; shown with the decision.")
	return cmd
}

// pickApproval completes an approval's target and gate from the gates that wait: the one that
// matches what was given, an error listing them when several do, and the request unchanged when none
// does (the API then says that nothing waits).
func pickApproval(p *apiclient.Pipeline, r apiclient.JudgmentRequest) (apiclient.JudgmentRequest, error) {
	var match []apiclient.PendingApproval
	for _, a := range p.PendingApprovals {
		if (r.Target == "" || a.Target == r.Target) && (r.Gate == "" || a.Gate == r.Gate) {
			match = append(match, a)
		}
	}
	switch len(match) {
	case 0:
		return r, nil
	case 1:
		r.Target, r.Gate = match[0].Target, match[0].Gate
		return r, nil
	}
	lines := make([]string, len(match))
	for i, a := range match {
		lines[i] = fmt.Sprintf("--target %s --gate '%s'", a.Target, a.Gate)
	}
	return r, fmt.Errorf("%d gates of %s wait for approval; name one:\n  %s", len(match), p.ID, strings.Join(lines, "\n  "))
}

// ambiguousError lists the gates of an ambiguous answer (details "<target>/<gate>") as the flags
// that name each.
func ambiguousError(id string, e *apiclient.Error) error {
	lines := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		target, gate, ok := strings.Cut(d.Message, "/")
		if !ok {
			lines = append(lines, d.Message)
			continue
		}
		lines = append(lines, fmt.Sprintf("--target %s --gate '%s'", target, gate))
	}
	return fmt.Errorf("%s: %s; name one:\n  %s", id, e.Message, strings.Join(lines, "\n  "))
}
