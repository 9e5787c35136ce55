package fault_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// component is an Aurora component run as a child process of the built aurora binary, so that a
// test can kill it for real (SIGKILL: no goodbye, no drain) and count its file descriptors.
type component struct {
	name        string
	args        []string
	metricsAddr string
	// tunnelAddr is where a Hub replica serves the agents' tunnels.
	tunnelAddr string
	logPath    string
	cmd        *exec.Cmd
	exited     chan struct{}
	starts     int
}

// newComponent describes `aurora <args>`; metricsAddr serves its plain-HTTP /metrics.
func newComponent(name, metricsAddr string, args ...string) *component {
	return &component{name: name, args: args, metricsAddr: metricsAddr, logPath: filepath.Join(workDir, name+".log")}
}

// start runs the component, appending its output to its log.
func (c *component) start() {
	GinkgoHelper()
	log, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	Expect(err).NotTo(HaveOccurred())
	defer log.Close()
	c.starts++
	fmt.Fprintf(log, "=== start %d\n", c.starts)
	c.cmd = exec.Command(auroraBinary, c.args...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	Expect(c.cmd.Start()).To(Succeed(), "starting %s", c.name)
	c.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(c.cmd, c.exited)
}

// kill SIGKILLs the component and waits for it to be gone.
func (c *component) kill() {
	GinkgoHelper()
	Expect(syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)).To(Succeed())
	Eventually(c.exited).WithTimeout(10 * time.Second).Should(BeClosed())
}

// stop ends the component with SIGTERM (a SIGKILL after 20 s), if it runs.
func (c *component) stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.exited:
		return
	default:
	}
	_ = syscall.Kill(c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.exited
	}
}

// openFDs counts the component's open file descriptors in /proc.
func (c *component) openFDs() int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	return len(entries)
}

// goroutines reads go_goroutines from the component's /metrics.
func (c *component) goroutines() int {
	resp, err := http.Get("http://" + c.metricsAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

// footprint is what a process holds: file descriptors and goroutines.
type footprint struct{ fds, goroutines int }

// footprintOf samples a component.
func footprintOf(c *component) footprint {
	return footprint{fds: c.openFDs(), goroutines: c.goroutines()}
}

// expectNoLeak waits until the component holds no more descriptors and goroutines than at the
// baseline plus a small allowance (an idle HTTP/2 connection, a timer).
func expectNoLeak(c *component, baseline footprint) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		now := footprintOf(c)
		g.Expect(now.fds).To(BeNumerically(">", 0))
		g.Expect(now.fds).To(BeNumerically("<=", baseline.fds+fdAllowance), "%s: open file descriptors", c.name)
		g.Expect(now.goroutines).To(BeNumerically("<=", baseline.goroutines+goroutineAllowance), "%s: goroutines", c.name)
	}).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), "%s leaks after recovery", c.name)
	AddReportEntry(c.name+" footprint after recovery", fmt.Sprintf("%+v (baseline %+v)", footprintOf(c), baseline))
}

// Allowances of the leak checks: what a recovered process may hold beyond its baseline.
const (
	fdAllowance        = 4
	goroutineAllowance = 15
)
