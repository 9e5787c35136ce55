package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/aurora-cd/aurora/cli/apiclient"
)

// pipelineAwaitingApproval is a pipeline as docs/api.md shows it.
func pipelineAwaitingApproval() *apiclient.Pipeline {
	return &apiclient.Pipeline{ID: "potato-facts-x7k2p", Application: "potato-facts", Status: "AWAITING_APPROVAL",
		Steps: []apiclient.PipelineStep{
			{Type: "deployment", Status: "RUNNING", Ref: "staging", Deployment: &apiclient.TargetDeployment{ID: "potato-facts-x7k2p-staging",
				Environment: "staging", Step: 2, TotalSteps: 4, Weight: 50, Message: "canary at 50%"}},
			{Type: "pause", Status: "AWAITING_APPROVAL", Ref: "staging/steps[2]", ConstraintFor: "staging", Pause: &apiclient.Pause{UntilApproved: true}},
			{Type: "deployment", Status: "QUEUED", Ref: "prod", DependsOn: []string{"staging"}},
			{Type: "pause", Status: "RUNNING", Ref: "prod/beforeDeployment[0]", ConstraintFor: "prod", Pause: &apiclient.Pause{Duration: 5, Unit: "minutes"}},
		},
		PendingApprovals: []apiclient.PendingApproval{{Target: "staging", Gate: "steps[2]"}},
	}
}

func TestProgressOf(t *testing.T) {
	g := NewWithT(t)
	g.Expect(progressOf(pipelineAwaitingApproval())).To(Equal([]targetProgress{
		{Target: "staging", Status: "RUNNING", Step: "2/4", Weight: "50%", Pause: "awaiting approval (steps[2])", Message: "canary at 50%"},
		{Target: "prod", Status: "QUEUED", Pause: "paused for 5 minutes"},
	}))
	g.Expect(progressOf(&apiclient.Pipeline{})).To(BeEmpty())
}

func TestLiveViewPlainLines(t *testing.T) {
	g := NewWithT(t)
	var b bytes.Buffer
	v := newLiveView(&b)
	g.Expect(v.tty).To(BeFalse())
	v.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	p := pipelineAwaitingApproval()
	v.show(p)
	v.show(p) // nothing changed: nothing printed
	p.Status = "RUNNING"
	p.PendingApprovals = nil
	p.Steps[0].Deployment.Step, p.Steps[0].Deployment.Weight = 3, 100
	v.show(p)
	g.Expect(b.String()).To(Equal(
		"03:04:05 potato-facts-x7k2p (potato-facts): AWAITING_APPROVAL\n" +
			"03:04:05   staging      RUNNING            step 2/4  weight 50%  awaiting approval (steps[2])  canary at 50%\n" +
			"03:04:05   prod         QUEUED             paused for 5 minutes\n" +
			"03:04:05 potato-facts-x7k2p (potato-facts): RUNNING\n" +
			"03:04:05   staging      RUNNING            step 3/4  weight 100%  canary at 50%\n"))
}

func TestLiveViewRedrawsInPlace(t *testing.T) {
	g := NewWithT(t)
	var b bytes.Buffer
	v := &liveView{w: &b, tty: true, last: map[string]string{}, now: time.Now}
	p := pipelineAwaitingApproval()
	v.show(p)
	first := b.String()
	g.Expect(first).NotTo(ContainSubstring("\x1b[3A"))
	b.Reset()
	v.show(p)
	// The second frame moves up over the three lines of the first and clears each line it writes.
	g.Expect(b.String()).To(HavePrefix("\x1b[3A\x1b[2K\r"))
	g.Expect(bytes.Count(b.Bytes(), []byte("\x1b[2K\r"))).To(Equal(3))
}

