package tlsutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCAFilesRoundTrip(t *testing.T) {
	ca, err := NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pki")
	if err := ca.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for name, wantMode := range map[string]os.FileMode{CACertFile: 0o644, CAKeyFile: 0o600} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != wantMode {
			t.Errorf("%s has mode %v, want %v", name, info.Mode().Perm(), wantMode)
		}
	}
	loaded, err := ReadCAFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !publicKeysEqual(loaded.Key.Public(), ca.Key.Public()) {
		t.Error("read back another CA")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want ca.crt and ca.key only", len(entries))
	}
}

func TestKeyPairFiles(t *testing.T) {
	ca, err := NewCA("ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServing([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    string
		wantErr bool
	}{
		{"plain name", "serving", false},
		{"empty name", "", true},
		{"path", "../serving", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteKeyPair(dir, tt.file, certPEM, keyPEM)
			if tt.wantErr {
				if err == nil {
					t.Fatal("wrote a key pair under a name that is no plain file name")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotCert, gotKey, err := ReadKeyPair(dir, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if string(gotCert) != string(certPEM) || string(gotKey) != string(keyPEM) {
				t.Error("read back other contents")
			}
		})
	}
	if _, err := ReadCAFiles(filepath.Join(dir, "missing")); err == nil {
		t.Error("read a CA from a missing directory")
	}
}
