package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// handshakeResult is what a client and a server saw of one TLS connection.
type handshakeResult struct {
	version   uint16
	clientErr error
	serverErr error
}

// handshake serves one connection with serverConfig on 127.0.0.1, connects with clientConfig, and
// reports what both sides saw. A successful server writes one byte, which the client reads, so that
// failures the server notices after the client's half of the handshake (client certificates in TLS
// 1.3) reach the client too.
func handshake(t *testing.T, serverConfig, clientConfig *tls.Config) handshakeResult {
	t.Helper()
	listener, err := tls.Listen("tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer listener.Close()

	serverErr := make(chan error, 1)
	go func() {
		conn, err := listener.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := conn.(*tls.Conn).Handshake(); err != nil {
			serverErr <- err
			return
		}
		_, err = conn.Write([]byte{1})
		serverErr <- err
	}()

	var result handshakeResult
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: clientConfig}
	conn, err := dialer.Dial("tcp", listener.Addr().String())
	if err == nil {
		tlsConn := conn.(*tls.Conn)
		_ = tlsConn.SetDeadline(time.Now().Add(10 * time.Second))
		result.version = tlsConn.ConnectionState().Version
		_, err = io.ReadFull(tlsConn, make([]byte, 1))
		conn.Close()
	}
	result.clientErr = err
	result.serverErr = <-serverErr
	return result
}

