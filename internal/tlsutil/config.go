package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// MinVersion is the oldest TLS version the configurations of this package accept.
const MinVersion = tls.VersionTLS12

// modernCipherSuites are the TLS 1.2 cipher suites the configurations allow: ECDHE key exchange (forward
// secrecy) with AEAD ciphers only. TLS 1.3 suites are not configurable in Go and are all modern.
var modernCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ModernCipherSuites returns the TLS 1.2 cipher suites ServerConfig and ClientConfig allow: ECDHE with
// AES-GCM or ChaCha20-Poly1305.
func ModernCipherSuites() []uint16 {
	return append([]uint16(nil), modernCipherSuites...)
}

// ServerConfig returns a server configuration that presents the given certificate (with any
// intermediates after it in certPEM) and accepts TLS 1.2 with modern cipher suites, or TLS 1.3.
func ServerConfig(certPEM, keyPEM []byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("server TLS config: load key pair: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   MinVersion,
		CipherSuites: ModernCipherSuites(),
	}, nil
}

// ServerConfigRequiringClientCert is ServerConfig that also requires every client to present a
// certificate signed by a CA in clientCAPEM (mutual TLS), such as one from CA.IssueClient.
func ServerConfigRequiringClientCert(certPEM, keyPEM, clientCAPEM []byte) (*tls.Config, error) {
	config, err := ServerConfig(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	pool, err := certPoolFromPEM(clientCAPEM)
	if err != nil {
		return nil, fmt.Errorf("server TLS config: client CAs: %w", err)
	}
	config.ClientCAs = pool
	config.ClientAuth = tls.RequireAndVerifyClientCert
	return config, nil
}

// ClientConfig returns a client configuration that trusts only the CA certificates in caPEM (not the
// system roots) and speaks TLS 1.2 with modern cipher suites, or TLS 1.3. Set ServerName on the
// result when dialing an address that is not among the server certificate's names.
func ClientConfig(caPEM []byte) (*tls.Config, error) {
	pool, err := certPoolFromPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("client TLS config: %w", err)
	}
	return &tls.Config{
		RootCAs:      pool,
		MinVersion:   MinVersion,
		CipherSuites: ModernCipherSuites(),
	}, nil
}

// ClientConfigWithCert is ClientConfig that also presents a client certificate (from CA.IssueClient)
// to servers that ask for one.
func ClientConfigWithCert(caPEM, certPEM, keyPEM []byte) (*tls.Config, error) {
	config, err := ClientConfig(caPEM)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("client TLS config: load client key pair: %w", err)
	}
	config.Certificates = []tls.Certificate{cert}
	return config, nil
}

// certPoolFromPEM returns a pool of the certificates in caPEM; at least one is required.
func certPoolFromPEM(caPEM []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no PEM CERTIFICATE found in the CA bundle")
	}
	return pool, nil
}

// AtLeastTLS12 returns a copy of c (an empty configuration when nil) whose MinVersion is TLS 1.2 or
// newer, for clients given a configuration from outside.
func AtLeastTLS12(c *tls.Config) *tls.Config {
	out := &tls.Config{}
	if c != nil {
		out = c.Clone()
	}
	if out.MinVersion < MinVersion {
		out.MinVersion = MinVersion
	}
	return out
}
