package tlsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Names of the files WriteFiles writes for a CA and ReadCAFiles reads.
const (
	// CACertFile is the CA certificate's file name.
	CACertFile = "ca.crt"
	// CAKeyFile is the CA private key's file name.
	CAKeyFile = "ca.key"
)

// File modes: certificates are public, private keys readable by their owner only.
const (
	certFileMode = 0o644
	keyFileMode  = 0o600
)

// WriteFiles writes the CA's certificate to dir/ca.crt (mode 0644) and its key to dir/ca.key
// (mode 0600), creating dir if needed.
func (ca *CA) WriteFiles(dir string) error {
	if err := WriteKeyPair(dir, "ca", ca.CertPEM, ca.KeyPEM); err != nil {
		return fmt.Errorf("write CA files: %w", err)
	}
	return nil
}

// ReadCAFiles loads the CA that WriteFiles wrote to dir.
func ReadCAFiles(dir string) (*CA, error) {
	certPEM, keyPEM, err := ReadKeyPair(dir, "ca")
	if err != nil {
		return nil, fmt.Errorf("read CA files: %w", err)
	}
	return LoadCA(certPEM, keyPEM)
}

// WriteKeyPair writes certPEM to dir/<name>.crt (mode 0644) and keyPEM to dir/<name>.key (mode 0600),
// creating dir (mode 0700) if needed. Each file is written to a temporary file first and renamed into
// place, so readers never see half a file.
func WriteKeyPair(dir, name string, certPEM, keyPEM []byte) error {
	if name == "" || filepath.Base(name) != name {
		return fmt.Errorf("write key pair: %q is not a plain file name", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write key pair %s: %w", name, err)
	}
	if err := writeFileAtomically(filepath.Join(dir, name+".key"), keyPEM, keyFileMode); err != nil {
		return fmt.Errorf("write key pair %s: %w", name, err)
	}
	if err := writeFileAtomically(filepath.Join(dir, name+".crt"), certPEM, certFileMode); err != nil {
		return fmt.Errorf("write key pair %s: %w", name, err)
	}
	return nil
}

// ReadKeyPair reads dir/<name>.crt and dir/<name>.key, as WriteKeyPair wrote them.
func ReadKeyPair(dir, name string) (certPEM, keyPEM []byte, err error) {
	if certPEM, err = os.ReadFile(filepath.Join(dir, name+".crt")); err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	if keyPEM, err = os.ReadFile(filepath.Join(dir, name+".key")); err != nil {
		return nil, nil, fmt.Errorf("read private key: %w", err)
	}
	return certPEM, keyPEM, nil
}

// writeFileAtomically writes data to a temporary file with mode perm next to path and renames it to
// path.
func writeFileAtomically(path string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	closed := false
	defer func() {
		if err == nil {
			return
		}
		if !closed {
			err = errors.Join(err, tmp.Close())
		}
		err = errors.Join(err, os.Remove(tmp.Name()))
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("set mode of %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp.Name(), path, err)
	}
	return nil
}
