package security_test

import (
	"crypto/tls"
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aurora-cd/aurora/auth"
	"github.com/aurora-cd/aurora/hub"
)

var _ = Describe("TLS on every listener", func() {
	listeners := func() map[string]string {
		return map[string]string{"auth service": authAddr, "Agent Hub": hubAddr, "REST API": apiAddr}
	}

	It("refuses a client that offers only TLS 1.0 or 1.1, and serves one that offers 1.2", func() {
		for name, addr := range listeners() {
			dialer := &net.Dialer{Timeout: 5 * time.Second}
			conn, err := tls.DialWithDialer(dialer, "tcp", addr, tls11())
			if err == nil {
				_ = conn.Close()
			}
			Expect(isVersionRefusal(err)).To(BeTrue(), "%s at %s: a TLS 1.1 handshake gave %v", name, addr, err)

			tls12 := clientTLS.Clone()
			tls12.MaxVersion = tls.VersionTLS12
			conn, err = tls.DialWithDialer(dialer, "tcp", addr, tls12)
			Expect(err).NotTo(HaveOccurred(), "%s at %s: TLS 1.2", name, addr)
			Expect(conn.ConnectionState().Version).To(BeNumerically("==", tls.VersionTLS12))
			_ = conn.Close()
		}
	})

	It("will not start a listener configured below TLS 1.2", func(ctx SpecContext) {
		weak := serverTLS.Clone()
		weak.MinVersion = tls.VersionTLS10
		_, err := hub.New(hub.Options{Cloud: cloud.Config, Verifier: verifier, TLS: weak, Registerer: prometheus.NewRegistry()})
		Expect(err).To(MatchError(ContainSubstring("TLS 1.2")), "the Hub")
		_, err = auth.NewServer(ctx, auth.ServerConfig{Kubernetes: cloud.Config, Issuer: issuer, KeysNamespace: keysNamespace,
			KeysSecret: keysSecret, MasterKey: masterKey, TLS: weak})
		Expect(err).To(MatchError(ContainSubstring("TLS 1.2")), "the auth service")
	})
})
