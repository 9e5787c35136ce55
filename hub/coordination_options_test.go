package hub

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestCoordinationOptions(t *testing.T) {
	key := []byte(strings.Repeat("k", MinPreviewKeyBytes))
	peer := &tls.Config{MinVersion: tls.VersionTLS12}
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		check   func(Options) bool
	}{
		{name: "defaults", opts: Options{}, check: func(o Options) bool {
			return o.LeaseDuration == DefaultLeaseDuration && o.PeerIdentity == DefaultPeerIdentity
		}},
		{name: "lease too short", opts: Options{LeaseDuration: time.Second}, wantErr: "LeaseDuration must be at least 3s"},
		{name: "advertised without a peer identity", opts: Options{AdvertiseAddress: "10.0.0.1:8444"}, wantErr: "AdvertiseAddress needs PeerTLS"},
		{name: "peer TLS below 1.2", opts: Options{PeerTLS: &tls.Config{MinVersion: tls.VersionTLS10}}, wantErr: "PeerTLS must have MinVersion TLS 1.2"},
		{name: "advertised with a peer identity", opts: Options{AdvertiseAddress: "10.0.0.1:8444", PeerTLS: peer, PeerClientCAs: x509.NewCertPool()}},
		{name: "short preview key", opts: Options{PreviewKey: []byte("short"), PreviewBaseURL: "https://p.example"}, wantErr: "PreviewKey must be at least 32 bytes"},
		{name: "preview URL not https", opts: Options{PreviewKey: key, PreviewBaseURL: "http://p.example"}, wantErr: "PreviewBaseURL must be an https URL"},
		{name: "preview URL missing", opts: Options{PreviewKey: key}, wantErr: "PreviewBaseURL must be an https URL"},
		{name: "preview URL trailing slash", opts: Options{PreviewKey: key, PreviewBaseURL: "https://p.example/aurora/"}, check: func(o Options) bool {
			return o.PreviewBaseURL == "https://p.example/aurora"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			err := opts.coordinationDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil && !tt.check(opts) {
				t.Fatalf("options after defaults: %+v", opts)
			}
		})
	}
}
