package testcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("reaper", func() {
	DescribeTable("parsing a pid file",
		func(content string, want []recordedProcess) {
			Expect(parsePIDFile(content)).To(Equal(want))
		},
		Entry("empty", "", []recordedProcess(nil)),
		Entry("lines in order", "101 etcd\n102 kube-apiserver\n",
			[]recordedProcess{{PID: 101, Component: "etcd"}, {PID: 102, Component: "kube-apiserver"}}),
		Entry("blank lines and extra spaces", "\n  101   etcd \n\n", []recordedProcess{{PID: 101, Component: "etcd"}}),
		Entry("a line cut short by a crash is skipped, the others kept", "101 etcd\n102 kube-apiserver\n10",
			[]recordedProcess{{PID: 101, Component: "etcd"}, {PID: 102, Component: "kube-apiserver"}}),
		Entry("malformed lines are skipped", "x etcd\n-5 kwok\n1 init\n7\n8 a b\n9 kwok\n",
			[]recordedProcess{{PID: 9, Component: "kwok"}}),
	)

	DescribeTable("parsing an owner file",
		func(content string, want processIdentity, wantErr string) {
			got, err := parseOwner(content)
			if wantErr != "" {
				Expect(err).To(MatchError(ContainSubstring(wantErr)))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("pid and start time", "4242 987654\n", processIdentity{PID: 4242, StartTime: 987654}, ""),
		Entry("empty", "", processIdentity{}, "want"),
		Entry("no start time", "4242\n", processIdentity{}, "want"),
		Entry("bad pid", "abc 1\n", processIdentity{}, "bad pid"),
		Entry("bad start time", "12 -1\n", processIdentity{}, "bad start time"),
	)

	DescribeTable("reading a start time from /proc/<pid>/stat",
		func(stat string, want uint64, wantErr string) {
			got, err := parseStatStartTime(stat)
			if wantErr != "" {
				Expect(err).To(MatchError(ContainSubstring(wantErr)))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("a plain command name",
			"16959 (sleep) R 16952 16952 11398 0 -1 4194304 136 0 0 0 0 0 0 0 20 0 1 0 44930 2990080 408 18446744073709551615",
			uint64(44930), ""),
		Entry("a command name with spaces and parentheses",
			"77 (a) b (c) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 123456 0 0 0",
			uint64(123456), ""),
		Entry("cut short", "77 (x) S 1 2 3", uint64(0), "fields after the command name"),
		Entry("no command name", "garbage", uint64(0), "no command name"),
	)

	It("reads the identity of the running process", func() {
		self, err := identityOf(os.Getpid())
		Expect(err).NotTo(HaveOccurred())
		Expect(self.StartTime).NotTo(BeZero())
		Expect(self.isAlive()).To(BeTrue())
		Expect(processIdentity{PID: os.Getpid(), StartTime: self.StartTime + 1}.isAlive()).To(BeFalse(), "same pid, other start time: a reused pid")
	})

	DescribeTable("directory names from cluster names",
		func(name, want string) { Expect(dirSafeName(name)).To(Equal(want)) },
		Entry("kept as is", "cloud-1", "cloud-1"),
		Entry("unsafe characters replaced", "cloud / target #2", "cloud-target-2"),
		Entry("empty", "", "cluster"),
		Entry("only unsafe characters", "///", "cluster"),
		Entry("cut to 40 characters", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	)

	It("kills the leftover processes of a dead owner and removes its directory, and nothing else", func() {
		root := GinkgoT().TempDir()

		// A directory whose owner is dead: a pid that exited, with a start time it never had.
		orphanDir := filepath.Join(root, "orphan-1")
		Expect(os.Mkdir(orphanDir, 0o755)).To(Succeed())
		exited := exec.Command("true")
		Expect(exited.Run()).To(Succeed())
		Expect(os.WriteFile(filepath.Join(orphanDir, ownerFileName), fmt.Appendf(nil, "%d 1\n", exited.Process.Pid), 0o644)).To(Succeed())

		// Its leftover: a shell (named after the directory on its command line, like every cluster
		// process) with a child in its process group.
		leftover := exec.Command("/bin/sh", "-c", "sleep 600; :", orphanDir)
		leftover.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		Expect(leftover.Start()).To(Succeed())
		DeferCleanup(func() { _ = syscall.Kill(-leftover.Process.Pid, syscall.SIGKILL) })
		// A process whose pid the file records but that does not name the directory: a reused pid.
		bystander := exec.Command("sleep", "600")
		Expect(bystander.Start()).To(Succeed())
		DeferCleanup(func() { _ = bystander.Process.Kill(); _ = bystander.Wait() })
		Expect(recordPID(orphanDir, leftover.Process.Pid, "etcd")).To(Succeed())
		Expect(recordPID(orphanDir, bystander.Process.Pid, "kube-apiserver")).To(Succeed())
		Eventually(func() bool { return commandLineMentions(leftover.Process.Pid, orphanDir) }).Should(BeTrue())

		// A directory this process owns, and one kept on purpose: both stay.
		ownDir, err := createWorkDir(root, "mine")
		Expect(err).NotTo(HaveOccurred())
		keptDir := filepath.Join(root, "kept-1")
		Expect(os.Mkdir(keptDir, 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(keptDir, ownerFileName), []byte("999999999 1\n"), 0o644)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(keptDir, keptMarkerName), nil, 0o644)).To(Succeed())
		// A directory without an owner file: reaped.
		brokenDir := filepath.Join(root, "broken-1")
		Expect(os.Mkdir(brokenDir, 0o755)).To(Succeed())

		reaped, err := reapOrphans(root)
		Expect(err).NotTo(HaveOccurred())
		Expect(reaped).To(ConsistOf(orphanDir, brokenDir))

		Expect(leftover.Wait()).To(MatchError("signal: killed"))
		Eventually(runningInProcessGroup).WithArguments(leftover.Process.Pid).Should(BeEmpty(), "the process group is gone, sleep included")
		Expect(isZombie(bystander.Process.Pid) || syscall.Kill(bystander.Process.Pid, 0) != nil).To(BeFalse(), "the bystander still runs")
		Expect(orphanDir).NotTo(BeADirectory())
		Expect(brokenDir).NotTo(BeADirectory())
		Expect(ownDir).To(BeADirectory())
		Expect(keptDir).To(BeADirectory())
	})

	It("has nothing to do without a state root", func() {
		Expect(reapOrphans(filepath.Join(GinkgoT().TempDir(), "absent"))).To(BeEmpty())
	})
})