// testPKI is a CA with a serving certificate for localhost and 127.0.0.1, and an unrelated second CA.
type testPKI struct {
	ca, otherCA        *CA
	servingCert        []byte
	servingKey         []byte
	otherCAServingCert []byte
	otherCAServingKey  []byte
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	var pki testPKI
	var err error
	if pki.ca, err = NewCA("aurora test CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	if pki.otherCA, err = NewCA("other CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	if pki.servingCert, pki.servingKey, err = pki.ca.IssueServing([]string{"localhost", "127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if pki.otherCAServingCert, pki.otherCAServingKey, err = pki.otherCA.IssueServing([]string{"localhost", "127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	return pki
}

// must returns a function that returns a configuration and fails t on an error; call it as
// must(t)(ServerConfig(...)).
func must(t *testing.T) func(*tls.Config, error) *tls.Config {
	return func(config *tls.Config, err error) *tls.Config {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return config
	}
}

func TestServerAndClientConfig(t *testing.T) {
	pki := newTestPKI(t)
	server := func(t *testing.T) *tls.Config {
		return must(t)(ServerConfig(pki.servingCert, pki.servingKey))
	}
	client := func(t *testing.T, caPEM []byte, adjust func(*tls.Config)) *tls.Config {
		config := must(t)(ClientConfig(caPEM))
		if adjust != nil {
			adjust(config)
		}
		return config
	}

	tests := []struct {
		name         string
		serverConfig func(t *testing.T) *tls.Config
		clientConfig func(t *testing.T) *tls.Config
		wantVersion  uint16 // 0: the handshake must fail
		wantErr      string // in the client's or the server's error
	}{
		{
			name:         "TLS 1.2 client",
			serverConfig: server,
			clientConfig: func(t *testing.T) *tls.Config {
				return client(t, pki.ca.CertPEM, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 })
			},
			wantVersion: tls.VersionTLS12,
		},
		{
			name:         "TLS 1.3 client",
			serverConfig: server,
			clientConfig: func(t *testing.T) *tls.Config { return client(t, pki.ca.CertPEM, nil) },
			wantVersion:  tls.VersionTLS13,
		},
		{
			name:         "by DNS name localhost",
			serverConfig: server,
			clientConfig: func(t *testing.T) *tls.Config {
				return client(t, pki.ca.CertPEM, func(c *tls.Config) { c.ServerName = "localhost" })
			},
			wantVersion: tls.VersionTLS13,
		},
		{
			name:         "TLS 1.1 client is refused",
			serverConfig: server,
			clientConfig: func(t *testing.T) *tls.Config {
				return client(t, pki.ca.CertPEM, func(c *tls.Config) {
					c.MinVersion = tls.VersionTLS10
					c.MaxVersion = tls.VersionTLS11
				})
			},
			wantErr: "protocol version",
		},
		{
			name:         "TLS 1.2 client offering only CBC cipher suites is refused",
			serverConfig: server,
			clientConfig: func(t *testing.T) *tls.Config {
				return client(t, pki.ca.CertPEM, func(c *tls.Config) {
					c.MaxVersion = tls.VersionTLS12
					c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
				})
			},
			wantErr: "cipher suite",
		},
		{
			name:         "client that does not trust the CA refuses",
			serverConfig: server,
			clientConfig: func(t *testing.T) *tls.Config { return client(t, pki.otherCA.CertPEM, nil) },
			wantErr:      "certificate signed by unknown authority",
		},
		{
			name: "certificate from another CA is refused",
			serverConfig: func(t *testing.T) *tls.Config {
				return must(t)(ServerConfig(pki.otherCAServingCert, pki.otherCAServingKey))
			},
			clientConfig: func(t *testing.T) *tls.Config { return client(t, pki.ca.CertPEM, nil) },
			wantErr:      "certificate signed by unknown authority",
		},
		{
			name:         "name not in the certificate is refused",
			serverConfig: server,
			clientConfig: func(t *testing.T) *tls.Config {
				return client(t, pki.ca.CertPEM, func(c *tls.Config) { c.ServerName = "aurora.example.com" })
			},
			wantErr: "not aurora.example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkHandshake(t, handshake(t, tt.serverConfig(t), tt.clientConfig(t)), tt.wantVersion, tt.wantErr)
		})
	}
}

func TestMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	clientCert, clientKey, err := pki.ca.IssueClient("agent-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherClientCert, otherClientKey, err := pki.otherCA.IssueClient("agent-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A Go client sends a certificate only when it chains to a CA the server names; alwaysSend makes
	// it send its certificate anyway, so that the server's own verification is what refuses it.
	tests := []struct {
		name        string
		maxVersion  uint16
		clientCert  []byte
		clientKey   []byte
		alwaysSend  bool
		wantVersion uint16
		wantErr     string
	}{
		{"client certificate from the CA, TLS 1.3", 0, clientCert, clientKey, false, tls.VersionTLS13, ""},
		{"client certificate from the CA, TLS 1.2", tls.VersionTLS12, clientCert, clientKey, false, tls.VersionTLS12, ""},
		{"no client certificate", 0, nil, nil, false, 0, "didn't provide a certificate"},
		{"client certificate from another CA, not sent", 0, otherClientCert, otherClientKey, false, 0, "didn't provide a certificate"},
		{"client certificate from another CA, sent", 0, otherClientCert, otherClientKey, true, 0, "unknown authority"},
		{"serving certificate used as a client certificate", 0, pki.servingCert, pki.servingKey, true, 0, "incompatible key usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverConfig := must(t)(ServerConfigRequiringClientCert(pki.servingCert, pki.servingKey, pki.ca.CertPEM))
			var clientConfig *tls.Config
			if tt.clientCert == nil {
				clientConfig = must(t)(ClientConfig(pki.ca.CertPEM))
			} else {
				clientConfig = must(t)(ClientConfigWithCert(pki.ca.CertPEM, tt.clientCert, tt.clientKey))
			}
			clientConfig.MaxVersion = tt.maxVersion
			if tt.alwaysSend {
				clientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					return &clientConfig.Certificates[0], nil
				}
			}
			checkHandshake(t, handshake(t, serverConfig, clientConfig), tt.wantVersion, tt.wantErr)
		})
	}
}

