package cli

import (
	"crypto/tls"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// servingTLS is the TLS configuration of a component's listener (TLS 1.2 or newer, modern cipher
// suites) with its certificate read from certFile and keyFile, and the watcher that reloads them
// when they change (start it with the component).
func servingTLS(certFile, keyFile string, nextProtos ...string) (*tls.Config, *certwatcher.CertWatcher, error) {
	certs, err := certwatcher.New(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert-file/--tls-key-file: %w", err)
	}
	return &tls.Config{MinVersion: tlsutil.MinVersion, CipherSuites: tlsutil.ModernCipherSuites(), GetCertificate: certs.GetCertificate,
		NextProtos: nextProtos}, certs, nil
}
