package testcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// helperProcessEnv makes TestHelperProcess act: "sigkill-full" starts a full cluster and waits to be
// killed; "panic-api" starts an API-only cluster and, once a line arrives on stdin, panics in a
// goroutine, which is what `go test -timeout` does to a test binary: no deferred function or cleanup
// runs.
const helperProcessEnv = "TESTCLUSTER_HELPER_PROCESS"

// helperReport is what the helper process prints once its cluster runs.
type helperReport struct {
	Dir       string
	Processes []Process
}

// TestHelperProcess is no test on its own: the specs below run the test binary with
// -test.run=^TestHelperProcess$ to get a test process that dies without stopping its cluster.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperProcessEnv)
	if mode == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := StartAPI
	if mode == "sigkill-full" {
		start = StartFull
	}
	cluster, err := start(ctx, Options{Name: "helper-" + mode, Nodes: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t.Cleanup(func() { _ = cluster.Stop() }) // never runs: the process dies first
	if err := json.NewEncoder(os.Stdout).Encode(helperReport{Dir: cluster.Dir, Processes: cluster.Processes()}); err != nil {
		os.Exit(1)
	}
	if mode == "panic-api" {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		go func() { panic("simulated: test timed out") }()
	}
	time.Sleep(5 * time.Minute) // the spec kills this process long before
	os.Exit(1)
}

var _ = Describe("a test process that dies without Stop", func() {
	DescribeTable("leaves no process behind, and the next start removes its directory",
		func(ctx SpecContext, mode string, wantProcesses int) {
			helper := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			helper.Env = append(os.Environ(), helperProcessEnv+"="+mode)
			helper.Stderr = GinkgoWriter
			stdout, err := helper.StdoutPipe()
			Expect(err).NotTo(HaveOccurred())
			stdin, err := helper.StdinPipe()
			Expect(err).NotTo(HaveOccurred())
			Expect(helper.Start()).To(Succeed())
			exited := make(chan error, 1)
			reports := make(chan helperReport, 1)
			go func() {
				reports <- readHelperReport(stdout)
				_, _ = io.Copy(io.Discard, stdout) // until the helper dies
				exited <- helper.Wait()
			}()
			DeferCleanup(func() { _ = helper.Process.Kill() })

			var report helperReport
			Eventually(ctx, reports).WithTimeout(4 * time.Minute).Should(Receive(&report))
			Expect(report.Processes).To(HaveLen(wantProcesses))
			for _, p := range report.Processes {
				Expect(commandLineMentions(p.PID, report.Dir)).To(BeTrue(), "%s (pid %d) runs", p.Component, p.PID)
			}

			if mode == "sigkill-full" {
				Expect(helper.Process.Signal(syscall.SIGKILL)).To(Succeed())
			} else {
				_, err := io.WriteString(stdin, "panic now\n")
				Expect(err).NotTo(HaveOccurred())
			}
			var exitErr error
			Eventually(ctx, exited).WithTimeout(time.Minute).Should(Receive(&exitErr))
			Expect(exitErr).To(HaveOccurred(), "the helper died")
			GinkgoWriter.Printf("helper: %v\n", exitErr)

			Eventually(func() []Process {
				var running []Process
				for _, p := range report.Processes {
					if isRunning(p.PID) {
						running = append(running, p)
					}
				}
				return running
			}).WithTimeout(10*time.Second).Should(BeEmpty(), "the kernel killed them (parent-death signal)")

			// Any test process on this machine that starts a cluster now reaps the directory; the
			// reaper's own spec checks that it is the reaper that does.
			_, err = reapOrphans(stateRoot())
			Expect(err).NotTo(HaveOccurred())
			Expect(report.Dir).NotTo(BeADirectory())
		},
		Entry("SIGKILL during a full cluster", SpecTimeout(6*time.Minute), "sigkill-full", 5),
		Entry("a panic outside the test goroutine (as `go test -timeout` does) during an API-only cluster",
			SpecTimeout(6*time.Minute), "panic-api", 2),
	)
})

// readHelperReport returns the first JSON line the helper prints (the testing package may print
// other lines).
func readHelperReport(stdout io.Reader) helperReport {
	var report helperReport
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		if line := scanner.Text(); strings.HasPrefix(line, "{") {
			if err := json.Unmarshal([]byte(line), &report); err == nil {
				break
			}
		}
	}
	return report
}
