package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"

	corev1 "k8s.io/api/core/v1"

	"github.com/aurora-cd/aurora/cli/deployfile"
	"github.com/aurora-cd/aurora/internal/tenantsecrets"
)

const deploymentManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: potato-facts
spec:
  replicas: 2
  selector:
    matchLabels: {app: potato-facts}
  template:
    metadata:
      labels: {app: potato-facts}
    spec:
      containers:
        - name: web
          image: ghcr.io/aurora-cd/potato-facts:v2
`

const serviceManifest = `apiVersion: v1
kind: Service
metadata:
  name: potato-facts
spec:
  selector: {app: potato-facts}
  ports: [{port: 80}]
`

// gatedDeployFile deploys application to each of targets, each behind an approval, with its
// manifests in a directory.
func gatedDeployFile(application string, targets ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: v1\nkind: kubernetes\napplication: %s\ntargets:\n", application)
	for _, t := range targets {
		fmt.Fprintf(&b, "  %s:\n    account: %s\n    namespace: %s\n    strategy: rolling\n    constraints:\n      beforeDeployment:\n        - pause:\n            untilApproved: true\n", t, t, application)
	}
	b.WriteString("manifests:\n  - path: manifests/\nstrategies:\n  rolling:\n    canary:\n      steps:\n        - setWeight:\n            weight: 100\n")
	return b.String()
}

// withManifests writes a deploy file and its manifests directory into the environment.
func withManifests(e *cliEnv, name, deployFile string) string {
	e.writeFile("manifests/deployment.yaml", deploymentManifest)
	e.writeFile("manifests/service.yml", serviceManifest)
	return e.writeFile(name, deployFile)
}

// pipelineStatus reads `deploy status ID -o json`.
func pipelineStatus(ctx context.Context, e *cliEnv, id string) map[string]any {
	r := e.run(ctx, "deploy", "status", id, "-o", "json")
	Expect(r.code).To(Equal(0), r.stderr)
	out := map[string]any{}
	Expect(json.Unmarshal([]byte(r.stdout), &out)).To(Succeed(), r.stdout)
	return out
}

var _ = Describe("aurora deploy", func() {
	It("starts a deployment from a file with a manifests directory, shows its status, and approves its gate", func(ctx context.Context) {
		e := as(deployer)
		file := withManifests(e, "deploy.yml", gatedDeployFile("potato-facts", "staging"))
		e.vars["GITHUB_OUTPUT"] = filepath.Join(e.home, "github-output")

		By("starting it with -o json")
		r := e.run(ctx, "deploy", "start", "-f", file, "-o", "json", "--add-context", "version=v2")
		Expect(r.code).To(Equal(0), r.stderr)
		var started struct {
			PipelineID string `json:"pipelineId"`
			Link       string `json:"link"`
		}
		Expect(json.Unmarshal([]byte(r.stdout), &started)).To(Succeed(), r.stdout)
		Expect(started.PipelineID).To(HavePrefix("potato-facts-"))
		Expect(started.Link).To(Equal(apiURL + "/console/#/deployments/" + started.PipelineID))
		Expect(r.stderr).To(ContainSubstring("Warning:"), "the agent staging is not connected")
		outputs, err := os.ReadFile(e.vars["GITHUB_OUTPUT"])
		Expect(err).NotTo(HaveOccurred())
		Expect(string(outputs)).To(ContainSubstring("DEPLOYMENT_ID=" + started.PipelineID + "\n"))
		Expect(string(outputs)).To(ContainSubstring("STATUS_CODE=202\n"))
		Expect(string(outputs)).To(ContainSubstring("LINK=" + started.Link + "\n"))
		Expect(string(outputs)).To(MatchRegexp(`RUN_RESULT=[A-Z_]+\n`))

		By("reading the resolved manifests and the context back from the Deployment resource")
		var config string
		Eventually(func(g Gomega) {
			d := map[string]any{}
			raw := e.run(ctx, "deploy", "status", started.PipelineID, "-o", "yaml")
			g.Expect(raw.code).To(Equal(0))
			config = raw.stdout
			g.Expect(json.Unmarshal([]byte(e.run(ctx, "deploy", "status", started.PipelineID, "-o", "json").stdout), &d)).To(Succeed())
			g.Expect(d["context"]).To(HaveKeyWithValue("version", "v2"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(config).To(ContainSubstring("status: "))

		By("waiting for the approval")
		Eventually(func() any { return pipelineStatus(ctx, e, started.PipelineID)["status"] }).
			WithTimeout(time.Minute).WithPolling(time.Second).Should(Equal("AWAITING_APPROVAL"))
		text := e.run(ctx, "deploy", "status", started.PipelineID)
		Expect(text.code).To(Equal(0))
		Expect(text.stdout).To(ContainSubstring("Status:      AWAITING_APPROVAL"))
		Expect(text.stdout).To(ContainSubstring("aurora deploy approve " + started.PipelineID + " --target staging --gate 'beforeDeployment[0]'"))

		By("approving the one gate that waits, without naming it")
		r = e.run(ctx, "deploy", "approve", started.PipelineID, "--reason", "looks good")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(MatchRegexp(`^Approved staging beforeDeployment\[0\] of ` + started.PipelineID + ` \(judgment \S+\)\n$`))
		Eventually(func(g Gomega) {
			p := pipelineStatus(ctx, e, started.PipelineID)
			g.Expect(p["pendingApprovals"]).To(BeEmpty())
			g.Expect(p["judgments"]).To(ContainElement(And(HaveKeyWithValue("decision", "approve"), HaveKeyWithValue("gate", "beforeDeployment[0]"))))
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())

		By("refusing a second deployment of the application with exit code 3")
		e.vars["GITHUB_OUTPUT"] = filepath.Join(e.home, "github-output-2")
		r = e.run(ctx, "deploy", "start", "-f", file)
		Expect(r.code).To(Equal(3), r.stdout+r.stderr)
		Expect(r.stderr).To(ContainSubstring("a deployment of this application is in progress"))
		Expect(r.stderr).To(ContainSubstring(started.PipelineID))
		outputs, err = os.ReadFile(e.vars["GITHUB_OUTPUT"])
		Expect(err).NotTo(HaveOccurred())
		Expect(string(outputs)).To(ContainSubstring("STATUS_CODE=409\n"))

		By("cancelling it (the rollback waits for the target's agent, which this suite does not run)")
		r = e.run(ctx, "deploy", "cancel", started.PipelineID, "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring(`"judgment"`))
		Eventually(func() any { return pipelineStatus(ctx, e, started.PipelineID)["judgments"] }).
			WithTimeout(time.Minute).WithPolling(time.Second).Should(ContainElement(HaveKeyWithValue("decision", "cancel")))
	})

	It("lists the gates when several wait, and approves the one named", func(ctx context.Context) {
		e := as(deployer)
		file := withManifests(e, "deploy.yml", gatedDeployFile("two-gates", "staging", "prod"))
		r := e.run(ctx, "deploy", "start", "-f", file)
		Expect(r.code).To(Equal(0), r.stderr)
		m := regexp.MustCompile(`Deployment ID: (\S+)`).FindStringSubmatch(r.stdout)
		Expect(m).NotTo(BeNil(), r.stdout)
		id := m[1]
		Eventually(func() any { return pipelineStatus(ctx, e, id)["pendingApprovals"] }).
			WithTimeout(time.Minute).WithPolling(time.Second).Should(HaveLen(2))

		r = e.run(ctx, "deploy", "approve", id)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("2 gates of " + id + " wait for approval; name one:"))
		Expect(r.stderr).To(ContainSubstring("--target staging --gate 'beforeDeployment[0]'"))
		Expect(r.stderr).To(ContainSubstring("--target prod --gate 'beforeDeployment[0]'"))

		By("the API's answer when several wait and none is named")
		r = e.run(ctx, "deploy", "reject", id)
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("--target staging --gate 'beforeDeployment[0]'"))
		Expect(r.stderr).To(ContainSubstring("--target prod --gate 'beforeDeployment[0]'"))

		r = e.run(ctx, "deploy", "approve", id, "--target", "prod")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(HavePrefix("Approved prod beforeDeployment[0] of " + id))
		Eventually(func() any { return pipelineStatus(ctx, e, id)["pendingApprovals"] }).
			WithTimeout(time.Minute).WithPolling(time.Second).Should(ConsistOf(HaveKeyWithValue("target", "staging")))
		Expect(e.run(ctx, "deploy", "cancel", id).code).To(Equal(0))
	})

	It("follows a deployment with --watch until it ends, and exits 1 when it did not succeed", func(ctx context.Context) {
		e := as(deployer)
		file := withManifests(e, "deploy.yml", gatedDeployFile("watched", "staging"))
		cmd := e.command(ctx, "deploy", "start", "-f", file, "--watch", "--poll-interval", "500ms")
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		cmd.Stderr = GinkgoWriter
		Expect(cmd.Start()).To(Succeed())
		lines := make(chan string, 100)
		go func() {
			defer GinkgoRecover()
			defer close(lines)
			s := bufio.NewScanner(stdout)
			for s.Scan() {
				GinkgoWriter.Println("watch:", s.Text())
				lines <- s.Text()
			}
		}()
		var id string
		var seen []string
		Eventually(lines).WithTimeout(time.Minute).Should(Receive(WithTransform(func(l string) string {
			seen = append(seen, l)
			if m := regexp.MustCompile(`Deployment ID: (\S+)`).FindStringSubmatch(l); m != nil {
				id = m[1]
			}
			return id
		}, Not(BeEmpty()))))
		// Plain lines (stdout is not a terminal): one when the approval starts to wait.
		Eventually(lines).WithTimeout(time.Minute).Should(Receive(ContainSubstring("awaiting approval (beforeDeployment[0])")))
		Expect(e.run(ctx, "deploy", "cancel", id).code).To(Equal(0))
		Eventually(lines).WithTimeout(time.Minute).Should(Receive(ContainSubstring(id + " (watched): CANCELLED")))
		err = cmd.Wait()
		Expect(err).To(HaveOccurred())
		Expect(cmd.ProcessState.ExitCode()).To(Equal(1))
		for l := range lines {
			Expect(l).NotTo(ContainSubstring("\x1b["), "no terminal control sequences when stdout is not a terminal")
		}
	})

	It("redraws the live view in place on a terminal", func(ctx context.Context) {
		e := as(deployer)
		file := withManifests(e, "deploy.yml", gatedDeployFile("on-a-terminal", "staging"))
		cmd := e.command(ctx, "deploy", "start", "-f", file, "--watch", "--poll-interval", "300ms")
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = tty.Close() }()
		var screen strings.Builder
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			buf := make([]byte, 4096)
			for {
				n, err := tty.Read(buf)
				screenMu.Lock()
				screen.Write(buf[:n])
				screenMu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		Eventually(func() string { return pipelineIDOf(readScreen(&screen, done)) }).WithTimeout(time.Minute).ShouldNot(BeEmpty())
		id := pipelineIDOf(readScreen(&screen, done))
		Eventually(func() string { return readScreen(&screen, done) }).WithTimeout(time.Minute).Should(ContainSubstring("awaiting approval"))
		Expect(e.run(ctx, "deploy", "cancel", id).code).To(Equal(0))
		Eventually(done).WithTimeout(time.Minute).Should(BeClosed())
		Expect(cmd.Wait()).NotTo(Succeed(), "a cancelled deployment exits 1")
		out := screen.String()
		// Each frame after the first moves up over the two lines of the one before (the pipeline and
		// its one target) and clears every line it writes.
		Expect(out).To(ContainSubstring("\x1b[2A\x1b[2K\r" + id + " (on-a-terminal): "))
		Expect(out).To(ContainSubstring("\x1b[2K\r  staging "))
		Expect(out).To(ContainSubstring(id + " (on-a-terminal): CANCELLED"))
	})

	It("reads a deploy file and its manifests from URLs", func(ctx context.Context) {
		e := as(deployer)
		// Served over HTTPS with a certificate of the suite's CA, which the CLI trusts through caFile.
		srv := serveFiles(map[string]string{
			"/app/deploy.yml":     strings.Replace(gatedDeployFile("from-url", "staging"), "path: manifests/", "path: manifests.yaml", 1),
			"/app/manifests.yaml": deploymentManifest + "---\n" + serviceManifest,
		})
		r := e.run(ctx, "validate", "-f", srv+"/app/deploy.yml")
		Expect(r.code).To(Equal(0), r.stdout+r.stderr)
		Expect(r.stdout).To(ContainSubstring(srv + "/app/deploy.yml is valid"))
	})
})

var _ = Describe("aurora validate", func() {
	It("accepts every template, and the templates deploy", func(ctx context.Context) {
		e := as(deployer)
		for _, kind := range deployfile.TemplateKinds {
			for _, features := range []string{"", "manual", "automated", "traffic", "manual,automated,traffic"} {
				r := e.run(ctx, "template", kind, "--features", features)
				Expect(r.code).To(Equal(0), r.stderr)
				file := e.writeFile(kind+"-"+features+".yml", r.stdout)
				v := e.run(ctx, "validate", "-f", file, "-o", "json")
				Expect(v.code).To(Equal(0), kind+" "+features+": "+v.stdout+v.stderr)
				Expect(v.stdout).To(ContainSubstring(`"valid": true`))
			}
		}
	})

	It("places the API's errors at their lines and columns", func(ctx context.Context) {
		e := as(deployer)
		file := e.writeFile("deploy.yml", `version: v1