func checkHandshake(t *testing.T, got handshakeResult, wantVersion uint16, wantErr string) {
	t.Helper()
	if wantVersion != 0 {
		if got.clientErr != nil || got.serverErr != nil {
			t.Fatalf("handshake failed: client: %v; server: %v", got.clientErr, got.serverErr)
		}
		if got.version != wantVersion {
			t.Errorf("negotiated %s, want %s", tls.VersionName(got.version), tls.VersionName(wantVersion))
		}
		return
	}
	if got.clientErr == nil || got.serverErr == nil {
		t.Fatalf("handshake succeeded on one side at least: client: %v; server: %v", got.clientErr, got.serverErr)
	}
	if !strings.Contains(got.clientErr.Error(), wantErr) && !strings.Contains(got.serverErr.Error(), wantErr) {
		t.Errorf("neither side's error mentions %q: client: %v; server: %v", wantErr, got.clientErr, got.serverErr)
	}
}

func TestConfigSettings(t *testing.T) {
	pki := newTestPKI(t)
	server := must(t)(ServerConfig(pki.servingCert, pki.servingKey))
	client := must(t)(ClientConfig(pki.ca.CertPEM))
	for name, config := range map[string]*tls.Config{"server": server, "client": client} {
		if config.MinVersion != tls.VersionTLS12 {
			t.Errorf("%s MinVersion = %s, want TLS 1.2", name, tls.VersionName(config.MinVersion))
		}
		for _, suite := range config.CipherSuites {
			name := tls.CipherSuiteName(suite)
			if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
				t.Errorf("cipher suite %s is not ECDHE with an AEAD cipher", name)
			}
			if slices.ContainsFunc(tls.InsecureCipherSuites(), func(s *tls.CipherSuite) bool { return s.ID == suite }) {
				t.Errorf("cipher suite %s is insecure", name)
			}
		}
	}
	if client.RootCAs == nil || !client.RootCAs.Equal(poolOf(pki.ca.Cert)) {
		t.Error("the client trusts more or other than the CA")
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, cert := range certs {
		pool.AddCert(cert)
	}
	return pool
}

func TestConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	tests := []struct {
		name    string
		build   func() error
		wantErr string
	}{
		{"server: key of another certificate", func() error {
			_, err := ServerConfig(pki.servingCert, pki.otherCAServingKey)
			return err
		}, "load key pair"},
		{"server: no PEM", func() error {
			_, err := ServerConfig([]byte("nonsense"), []byte("nonsense"))
			return err
		}, "load key pair"},
		{"client: empty CA bundle", func() error {
			_, err := ClientConfig(nil)
			return err
		}, "no PEM CERTIFICATE"},
		{"mutual server: empty client CA bundle", func() error {
			_, err := ServerConfigRequiringClientCert(pki.servingCert, pki.servingKey, []byte("x"))
			return err
		}, "client CAs"},
		{"client with certificate: key of another certificate", func() error {
			_, err := ClientConfigWithCert(pki.ca.CertPEM, pki.servingCert, pki.otherCAServingKey)
			return err
		}, "client key pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.build()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error quotes key material: %v", err)
			}
		})
	}
}

func TestAtLeastTLS12(t *testing.T) {
	if got := AtLeastTLS12(nil).MinVersion; got != tls.VersionTLS12 {
		t.Errorf("nil: MinVersion %x", got)
	}
	old := &tls.Config{MinVersion: tls.VersionTLS10, ServerName: "hub"}
	got := AtLeastTLS12(old)
	if got.MinVersion != tls.VersionTLS12 || got.ServerName != "hub" || old.MinVersion != tls.VersionTLS10 {
		t.Errorf("raised %x, kept %q, input changed to %x", got.MinVersion, got.ServerName, old.MinVersion)
	}
	if got := AtLeastTLS12(&tls.Config{MinVersion: tls.VersionTLS13}).MinVersion; got != tls.VersionTLS13 {
		t.Errorf("a TLS 1.3 minimum was lowered to %x", got)
	}
}
