package testcluster

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var _ = Describe("kubeconfig rendering", func() {
	DescribeTable("round-trips through client-go",
		func(cfg *rest.Config) {
			data, err := renderKubeconfig("testcluster-cloud", cfg)
			Expect(err).NotTo(HaveOccurred())

			loaded, err := clientcmd.Load(data)
			Expect(err).NotTo(HaveOccurred())
			Expect(loaded.CurrentContext).To(Equal("testcluster-cloud"))

			back, err := clientcmd.RESTConfigFromKubeConfig(data)
			Expect(err).NotTo(HaveOccurred())
			Expect(back.Host).To(Equal(cfg.Host))
			Expect(back.CAData).To(Equal(cfg.CAData))
			Expect(back.CertData).To(Equal(cfg.CertData))
			Expect(back.KeyData).To(Equal(cfg.KeyData))
			Expect(back.BearerToken).To(Equal(cfg.BearerToken))
		},
		Entry("client certificate", &rest.Config{Host: "https://127.0.0.1:41234/",
			TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca"), CertData: []byte("cert"), KeyData: []byte("key")}}),
		Entry("bearer token", &rest.Config{Host: "https://127.0.0.1:41235", BearerToken: "t0ken",
			TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca")}}),
	)

	DescribeTable("refuses configs it cannot render",
		func(contextName string, cfg *rest.Config, wantErr string) {
			_, err := renderKubeconfig(contextName, cfg)
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
		},
		Entry("no context name", "", &rest.Config{Host: "https://x", BearerToken: "t"}, "empty context name"),
		Entry("nil config", "c", nil, "no API server address"),
		Entry("no host", "c", &rest.Config{BearerToken: "t"}, "no API server address"),
		Entry("credentials in files only", "c", &rest.Config{Host: "https://x",
			TLSClientConfig: rest.TLSClientConfig{CertFile: "/cert", KeyFile: "/key"}}, "no inline client certificate"),
	)

	It("writes a file only its owner can read", func() {
		path := filepath.Join(GinkgoT().TempDir(), "admin.kubeconfig")
		Expect(writeKubeconfig(path, "c", &rest.Config{Host: "https://x", BearerToken: "t"})).To(Succeed())
		info, err := os.Stat(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
	})
})
