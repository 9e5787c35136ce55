package devenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/aurora-cd/aurora/internal/testcluster"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// TestWriteStateCLIConfig checks that the state directory's config is the aurora CLI's configuration
// file (docs/api.md): the API and the issuer, the CA, and the tenant admin's credential.
func TestWriteStateCLIConfig(t *testing.T) {
	g := NewWithT(t)
	tmp := t.TempDir()
	kubeconfig := filepath.Join(tmp, "kubeconfig")
	g.Expect(os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600)).To(Succeed())
	ca, err := tlsutil.NewCA("test", time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	e := &Env{Cloud: &testcluster.Cluster{KubeconfigPath: kubeconfig}, Targets: map[string]*testcluster.Cluster{}, CA: ca,
		Issuer: "https://127.0.0.1:8443", APIURL: "https://127.0.0.1:8444", HubAddress: "127.0.0.1:9443", TenantNamespace: "aurora-demo-dev",
		Deployer: Credential{ClientID: "deployer-id", ClientSecret: "deployer-secret"}, Admin: Credential{ClientID: "admin-id", ClientSecret: "admin-secret"}}
	dir := filepath.Join(tmp, "state")
	g.Expect(e.writeState(dir)).To(Succeed())

	data, err := os.ReadFile(filepath.Join(dir, "config"))
	g.Expect(err).NotTo(HaveOccurred())
	cfg := map[string]string{}
	g.Expect(json.Unmarshal(data, &cfg)).To(Succeed())
	g.Expect(cfg).To(Equal(map[string]string{"apiURL": "https://127.0.0.1:8444", "authURL": "https://127.0.0.1:8443", "caFile": filepath.Join(dir, "ca.crt"),
		"clientId": "admin-id", "clientSecret": "admin-secret", "output": "text"}))
	st, err := os.Stat(filepath.Join(dir, "config"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st.Mode().Perm()).To(Equal(os.FileMode(0o600)))
	g.Expect(filepath.Join(dir, "ready")).To(BeAnExistingFile())
}