application: potato-facts
targets:
  prod:
    account: prod
    strategy: bluegreen
manifests:
  - inline: |
`+indent(deploymentManifest, 6)+`strategies:
  rolling:
    canary:
      steps:
        - setWeight:
            weight: 100
`)
		r := e.run(ctx, "validate", "-f", file)
		Expect(r.code).To(Equal(1))
		Expect(r.stdout).To(ContainSubstring(file + `:6:5: targets.prod.strategy: unknown strategy "bluegreen"`))

		file = e.writeFile("typo.yml", "application: potato-facts\ntargets:\n  prod:\n    account: prod\n    strategy: rolling\n    namespce: web\n"+
			"manifests:\n  - path: manifests/\nstrategies:\n  rolling:\n    canary:\n      steps:\n        - setWeight:\n            weight: 100\n")
		e.writeFile("manifests/deployment.yaml", deploymentManifest)
		r = e.run(ctx, "validate", "-f", file, "-o", "json")
		Expect(r.code).To(Equal(1))
		var out struct {
			Valid  bool `json:"valid"`
			Errors []struct {
				Line, Column   int
				Field, Message string
			} `json:"errors"`
		}
		Expect(json.Unmarshal([]byte(r.stdout), &out)).To(Succeed(), r.stdout)
		Expect(out.Valid).To(BeFalse())
		Expect(out.Errors).To(ContainElement(And(HaveField("Line", 6), HaveField("Column", 5), HaveField("Field", "targets.prod.namespce"),
			HaveField("Message", ContainSubstring(`unknown field "namespce"`)))))
	})

	It("reports YAML errors and missing manifests with their lines, without asking the API", func(ctx context.Context) {
		e := newCLIEnv(nil) // no credential: the file fails before any request
		file := e.writeFile("deploy.yml", "application: potato-facts\ntargets:\n  prod:\n\taccount: prod\n")
		r := e.run(ctx, "validate", "-f", file)
		Expect(r.code).To(Equal(1))
		Expect(r.stdout).To(ContainSubstring(file + ":4: invalid YAML: found character that cannot start any token"))

		file = e.writeFile("missing.yml", "application: potato-facts\nmanifests:\n  - path: nowhere/\n")
		r = e.run(ctx, "validate", "-f", file)
		Expect(r.code).To(Equal(1))
		Expect(r.stdout).To(ContainSubstring(file + ":3:11: manifests[0].path: reading nowhere/: no such file or directory"))
	})
})

var _ = Describe("aurora credentials", func() {
	It("creates a credential and shows its secret once, lists it without, and deletes it", func(ctx context.Context) {
		e := as(admin)
		r := e.run(ctx, "credentials", "create", "ci-pipeline", "--scope", "api:deployment:full", "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		var created struct {
			Name, ClientID, ClientSecret string
			Scopes                       []string
		}
		Expect(json.Unmarshal([]byte(r.stdout), &created)).To(Succeed())
		Expect(created.Name).To(Equal("ci-pipeline"))
		Expect(created.ClientID).NotTo(BeEmpty())
		Expect(created.ClientSecret).NotTo(BeEmpty())
		Expect(created.Scopes).To(ConsistOf("api:deployment:full"))

		r = e.run(ctx, "credentials", "list", "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring(created.ClientID))
		Expect(r.stdout).NotTo(ContainSubstring(created.ClientSecret))
		Expect(r.stdout).NotTo(ContainSubstring("clientSecret"))
		text := e.run(ctx, "credentials", "list")
		Expect(text.stdout).To(MatchRegexp(`(?m)^ci-pipeline\s+` + regexp.QuoteMeta(created.ClientID) + `\s+api:deployment:full`))

		By("using the new credential")
		ci := as(machineCredential{id: created.ClientID, secret: created.ClientSecret})
		r = ci.run(ctx, "login")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring("Authenticated as machine credential ci-pipeline of tenant acme/prod"))

		r = e.run(ctx, "credentials", "delete", "ci-pipeline")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(Equal("Deleted credential ci-pipeline.\n"))
		Expect(e.run(ctx, "credentials", "list").stdout).NotTo(ContainSubstring("ci-pipeline"))
	})

	It("refuses a deployer, with the API's reason", func(ctx context.Context) {
		r := as(deployer).run(ctx, "credentials", "create", "x", "--scope", "api:deployment:full")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("403 forbidden"))
	})
})

var _ = Describe("aurora secrets", func() {
	It("sets a secret from stdin and from a file, lists names only, and deletes it", func(ctx context.Context) {
		e := as(deployer)
		r := e.runWithInput(ctx, strings.NewReader("cli-s3cr3t-from-stdin\n"), "secrets", "set", "ciToken")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(Equal("Set secret ciToken; webhooks use it as {{secrets.ciToken}}.\n"))
		file := e.writeFile("hook-url", "https://hooks.example/s3cr3t\n")
		r = e.run(ctx, "secrets", "set", "slackHook", "--from-file", file, "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring(`"name": "slackHook"`))

		store := &tenantsecrets.Store{Client: k8sClient, Sealer: secretSealer}
		opened, err := store.Resolver(ctx, tenantNamespace)("ciToken")
		Expect(err).NotTo(HaveOccurred())
		Expect(opened).To(Equal("cli-s3cr3t-from-stdin"), "stdin's trailing newline is dropped")
		opened, err = store.Resolver(ctx, tenantNamespace)("slackHook")
		Expect(err).NotTo(HaveOccurred())
		Expect(opened).To(Equal("https://hooks.example/s3cr3t\n"), "a file is taken byte for byte")

		text := e.run(ctx, "secrets", "list")
		Expect(text.code).To(Equal(0), text.stderr)
		Expect(text.stdout).To(MatchRegexp(`(?m)^NAME\s+UPDATED\n`))
		Expect(text.stdout).To(MatchRegexp(`(?m)^ciToken\s+\d{4}-\d\d-\d\dT`))
		Expect(text.stdout).To(MatchRegexp(`(?m)^slackHook\s+`))
		Expect(text.stdout).NotTo(ContainSubstring("s3cr3t"))
		r = e.run(ctx, "secrets", "list", "-o", "json")
		Expect(r.stdout).NotTo(ContainSubstring("s3cr3t"))

		r = e.run(ctx, "secrets", "delete", "slackHook")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(Equal("Deleted secret slackHook.\n"))
		Expect(e.run(ctx, "secrets", "list").stdout).NotTo(ContainSubstring("slackHook"))
		r = e.run(ctx, "secrets", "delete", "slackHook")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("404 not_found"))
	})

	It("refuses a value as an argument, an empty value and a bad name, before calling the API", func(ctx context.Context) {
		e := as(deployer)
		r := e.run(ctx, "secrets", "set", "ciToken", "s3cr3t-in-history")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("accepts 1 arg(s), received 2"))
		r = e.runWithInput(ctx, strings.NewReader(""), "secrets", "set", "ciToken")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("the secret's value is empty"))
		r = e.runWithInput(ctx, strings.NewReader("x"), "secrets", "set", "ci/token")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring(`secret name "ci/token" is not valid`))
	})
})

var _ = Describe("aurora agents and agent install", func() {
	It("creates the agent's credential and applies its manifests to a cluster", func(ctx context.Context) {
		e := as(admin)
		r := e.run(ctx, "agent", "install", "edge", "--hub-address", "127.0.0.1:9443", "-n", "edge-agent")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring("kind: Deployment"))
		Expect(r.stdout).To(ContainSubstring("agent-identifier: edge"))
		Expect(r.stdout).To(ContainSubstring("token-url: " + issuerURL + "/oauth/token"))

		By("applying to a cluster (here the cloud cluster itself) re-creates the credential")
		r = e.run(ctx, "agent", "install", "edge", "--hub-address", "127.0.0.1:9443", "-n", "edge-agent", "--apply",
			"--kubeconfig", cluster.KubeconfigPath, "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stderr).To(ContainSubstring("Credential rna-edge exists; re-creating it"))
		var applied struct {
			ClientID string   `json:"clientId"`
			Applied  []string `json:"applied"`
		}
		Expect(json.Unmarshal([]byte(r.stdout), &applied)).To(Succeed(), r.stdout)
		Expect(applied.Applied).To(ContainElements("Namespace/edge-agent", "Deployment/edge-agent/aurora-rna", "Secret/edge-agent/rna-client-credentials"))
		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "edge-agent", Name: "rna-client-credentials"}, secret)).To(Succeed())
		Expect(string(secret.Data["client-id"])).To(Equal(applied.ClientID))

		By("the credential can connect as that agent only")
		list := e.run(ctx, "credentials", "list", "-o", "json")
		Expect(list.stdout).To(ContainSubstring(applied.ClientID))

		r = as(deployer).run(ctx, "agents", "list", "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(strings.TrimSpace(r.stdout)).To(Equal("[]"), "no agent has connected")
	})
})

var _ = Describe("aurora login", func() {
	It("logs a person in with the device flow, uses and refreshes nothing else, and logs out", func(ctx context.Context) {
		e := newCLIEnv(nil)
		cmd := e.command(ctx, "login")
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		cmd.Stderr = GinkgoWriter
		Expect(cmd.Start()).To(Succeed())
		out := bufio.NewReader(stdout)
		var verification string
		for verification == "" {
			line, err := out.ReadString('\n')
			Expect(err).NotTo(HaveOccurred())
			GinkgoWriter.Print("login: ", line)
			if rest, ok := strings.CutPrefix(line, "or open "); ok {
				verification = strings.TrimSpace(rest)
			}
		}
		Expect(verification).To(HavePrefix(issuerURL + "/device?user_code="))

		By("playing the person: opening the page and posting the form")
		logInAtDevicePage(verification, userName, userPassword)

		rest, err := io.ReadAll(out)
		Expect(err).NotTo(HaveOccurred())
		Expect(cmd.Wait()).To(Succeed())
		Expect(string(rest)).To(ContainSubstring("Welcome alice to tenant acme/prod."))

		cached := filepath.Join(e.home, ".aurora", "credentials")
		st, err := os.Stat(cached)
		Expect(err).NotTo(HaveOccurred())
		Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		login := map[string]any{}
		data, err := os.ReadFile(cached)
		Expect(err).NotTo(HaveOccurred())
		Expect(json.Unmarshal(data, &login)).To(Succeed())
		Expect(login).To(HaveKeyWithValue("tenant", "prod"))
		Expect(login["refreshToken"]).NotTo(BeEmpty())

		By("using the cached login: alice is a tenant admin of acme/prod")
		r := e.run(ctx, "credentials", "list", "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring(admin.id))

		By("refreshing an expired token with the refresh token")
		login["expiry"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		oldAccess := login["accessToken"]
		data, err = json.Marshal(login)
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(cached, data, 0o600)).To(Succeed())
		r = e.run(ctx, "agents", "list")
		Expect(r.code).To(Equal(0), r.stderr)
		data, err = os.ReadFile(cached)
		Expect(err).NotTo(HaveOccurred())
		refreshed := map[string]any{}
		Expect(json.Unmarshal(data, &refreshed)).To(Succeed())
		Expect(refreshed["accessToken"]).NotTo(Equal(oldAccess))
		Expect(refreshed).To(HaveKeyWithValue("tenant", "prod"))

		By("logging out")
		r = e.run(ctx, "logout")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(Equal("Logged out.\n"))
		Expect(cached).NotTo(BeAnExistingFile())
		r = e.run(ctx, "credentials", "list")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("not logged in"))
	})

	It("logs a person in to another of their tenants with -e", func(ctx context.Context) {
		e := newCLIEnv(nil)
		cmd := e.command(ctx, "login", "-e", "staging", "-o", "json")
		stderr, err := cmd.StderrPipe()
		Expect(err).NotTo(HaveOccurred())
		var stdout strings.Builder
		cmd.Stdout = &stdout
		Expect(cmd.Start()).To(Succeed())
		prompt := bufio.NewReader(stderr)
		var verification string
		for verification == "" {
			line, err := prompt.ReadString('\n')
			Expect(err).NotTo(HaveOccurred())
			if rest, ok := strings.CutPrefix(line, "or open "); ok {
				verification = strings.TrimSpace(rest)
			}
		}
		logInAtDevicePage(verification, userName, userPassword)
		_, _ = io.Copy(GinkgoWriter, prompt)
		Expect(cmd.Wait()).To(Succeed())
		var out struct{ Type, Name, Organization, Environment string }
		Expect(json.Unmarshal([]byte(stdout.String()), &out)).To(Succeed(), stdout.String())
		Expect(out).To(Equal(struct{ Type, Name, Organization, Environment string }{"user", "alice", "acme", "staging"}))

		By("acting in staging, where alice deploys but does not manage credentials")
		r := e.run(ctx, "credentials", "list")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("forbidden"))
	})

	It("checks a machine credential with client credentials instead, and refuses CI=true without one", func(ctx context.Context) {
		r := as(deployer).run(ctx, "login", "-o", "json")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(ContainSubstring(`"type": "machine"`))
		Expect(r.stdout).To(ContainSubstring(`"name": "deployer"`))

		r = newCLIEnv(map[string]string{"CI": "true"}).run(ctx, "deploy", "status", "x")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("CI=true: expected a machine credential in AURORA_CLIENT_ID and AURORA_CLIENT_SECRET"))

		r = as(machineCredential{id: deployer.id, secret: "wrong"}).run(ctx, "agents", "list")
		Expect(r.code).To(Equal(1))
		Expect(r.stderr).To(ContainSubstring("invalid_client"))
	})
})

// logInAtDevicePage plays the person at the device page: opens it (which sets the CSRF cookie)
// and posts the form with the code, the username and the password.
func logInAtDevicePage(verification, username, password string) {
	jar, err := cookiejar.New(nil)
	Expect(err).NotTo(HaveOccurred())
	browser := &http.Client{Jar: jar, Transport: httpClient.Transport, Timeout: 30 * time.Second}
	resp, err := browser.Get(verification)
	Expect(err).NotTo(HaveOccurred())
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK))
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(string(page))
	Expect(csrf).NotTo(BeNil(), string(page))
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(string(page))
	Expect(action).NotTo(BeNil(), string(page))
	u, err := url.Parse(verification)
	Expect(err).NotTo(HaveOccurred())
	resp, err = browser.PostForm(strings.ReplaceAll(action[1], "&amp;", "&"), url.Values{"user_code": {u.Query().Get("user_code")},
		"username": {username}, "password": {password}, "csrf_token": {csrf[1]}})
	Expect(err).NotTo(HaveOccurred())
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
}

// indent prefixes every line of s with n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "")
}

// serveFiles serves files over HTTPS with a certificate of the suite's CA until the spec ends, and
// returns its URL.
func serveFiles(files map[string]string) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	srv.TLS = serverTLS.Clone()
	srv.StartTLS()
	DeferCleanup(srv.Close)
	return srv.URL
}

// screenMu guards reads of a terminal's output that a goroutine writes.
var screenMu sync.Mutex

// readScreen is what the terminal showed so far; once done is closed, all of it.
func readScreen(b *strings.Builder, done chan struct{}) string {
	select {
	case <-done:
	default:
		time.Sleep(50 * time.Millisecond)
	}
	screenMu.Lock()
	defer screenMu.Unlock()
	return b.String()
}

// pipelineIDOf finds the id that deploy start printed.
func pipelineIDOf(out string) string {
	if m := regexp.MustCompile(`Deployment ID: (\S+)\r?\n`).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}
