package devenv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// endpoints is endpoints.json in the state directory.
type endpoints struct {
	// Auth is the auth service (OIDC issuer); API the REST API; Console the Console (<api>/console/).
	Auth            string            `json:"auth"`
	API             string            `json:"api"`
	Console         string            `json:"console"`
	Issuer          string            `json:"issuer"`
	TokenURL        string            `json:"tokenURL"`
	Hub             string            `json:"hub"`
	TenantNamespace string            `json:"tenantNamespace"`
	Kubeconfigs     map[string]string `json:"kubeconfigs"`
}

// writeState writes what a client needs into dir: endpoints.json, ca.crt, kubeconfig-cloud and
// kubeconfig-<target>, credentials.json (the deployer's client id and secret and the demo user's
// login, mode 0600), a CLI config, and last an empty ready file.
func (e *Env) writeState(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory %s: %w", dir, err)
	}
	_ = os.Remove(filepath.Join(dir, "ready"))
	ep := endpoints{Auth: e.Issuer, API: e.APIURL, Console: e.APIURL + "/console/", Issuer: e.Issuer, TokenURL: e.Issuer + "/oauth/token", Hub: e.HubAddress, TenantNamespace: e.TenantNamespace,
		Kubeconfigs: map[string]string{}}
	kubeconfigs := map[string]string{"cloud": e.Cloud.KubeconfigPath}
	for id, c := range e.Targets {
		kubeconfigs[id] = c.KubeconfigPath
	}
	for name, src := range kubeconfigs {
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("reading the kubeconfig of %s: %w", name, err)
		}
		dst := filepath.Join(dir, "kubeconfig-"+name)
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", dst, err)
		}
		ep.Kubeconfigs[name] = dst
	}
	creds := struct {
		Tenant       string   `json:"tenant"`
		ClientID     string   `json:"clientId"`
		ClientSecret string   `json:"clientSecret"`
		Scopes       []string `json:"scopes"`
		User         string   `json:"user"`
		Password     string   `json:"password"`
	}{e.TenantNamespace, e.Deployer.ClientID, e.Deployer.ClientSecret, []string{"api:deployment:full", "read:infrastructure:data"},
		e.DemoUser.Username, e.DemoUser.Password}
	files := map[string]any{"endpoints.json": ep, "credentials.json": creds,
		"config": map[string]string{"apiURL": e.APIURL, "authURL": e.Issuer, "issuer": e.Issuer, "tokenURL": ep.TokenURL, "caFile": filepath.Join(dir, "ca.crt"),
			"clientId": e.Deployer.ClientID, "namespace": e.TenantNamespace}}
	for name, v := range files {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), append(data, '\n'), 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), e.CA.CertPEM, 0o644); err != nil {
		return fmt.Errorf("writing ca.crt: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
}
