package testcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// Layout of a persistent data directory (Options.DataDir).
const (
	persistentEtcdDir      = "etcd"           // etcd's --data-dir
	persistentAPIServerDir = "kube-apiserver" // the API server's --cert-dir
)

// Files envtest's API server reads from its --cert-dir: the serving key pair and the service-account
// signing key pair (the certificate carries the public key that verifies service-account tokens).
const (
	servingKeyPairName        = "apiserver"
	serviceAccountKeyPairName = "sa-signer"
)

// Validity of the certificates of a persistent data directory. The serving certificate is issued
// anew at every start; the service-account signer's certificate only carries its public key, and
// the API server does not check its dates.
const (
	servingCertValidity        = 365 * 24 * time.Hour
	serviceAccountCertValidity = 10 * 365 * 24 * time.Hour
)

// preparePersistentCertDir readies an API server certificate directory that outlives the cluster: it
// keeps the service-account signing key (creating it on first use), so that tokens and objects signed
// by an earlier run stay valid, and issues a fresh serving certificate for 127.0.0.1 and localhost
// from a fresh CA, whose certificate it returns for clients to trust.
func preparePersistentCertDir(certDir string) (servingCA []byte, err error) {
	_, statErr := os.Stat(filepath.Join(certDir, serviceAccountKeyPairName+".key"))
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		signer, err := tlsutil.NewCA("testcluster service-account signer", serviceAccountCertValidity)
		if err != nil {
			return nil, fmt.Errorf("create the service-account signing key: %w", err)
		}
		if err := tlsutil.WriteKeyPair(certDir, serviceAccountKeyPairName, signer.CertPEM, signer.KeyPEM); err != nil {
			return nil, fmt.Errorf("write the service-account signing key: %w", err)
		}
	case statErr != nil:
		return nil, fmt.Errorf("check the service-account signing key: %w", statErr)
	default:
		certPEM, keyPEM, err := tlsutil.ReadKeyPair(certDir, serviceAccountKeyPairName)
		if err != nil {
			return nil, fmt.Errorf("read the service-account signing key in %s: %w", certDir, err)
		}
		if _, err := tlsutil.LoadCA(certPEM, keyPEM); err != nil {
			return nil, fmt.Errorf("the service-account signing key in %s is unusable: %w", certDir, err)
		}
	}
	ca, err := tlsutil.NewCA("testcluster serving CA", servingCertValidity)
	if err != nil {
		return nil, fmt.Errorf("create the API server's serving CA: %w", err)
	}
	certPEM, keyPEM, err := ca.IssueServing([]string{"127.0.0.1", "localhost"}, servingCertValidity)
	if err != nil {
		return nil, fmt.Errorf("issue the API server's serving certificate: %w", err)
	}
	if err := tlsutil.WriteKeyPair(certDir, servingKeyPairName, certPEM, keyPEM); err != nil {
		return nil, fmt.Errorf("write the API server's serving certificate: %w", err)
	}
	return ca.CertPEM, nil
}
