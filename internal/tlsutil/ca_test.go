package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewCA(t *testing.T) {
	before := time.Now()
	ca, err := NewCA("aurora dev CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := ca.Cert
	if !cert.IsCA || !cert.BasicConstraintsValid || !cert.MaxPathLenZero || cert.MaxPathLen != 0 {
		t.Errorf("not a leaf-signing-only CA: IsCA=%v MaxPathLen=%d MaxPathLenZero=%v", cert.IsCA, cert.MaxPathLen, cert.MaxPathLenZero)
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("the CA may not sign certificates")
	}
	if cert.Subject.CommonName != "aurora dev CA" {
		t.Errorf("common name = %q", cert.Subject.CommonName)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key is %T, want ECDSA P-256", cert.PublicKey)
	}
	if cert.NotBefore.After(before) || cert.NotAfter.Before(before.Add(24*time.Hour-time.Second)) {
		t.Errorf("validity %s – %s does not cover now + 24h", cert.NotBefore, cert.NotAfter)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if block, _ := pem.Decode(ca.KeyPEM); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("KeyPEM is not a PKCS #8 PEM block")
	}
}

func TestNewCAErrors(t *testing.T) {
	tests := []struct {
		name       string
		commonName string
		validity   time.Duration
		wantErr    string
	}{
		{"no common name", "", time.Hour, "common name is empty"},
		{"zero validity", "ca", 0, "not positive"},
		{"negative validity", "ca", -time.Hour, "not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCA(tt.commonName, tt.validity); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadCA(t *testing.T) {
	ca, err := NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafCert, leafKey, err := ca.IssueServing([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		certPEM []byte
		keyPEM  []byte
		wantErr string // "" for success
	}{
		{"its own certificate and key", ca.CertPEM, ca.KeyPEM, ""},
		{"key of another CA", ca.CertPEM, other.KeyPEM, "does not belong"},
		{"leaf certificate", leafCert, leafKey, "not a CA certificate"},
		{"no certificate", nil, ca.KeyPEM, "no PEM CERTIFICATE"},
		{"no key", ca.CertPEM, ca.CertPEM, "no PEM private key"},
		{"garbage key block", ca.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage")}), "parse PRIVATE KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loaded, err := LoadCA(tt.certPEM, tt.keyPEM)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !loaded.Cert.Equal(ca.Cert) {
					t.Error("loaded another certificate")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssueServing(t *testing.T) {
	ca, err := NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		hosts    []string
		validity time.Duration
		wantDNS  []string
		wantIPs  []string
		wantErr  string
	}{
		{"localhost and loopback", []string{"localhost", "127.0.0.1"}, time.Hour, []string{"localhost"}, []string{"127.0.0.1"}, ""},
		{"IPv6 and wildcard", []string{"*.aurora.test", "::1", " hub.aurora.test "}, time.Hour, []string{"*.aurora.test", "hub.aurora.test"}, []string{"::1"}, ""},
		{"no hosts", nil, time.Hour, nil, nil, "no hosts"},
		{"empty host", []string{"localhost", " "}, time.Hour, nil, nil, "a host is empty"},
		{"zero validity", []string{"localhost"}, 0, nil, nil, "not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, err := ca.IssueServing(tt.hosts, tt.validity)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cert := verifyLeaf(t, ca, certPEM, keyPEM, x509.ExtKeyUsageServerAuth)
			if !slices.Equal(cert.DNSNames, tt.wantDNS) {
				t.Errorf("DNS SANs = %q, want %q", cert.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IP SANs = %q, want %q", ips, tt.wantIPs)
			}
			for _, host := range tt.hosts {
				if err := cert.VerifyHostname(strings.TrimSpace(strings.Replace(host, "*", "x", 1))); err != nil {
					t.Errorf("not valid for %s: %v", host, err)
				}
			}
		})
	}
}

func TestIssueClient(t *testing.T) {
	ca, err := NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueClient("agent-7", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := verifyLeaf(t, ca, certPEM, keyPEM, x509.ExtKeyUsageClientAuth)
	if cert.Subject.CommonName != "agent-7" {
		t.Errorf("common name = %q", cert.Subject.CommonName)
	}
	if _, _, err := ca.IssueClient("", time.Hour); err == nil {
		t.Error("issued a client certificate without a common name")
	}
}

func TestIssuedValidityEndsWithTheCA(t *testing.T) {
	ca, err := NewCA("short-lived CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.IssueServing([]string{"localhost"}, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %s, want the CA's %s", cert.NotAfter, ca.Cert.NotAfter)
	}
}

// verifyLeaf checks that certPEM is a leaf certificate chaining to ca for usage and that keyPEM is its
// ECDSA P-256 key, and returns the certificate.
func verifyLeaf(t *testing.T, ca *CA, certPEM, keyPEM []byte, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	cert, err := parseCertificatePEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: poolOf(ca.Cert), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Errorf("does not chain to the CA for %v: %v", usage, err)
	}
	if cert.IsCA {
		t.Error("a leaf certificate is a CA")
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		t.Error("the key does not belong to the certificate")
	}
	if pub, ok := key.Public().(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key is %T, want ECDSA P-256", key)
	}
	return cert
}
