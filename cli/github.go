package cli

import (
	"fmt"
	"os"
	"strings"
)

// gitHubOutputs are the step outputs `aurora deploy start` writes for GitHub Actions, as Armory's
// CLI does: DEPLOYMENT_ID, LINK, RUN_RESULT and STATUS_CODE.
type gitHubOutputs struct {
	DeploymentID, Link, RunResult string
	StatusCode                    int
}

// writeGitHubOutputs appends the outputs to $GITHUB_OUTPUT and a link to $GITHUB_STEP_SUMMARY,
// when those are set.
func writeGitHubOutputs(getenv func(string) string, o gitHubOutputs) error {
	if path := getenv("GITHUB_OUTPUT"); path != "" {
		var b strings.Builder
		for _, kv := range [][2]string{{"DEPLOYMENT_ID", o.DeploymentID}, {"LINK", o.Link}, {"RUN_RESULT", o.RunResult},
			{"STATUS_CODE", fmt.Sprint(o.StatusCode)}} {
			// Values are single-line; drop any newline so that one cannot add outputs.
			fmt.Fprintf(&b, "%s=%s\n", kv[0], strings.NewReplacer("\n", " ", "\r", " ").Replace(kv[1]))
		}
		if err := appendFile(path, b.String()); err != nil {
			return fmt.Errorf("GITHUB_OUTPUT: %w", err)
		}
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" && o.DeploymentID != "" {
		if err := appendFile(path, fmt.Sprintf("Aurora deployment [%s](%s): %s\n", o.DeploymentID, o.Link, o.RunResult)); err != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