func TestPickApproval(t *testing.T) {
	two := pipelineAwaitingApproval()
	two.PendingApprovals = append(two.PendingApprovals, apiclient.PendingApproval{Target: "prod", Gate: "beforeDeployment[0]"})
	tests := []struct {
		name    string
		p       *apiclient.Pipeline
		in      apiclient.JudgmentRequest
		want    apiclient.JudgmentRequest
		wantErr string
	}{
		{"the one gate that waits", pipelineAwaitingApproval(), apiclient.JudgmentRequest{Reason: "ok"},
			apiclient.JudgmentRequest{Target: "staging", Gate: "steps[2]", Reason: "ok"}, ""},
		{"several wait", two, apiclient.JudgmentRequest{}, apiclient.JudgmentRequest{},
			"2 gates of potato-facts-x7k2p wait for approval; name one:\n  --target staging --gate 'steps[2]'\n  --target prod --gate 'beforeDeployment[0]'"},
		{"several wait, the target picks one", two, apiclient.JudgmentRequest{Target: "prod"},
			apiclient.JudgmentRequest{Target: "prod", Gate: "beforeDeployment[0]"}, ""},
		{"nothing waits: left to the API", &apiclient.Pipeline{ID: "x"}, apiclient.JudgmentRequest{Target: "prod"},
			apiclient.JudgmentRequest{Target: "prod"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := pickApproval(tt.p, tt.in)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(tt.wantErr))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestPickTenant(t *testing.T) {
	dev := apiclient.Environment{ID: "acme-dev", Organization: "acme", Environment: "dev"}
	prod := apiclient.Environment{ID: "acme-prod", Organization: "acme", Environment: "prod"}
	tests := []struct {
		name    string
		envs    []apiclient.Environment
		env     string
		current string
		want    apiclient.Environment
		wantErr string
	}{
		{"the only one", []apiclient.Environment{dev}, "", "", dev, ""},
		{"named by environment", []apiclient.Environment{dev, prod}, "prod", "dev", prod, ""},
		{"named by id", []apiclient.Environment{dev, prod}, "acme-dev", "prod", dev, ""},
		{"several and none named: the login's", []apiclient.Environment{dev, prod}, "", "prod", prod, ""},
		{"several, none named, no current one", []apiclient.Environment{dev, prod}, "", "", apiclient.Environment{}, "you may use several tenants (dev, prod): name one with -e"},
		{"an unknown one", []apiclient.Environment{dev}, "qa", "dev", apiclient.Environment{}, `--env "qa": expected one of your tenants: dev`},
		{"none", nil, "", "", apiclient.Environment{}, "you may use no tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := pickTenant(tt.envs, tt.env, tt.current)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestGitHubOutputs(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
	g.Expect(os.WriteFile(env["GITHUB_OUTPUT"], []byte("EARLIER=1\n"), 0o644)).To(Succeed())
	g.Expect(writeGitHubOutputs(func(k string) string { return env[k] },
		gitHubOutputs{DeploymentID: "web-1", Link: "https://a/console/#/deployments/web-1", RunResult: "SUCCEEDED\nEVIL=1", StatusCode: 202})).To(Succeed())
	out, err := os.ReadFile(env["GITHUB_OUTPUT"])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(Equal("EARLIER=1\nDEPLOYMENT_ID=web-1\nLINK=https://a/console/#/deployments/web-1\nRUN_RESULT=SUCCEEDED EVIL=1\nSTATUS_CODE=202\n"))
	summary, err := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(summary)).To(ContainSubstring("[web-1](https://a/console/#/deployments/web-1)"))
	// Without the variables nothing is written anywhere.
	g.Expect(writeGitHubOutputs(func(string) string { return "" }, gitHubOutputs{DeploymentID: "x"})).To(Succeed())
}

func TestExitCode(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ExitCode(nil)).To(Equal(0))
	g.Expect(ExitCode(errors.New("x"))).To(Equal(1))
	conflict := withExitCode(ExitConflict, &apiclient.Error{Status: 409, Code: "conflict", Message: "in flight"})
	g.Expect(ExitCode(conflict)).To(Equal(3))
	g.Expect(apiclient.IsCode(conflict, apiclient.CodeConflict)).To(BeTrue())
	g.Expect(withExitCode(1, nil).Error()).To(BeEmpty())
}

func TestAmbiguousError(t *testing.T) {
	g := NewWithT(t)
	err := ambiguousError("web-1", &apiclient.Error{Status: 409, Code: "ambiguous", Message: "2 gates wait",
		Details: []apiclient.ErrorDetail{{Field: "gate", Message: "staging/steps[2]"}, {Field: "gate", Message: "prod/beforeDeployment[0]"}}})
	g.Expect(err).To(MatchError("web-1: 2 gates wait; name one:\n  --target staging --gate 'steps[2]'\n  --target prod --gate 'beforeDeployment[0]'"))
}
