package testcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("a cluster that fails to start", func() {
	DescribeTable("reports the end of the failing process's log and leaves nothing behind",
		func(ctx SpecContext, kind ClusterKind, failing string, wantErr []string) {
			realDir, err := BinaryDir(ctx, Full)
			Expect(err).NotTo(HaveOccurred())
			GinkgoT().Setenv("KUBEBUILDER_ASSETS", assetsWithFailingBinary(realDir, failing))

			name := fmt.Sprintf("fail-%s-%d", failing, time.Now().UnixNano())
			start := StartAPI
			if kind == Full {
				start = StartFull
			}
			began := time.Now()
			_, err = start(ctx, Options{Name: name, Nodes: 1})
			GinkgoWriter.Printf("failed after %s with:\n%v\n", time.Since(began).Round(time.Millisecond), err)
			Expect(err).To(HaveOccurred())
			for _, want := range wantErr {
				Expect(err.Error()).To(ContainSubstring(want))
			}

			leftoverDirs, err := filepath.Glob(filepath.Join(stateRoot(), name+"-*"))
			Expect(err).NotTo(HaveOccurred())
			Expect(leftoverDirs).To(BeEmpty())
			Expect(processesMentioning(filepath.Join(stateRoot(), name))).To(BeEmpty())
		},
		Entry("kube-apiserver exits at start: retried, then reported", SpecTimeout(5*time.Minute),
			APIOnly, apiServerBinary, []string{
				"start api-only cluster fail-kube-apiserver-",
				"attempt 1: timeout waiting for process kube-apiserver to start successfully",
				"attempt 3:",
				"last lines of kube-apiserver.log:\nsimulated failure of kube-apiserver: unknown flag --simulated",
			}),
		Entry("kube-scheduler exits at start", SpecTimeout(5*time.Minute),
			Full, schedulerBinary, []string{
				"start full cluster fail-kube-scheduler-",
				"kube-scheduler stopped unexpectedly (exit status 1)",
				"last lines of kube-scheduler.log:\nsimulated failure of kube-scheduler: unknown flag --simulated",
			}),
	)
})

// assetsWithFailingBinary returns a KUBEBUILDER_ASSETS directory with links to the binaries in realDir,
// except that failing is a script which answers --help like the real binary (envtest probes flags that
// way) but otherwise fails at once with a message on stderr.
func assetsWithFailingBinary(realDir, failing string) string {
	dir := GinkgoT().TempDir()
	for _, name := range []string{etcdBinary, apiServerBinary, kubectlBinary, controllerManagerBinary, schedulerBinary, kwokBinary, kwokStagesDir} {
		if name != failing {
			Expect(os.Symlink(filepath.Join(realDir, name), filepath.Join(dir, name))).To(Succeed())
			continue
		}
		script := fmt.Sprintf(`#!/bin/sh
case "$*" in *--help*) exec %s "$@";; esac
echo "simulated failure of %s: unknown flag --simulated" >&2
exit 1
`, shellQuote(filepath.Join(realDir, name)), name)
		Expect(os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755)).To(Succeed())
	}
	return dir
}
