package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aurora-cd/aurora/cli/apiclient"
	"github.com/aurora-cd/aurora/cli/deployfile"
)

const groupUser = "user"

func newDeployCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deploy",
		GroupID: groupUser,
		Short:   "Start deployments, follow them, and decide on their gates",
		Long: "Starts a deployment from a deploy file, shows its status, and approves, rejects, skips,\n" +
			"rolls back or cancels what it waits for.",
		Example: "  aurora deploy start -f deploy.yml --watch\n" +
			"  aurora deploy status potato-facts-x7k2p\n" +
			"  aurora deploy approve potato-facts-x7k2p",
	}
	bindClientFlags(cmd)
	cmd.AddCommand(newDeployStartCommand(), newDeployStatusCommand())
	for _, d := range judgmentCommands {
		cmd.AddCommand(newJudgmentCommand(d))
	}
	return cmd
}

// deployStartOptions are the flags of `aurora deploy start`.
type deployStartOptions struct {
	file         string
	context      map[string]string
	targets      []string
	watch        bool
	pollInterval time.Duration
}

func newDeployStartCommand() *cobra.Command {
	opts := deployStartOptions{}
	cmd := &cobra.Command{
		Use:   "start -f FILE",
		Short: "Start a deployment from a deploy file",
		Long: "Reads the deploy file (a path or an http(s) URL), reads every manifests[].path into the file\n" +
			"(a file, a directory of .yaml/.yml files, or an http(s) URL; relative paths are relative to\n" +
			"the deploy file), and starts the deployment. It prints the deployment's id and link.\n\n" +
			"With --watch it follows the deployment until it ends, showing each target's status, step,\n" +
			"weight and pause, and exits 0 when it succeeded and 1 otherwise. It exits 3 when another\n" +
			"deployment of the application is in progress and the file says to reject this one.\n\n" +
			"In GitHub Actions ($GITHUB_OUTPUT set) it writes the outputs DEPLOYMENT_ID, LINK, RUN_RESULT\n" +
			"and STATUS_CODE.",
		Example: "  aurora deploy start -f deploy.yml\n" +
			"  aurora deploy start -f deploy.yml -t staging --add-context version=v2,ticket=OPS-12 --watch\n" +
			"  aurora deploy start -f https://example.com/deploy.yml -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDeployStart(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVarP(&opts.file, "file", "f", "", "Deploy file: a path or an http(s) URL (required).")
	f.StringToStringVar(&opts.context, "add-context", nil, "Context variables k=v (repeat or separate with commas); they are merged into contextOverrides.")
	f.StringSliceVarP(&opts.targets, "targetFilters", "t", nil, "Deploy to these targets only (repeatable); replaces targetFilters of the file.")
	f.BoolVarP(&opts.watch, "watch", "w", false, "Follow the deployment until it ends; exit 1 unless it succeeded.")
	f.DurationVar(&opts.pollInterval, "poll-interval", 2*time.Second, "How often --watch reads the deployment's status.")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// startOutput is what `deploy start -o json|yaml` prints.
type startOutput struct {
	PipelineID string   `json:"pipelineId"`
	Link       string   `json:"link"`
	Warnings   []string `json:"warnings,omitempty"`
	Status     string   `json:"status,omitempty"`
}

func runDeployStart(cmd *cobra.Command, opts deployStartOptions) error {
	s, err := newSession(cmd)
	if err != nil {
		return err
	}
	if opts.pollInterval <= 0 {
		return fmt.Errorf("--poll-interval %s: expected a positive duration", opts.pollInterval)
	}
	ctx := cmd.Context()
	f, body, err := s.readDeployFile(ctx, opts.file, deployfile.Options{Context: opts.context, Targets: opts.targets})
	if err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	res, err := c.StartPipeline(ctx, body, false)
	if err != nil {
		var apiErr *apiclient.Error
		if errors.As(err, &apiErr) {
			_ = writeGitHubOutputs(s.getenv, gitHubOutputs{RunResult: apiErr.Code, StatusCode: apiErr.Status})
		}
		if apiclient.IsCode(err, apiclient.CodeConflict) {
			return withExitCode(ExitConflict, fmt.Errorf("a deployment of this application is in progress: %w", err))
		}
		return s.explainInvalid(f, err)
	}
	out := startOutput{PipelineID: res.PipelineID, Link: s.consoleLink(res.PipelineID), Warnings: res.Warnings}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if s.cfg.Output == outputText {
		fmt.Fprintf(stdout, "Deployment ID: %s\nSee the deployment status: %s\n", out.PipelineID, out.Link)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "Warning: %s\n", w)
	}
	var p *apiclient.Pipeline
	if opts.watch {
		viewTo := stdout
		if s.cfg.Output != outputText {
			viewTo = stderr
		}
		p, err = watchPipeline(ctx, c, res.PipelineID, opts.pollInterval, newLiveView(viewTo))
	} else {
		p, err = c.Pipeline(ctx, res.PipelineID)
	}
	if err != nil {
		return err
	}
	out.Status = p.Status
	if err := writeGitHubOutputs(s.getenv, gitHubOutputs{DeploymentID: out.PipelineID, Link: out.Link, RunResult: p.Status, StatusCode: res.Status}); err != nil {
		return err
	}
	if s.cfg.Output != outputText {
		if err := printValue(stdout, s.cfg.Output, out, nil); err != nil {
			return err
		}
	}
	if opts.watch && p.Status != "SUCCEEDED" {
		return withExitCode(ExitFailure, fmt.Errorf("deployment %s ended %s", p.ID, p.Status))
	}
	return nil
}

// watchPipeline polls a pipeline until it ends, showing it in view.
func watchPipeline(ctx context.Context, c *apiclient.Client, id string, every time.Duration, view *liveView) (*apiclient.Pipeline, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	failures := 0
	for {
		p, err := c.Pipeline(ctx, id)
		switch {
		case err == nil:
			failures = 0
			view.show(p)
			if isFinal(p.Status) {
				return p, nil
			}
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			// Ride out a few failed reads (a restarting server); give up on the API's refusals.
			var apiErr *apiclient.Error
			if failures++; failures > 5 || (errors.As(err, &apiErr) && apiErr.Status < http.StatusInternalServerError) {
				return nil, fmt.Errorf("following deployment %s: %w", id, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// readDeployFile reads the deploy file at ref, resolves its manifests and applies opts.
func (s *session) readDeployFile(ctx context.Context, ref string, opts deployfile.Options) (*deployfile.File, []byte, error) {
	hc, err := s.manifestHTTPClient()
	if err != nil {
		return nil, nil, err
	}
	loader := deployfile.Loader{HTTP: hc}
	f, err := loader.Read(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if err := loader.Resolve(ctx, f, opts); err != nil {
		return f, nil, err
	}
	body, err := f.Marshal()
	if err != nil {
		return f, nil, err
	}
	return f, body, nil
}

// explainInvalid turns an invalid answer into one error per detail, placed in the file.
func (s *session) explainInvalid(f *deployfile.File, err error) error {
	problems := fieldErrors(f, err)
	if problems == nil {
		return err
	}
	lines := make([]string, len(problems))
	for i, p := range problems {
		lines[i] = p.Error()
	}
	return fmt.Errorf("%s is not valid:\n  %s", f.Name, strings.Join(lines, "\n  "))
}

// fieldErrors places the details of an invalid answer in the file; nil when err is not one.
func fieldErrors(f *deployfile.File, err error) []*deployfile.FieldError {
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || apiErr.Code != apiclient.CodeInvalid {
		return nil
	}
	if len(apiErr.Details) == 0 {
		return []*deployfile.FieldError{{File: f.Name, Message: apiErr.Message}}
	}
	out := make([]*deployfile.FieldError, len(apiErr.Details))
	for i, d := range apiErr.Details {
		out[i] = f.FieldErrorAt(d.Field, d.Message)
	}
	return out
}

func newDeployStatusCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show a deployment's status",
		Long: "Shows a deployment at this moment: its status word (QUEUED, RUNNING, PAUSED,\n" +
			"AWAITING_APPROVAL, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK, REJECTED), each target's step,\n" +
			"weight and pause, and the gates that wait for a decision.",
		Example: "  aurora deploy status potato-facts-x7k2p\n" +
			"  aurora deploy status potato-facts-x7k2p -o json | jq -r .status",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				id = args[0]
			}
			if id == "" {
				return fmt.Errorf("expected the deployment id as the argument (or -i)")
			}
			s, c, err := newAPISession(cmd)
			if err != nil {
				return err
			}
			p, err := c.Pipeline(cmd.Context(), id)
			if err != nil {
				return err
			}
			return printRaw(cmd.OutOrStdout(), s.cfg.Output, p.Raw, func(w io.Writer) error { return printPipeline(w, p, s.consoleLink(p.ID)) })
		},
	}
	cmd.Flags().StringVarP(&id, "deploymentId", "i", "", "The deployment id (instead of the argument).")
	return cmd
}

// printPipeline writes a pipeline for people.
func printPipeline(w io.Writer, p *apiclient.Pipeline, link string) error {
	fmt.Fprintf(w, "Deployment:  %s\nApplication: %s\nStatus:      %s\n", p.ID, p.Application, p.Status)
	if p.StartedAtIso8601 != "" {
		fmt.Fprintf(w, "Started:     %s\n", p.StartedAtIso8601)
	}
	if p.CompletedAtIso8601 != "" {
		fmt.Fprintf(w, "Completed:   %s\n", p.CompletedAtIso8601)
	}
	if p.InitiatedBy != "" {
		fmt.Fprintf(w, "Started by:  %s\n", p.InitiatedBy)
	}
	fmt.Fprintf(w, "Link:        %s\n", link)
	if progress := progressOf(p); len(progress) > 0 {
		fmt.Fprintln(w)
		rows := make([][]string, len(progress))
		for i, tp := range progress {
			rows[i] = []string{tp.Target, tp.Status, orDash(tp.Step), orDash(tp.Weight), orDash(tp.Pause), tp.Message}
		}
		if err := table(w, []string{"TARGET", "STATUS", "STEP", "WEIGHT", "PAUSE", "MESSAGE"}, rows); err != nil {
			return err
		}
	}
	if len(p.PendingApprovals) > 0 {
		fmt.Fprintf(w, "\n[%s] waiting for a decision:\n", p.Status)
		for _, a := range p.PendingApprovals {
			roles := ""
			if len(a.RequiresRoles) > 0 {
				roles = " (requires role " + strings.Join(a.RequiresRoles, " or ") + ")"
			}
			fmt.Fprintf(w, "  %s %s%s: aurora deploy approve %s --target %s --gate '%s'\n", a.Target, a.Gate, roles, p.ID, a.Target, a.Gate)
		}
	}
	return nil
}
