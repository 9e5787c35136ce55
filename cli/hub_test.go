package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aurora-cd/aurora/hub"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

func TestHubCoordinationOptions(t *testing.T) {
	dir := t.TempDir()
	ca, err := tlsutil.NewCA("hub peers", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueClient(hub.DefaultPeerIdentity, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cert, key, caFile := write("tls.crt", certPEM), write("tls.key", keyPEM), write("ca.crt", ca.CertPEM)
	previewKey := write("preview-key", []byte(strings.Repeat("k", 48)))

	tests := []struct {
		name       string
		opts       hubOptions
		serverName string
		wantErr    string
	}{
		{name: "peers check serving certificates against the name given", serverName: "aurora-hub.aurora-system.svc",
			opts: hubOptions{peerCertFile: cert, peerKeyFile: key, peerCAFile: caFile, peerServerName: "aurora-hub.aurora-system.svc", previewKeyFile: previewKey}},
		{name: "without a name, against the advertised host", opts: hubOptions{peerCertFile: cert, peerKeyFile: key, peerCAFile: caFile}},
		{name: "the peer files go together", opts: hubOptions{peerCertFile: cert}, wantErr: "--peer-cert-file, --peer-key-file and --peer-ca-file go together"},
		{name: "a missing preview key names its flag", opts: hubOptions{previewKeyFile: filepath.Join(dir, "nowhere")}, wantErr: "--preview-key-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o hub.Options
			err := hubCoordinationOptions(tt.opts, &o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.PeerTLS == nil || o.PeerClientCAs == nil || len(o.PeerTLS.Certificates) != 1 {
				t.Fatalf("peer TLS not set up: %+v", o.PeerTLS)
			}
			if o.PeerTLS.ServerName != tt.serverName {
				t.Errorf("ServerName = %q, want %q", o.PeerTLS.ServerName, tt.serverName)
			}
			if tt.opts.previewKeyFile != "" && len(o.PreviewKey) != 48 {
				t.Errorf("preview key of %d bytes", len(o.PreviewKey))
			}
		})
	}
}
