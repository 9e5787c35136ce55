package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The aurora CLI", func() {
	It("deploys a canary from a file and a manifests directory with --watch, and exits 0 when it succeeds", func(ctx SpecContext) {
		const application = "cli-facts"
		dir := GinkgoT().TempDir()
		binary := filepath.Join(dir, "aurora")
		build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./cmd/aurora")
		build.Dir = filepath.Join("..", "..")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		By("configuring the CLI as aurora dev does: the API, the issuer, the CA and the tenant admin")
		write := func(name, text string) string {
			p := filepath.Join(dir, name)
			Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
			Expect(os.WriteFile(p, []byte(text), 0o600)).To(Succeed())
			return p
		}
		write("ca.crt", string(env.CA.CertPEM))
		config := write("config", fmt.Sprintf("apiURL: %s\nauthURL: %s\ncaFile: ca.crt\nclientId: %s\nclientSecret: %s\n",
			env.APIURL, env.Issuer, env.Admin.ClientID, env.Admin.ClientSecret))
		run := func(args ...string) (string, int) {
			cmd := exec.CommandContext(ctx, binary, args...)
			cmd.Env = []string{"AURORA_CONFIG=" + config, "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			GinkgoWriter.Printf("$ aurora %v\n%s%s", args, stdout.String(), stderr.String())
			if err != nil {
				exitErr, ok := err.(*exec.ExitError)
				Expect(ok).To(BeTrue(), err.Error())
				return stdout.String(), exitErr.ExitCode()
			}
			return stdout.String(), 0
		}

		By("listing the connected agents")
		stdout, code := run("agents", "list", "-o", "json")
		Expect(code).To(Equal(0))
		var agents []struct {
			AgentIdentifier string `json:"agentIdentifier"`
			Connected       bool   `json:"connected"`
		}
		Expect(json.Unmarshal([]byte(stdout), &agents)).To(Succeed())
		Expect(agents).To(ContainElement(SatisfyAll(HaveField("AgentIdentifier", "staging"), HaveField("Connected", true))))

		By("deploying with --watch until the canary succeeds")
		write("manifests/app.yaml", app(application, "v1", 4, false))
		deployFile := write("deploy.yml", fmt.Sprintf(`version: v1
kind: kubernetes
application: %[1]s
targets:
  staging:
    account: staging
    namespace: %[1]s
    strategy: canary
manifests:
  - path: manifests/
strategies:
  canary:
    canary:
      steps:
        - setWeight:
            weight: 50
        - pause:
            duration: 3
            unit: seconds
        - setWeight:
            weight: 100
`, application))
		stdout, code = run("deploy", "start", "-f", deployFile, "--watch", "--poll-interval", "500ms")
		Expect(code).To(Equal(0), stdout)
		Expect(stdout).To(ContainSubstring("("+application+"): SUCCEEDED"), "the first version goes to 100% at once")
		expectPods(ctx, "staging", application, map[string]int{"v1": 4})

		By("deploying the next version, which the live view shows at half during the pause")
		write("manifests/app.yaml", app(application, "v2", 4, false))
		start := time.Now()
		stdout, code = run("deploy", "start", "-f", deployFile, "--watch", "--poll-interval", "500ms")
		Expect(code).To(Equal(0), stdout)
		AddReportEntry("aurora deploy start --watch of a two-step canary took", time.Since(start).String())
		Expect(stdout).To(MatchRegexp(`staging\s+[A-Z_]+\s+step \d/\d\s+weight 50%`), "the live view shows the canary at half")
		Expect(stdout).To(ContainSubstring("(" + application + "): SUCCEEDED"))
		id := regexp.MustCompile(`Deployment ID: (\S+)`).FindStringSubmatch(stdout)
		Expect(id).NotTo(BeNil())
		expectPods(ctx, "staging", application, map[string]int{"v2": 4})

		stdout, code = run("deploy", "status", id[1], "-o", "json")
		Expect(code).To(Equal(0))
		Expect(stdout).To(MatchRegexp(`"status":\s*"SUCCEEDED"`))
	})
})
