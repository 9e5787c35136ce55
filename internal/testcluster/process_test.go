package testcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("child processes", func() {
	DescribeTable("the last lines of a log",
		func(data string, n int, want string) { Expect(lastLines([]byte(data), n)).To(Equal(want)) },
		Entry("fewer lines than asked", "a\nb\n", 5, "a\nb"),
		Entry("exactly n", "a\nb\nc", 3, "a\nb\nc"),
		Entry("more lines than asked", "a\nb\nc\nd\n", 2, "c\nd"),
		Entry("trailing blank lines dropped", "a\nb\n\n\n", 1, "b"),
		Entry("empty", "", 3, ""),
		Entry("zero lines", "a\n", 0, ""),
	)

	It("reads only the end of a long log", func() {
		path := filepath.Join(GinkgoT().TempDir(), "long.log")
		var b strings.Builder
		for i := range 100_000 {
			b.WriteString("line " + strconv.Itoa(i) + "\n")
		}
		Expect(os.WriteFile(path, []byte(b.String()), 0o644)).To(Succeed())
		Expect(readLogTail(path, 2)).To(Equal("line 99998\nline 99999"))
	})

	It("reports a process that exits, with the end of its log", func() {
		dir := GinkgoT().TempDir()
		p, err := startChildProcess(dir, "crasher", "/bin/sh",
			[]string{"-c", "echo starting; echo 'flag provided but not defined: -bogus' >&2; exit 3"}, filepath.Join(dir, "crasher.log"))
		Expect(err).NotTo(HaveOccurred())
		Eventually(p.exited).Should(BeClosed())
		Expect(firstExitError([]*childProcess{p})).To(MatchError(And(
			ContainSubstring("crasher stopped unexpectedly (exit status 3)"),
			ContainSubstring("starting\nflag provided but not defined: -bogus"))))
		Expect(p.stop(time.Second)).To(Succeed(), "stopping an exited process is no error")
		Expect(readPIDFile(dir)).To(Equal([]recordedProcess{{PID: p.pid(), Component: "crasher"}}))
	})

	It("stops a process and its process group", func() {
		dir := GinkgoT().TempDir()
		p, err := startChildProcess(dir, "sleeper", "/bin/sh", []string{"-c", "sleep 600; :"}, filepath.Join(dir, "sleeper.log"))
		Expect(err).NotTo(HaveOccurred())
		Expect(p.exitError()).NotTo(HaveOccurred())
		Expect(p.stop(10 * time.Second)).To(Succeed())
		Eventually(runningInProcessGroup).WithArguments(p.pid()).Should(BeEmpty(), "sh and its sleep are gone")
	})

	It("kills a process that ignores SIGTERM", func() {
		dir := GinkgoT().TempDir()
		p, err := startChildProcess(dir, "stubborn", "/bin/sh", []string{"-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}, filepath.Join(dir, "stubborn.log"))
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() (string, error) { return readLogTail(filepath.Join(dir, "stubborn.log"), 1) }).Should(Equal("ready"))
		Expect(p.stop(200 * time.Millisecond)).To(MatchError(ContainSubstring("did not stop within 200ms")))
		Eventually(runningInProcessGroup).WithArguments(p.pid()).Should(BeEmpty())
	})

	It("runs a binary through a wrapper that keeps its pid and records it", func() {
		dir := GinkgoT().TempDir()
		wrapper := filepath.Join(dir, "bin", "it's-sleep") // a quote in the path, to exercise quoting
		pidFile := filepath.Join(dir, pidsFileName)
		sleep, err := exec.LookPath("sleep")
		Expect(err).NotTo(HaveOccurred())
		Expect(writeProcessWrapper(wrapper, sleep, pidFile, "sleep")).To(Succeed())

		cmd := exec.Command(wrapper, "600")
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		Eventually(func() ([]recordedProcess, error) { return readPIDFile(dir) }).
			Should(Equal([]recordedProcess{{PID: cmd.Process.Pid, Component: "sleep"}}))
		Eventually(func() (string, error) {
			cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cmdline"))
			return strings.ReplaceAll(string(cmdline), "\x00", " "), err
		}).Should(Equal(sleep + " 600 "))
	})

	DescribeTable("quoting for the shell",
		func(s string) {
			out, err := exec.Command("/bin/sh", "-c", "printf %s "+shellQuote(s)).Output()
			Expect(err).NotTo(HaveOccurred())
			Expect(string(out)).To(Equal(s))
		},
		Entry("plain", "/tmp/x"),
		Entry("spaces", "/tmp/a b"),
		Entry("quotes", `/tmp/it's "x"`),
		Entry("shell syntax", "/tmp/$(rm -rf x);`y`"),
	)
})

// runningInProcessGroup returns the live (not zombie) processes of a process group. Killed
// grandchildren may linger as zombies when PID 1 does not reap orphans, as in some containers.
func runningInProcessGroup(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	var pids []int
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])) // state, ppid, pgrp, ...
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}
