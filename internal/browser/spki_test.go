package browser

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/aurora-cd/aurora/internal/tlsutil"
)

func TestSPKIPin(t *testing.T) {
	ca, err := tlsutil.NewCA("pin test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.IssueServing([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	want := base64.StdEncoding.EncodeToString(sum[:])

	tests := []struct {
		name, pem, want, wantErr string
	}{
		{name: "a serving certificate", pem: string(certPEM), want: want},
		{name: "not PEM", pem: "hello", wantErr: "no PEM block found"},
		{name: "PEM that is no certificate", pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", wantErr: "pinning a certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SPKIPin([]byte(tt.pem))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SPKIPin error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("SPKIPin = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestExecPathFromEnvironment(t *testing.T) {
	t.Setenv(ExecPathEnv, "/opt/chromium/chrome")
	if got, err := ExecPath(); err != nil || got != "/opt/chromium/chrome" {
		t.Fatalf("ExecPath = %q, %v; want the value of %s", got, err, ExecPathEnv)
	}
}
