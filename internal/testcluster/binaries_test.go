package testcluster

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("binary directory", func() {
	DescribeTable("reading the build script's output",
		func(stdout, wantDir, wantErr string) {
			dir, err := binaryDirFromScriptOutput(stdout)
			if wantErr != "" {
				Expect(err).To(MatchError(ContainSubstring(wantErr)))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(dir).To(Equal(wantDir))
		},
		Entry("one line", "/repo/bin/k8s/1.37.2-linux-amd64\n", "/repo/bin/k8s/1.37.2-linux-amd64", ""),
		Entry("the last of several lines, trailing blank lines and spaces ignored",
			"Kubernetes v1.37.2\n/repo/bin/k8s/1.37.2-linux-amd64  \n\n", "/repo/bin/k8s/1.37.2-linux-amd64", ""),
		Entry("CRLF line ends", "noise\r\n/opt/k8s\r\n", "/opt/k8s", ""),
		Entry("a path is cleaned", "/opt/k8s/bin/../bin/\n", "/opt/k8s/bin", ""),
		Entry("no output", "", "", "printed no binary directory"),
		Entry("only blank lines", "\n \n", "", "printed no binary directory"),
		Entry("a relative path", "bin/k8s\n", "", "not an absolute directory"),
		Entry("a message last", "/opt/k8s\ndone\n", "", `"done" is not an absolute directory`),
	)

	DescribeTable("what each kind of cluster needs",
		func(kind ClusterKind, want, notWant []string) {
			Expect(kind.requiredFiles()).To(ContainElements(want))
			for _, name := range notWant {
				Expect(kind.requiredFiles()).NotTo(ContainElement(name))
			}
		},
		Entry("API-only: kube-apiserver and etcd", APIOnly,
			[]string{"kube-apiserver", "etcd"}, []string{"kwok", "kube-scheduler", "kubectl"}),
		Entry("full: the components and kwok's stages too", Full,
			[]string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok",
				"kwok-stages/node-initialize.yaml", "kwok-stages/pod-delete.yaml"}, []string{"kubectl"}),
	)

	It("lists the files a directory lacks", func() {
		dir := GinkgoT().TempDir()
		Expect(os.WriteFile(filepath.Join(dir, "etcd"), []byte("x"), 0o755)).To(Succeed())
		Expect(os.Mkdir(filepath.Join(dir, "kube-apiserver"), 0o755)).To(Succeed()) // a directory is no binary
		Expect(missingFiles(dir, []string{"etcd", "kube-apiserver", "kwok"})).To(Equal([]string{"kube-apiserver", "kwok"}))
	})

	It("uses KUBEBUILDER_ASSETS when it holds what the kind needs", func(ctx SpecContext) {
		assets := GinkgoT().TempDir()
		for _, name := range []string{"etcd", "kube-apiserver"} {
			Expect(os.WriteFile(filepath.Join(assets, name), []byte("x"), 0o755)).To(Succeed())
		}
		GinkgoT().Setenv("KUBEBUILDER_ASSETS", assets)
		Expect(BinaryDir(ctx, APIOnly)).To(Equal(assets))
		// A full cluster needs more than these assets hold: the build script's directory is used.
		Expect(BinaryDir(ctx, Full)).NotTo(Equal(assets))
	})
})
