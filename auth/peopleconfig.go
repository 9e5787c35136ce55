package auth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// oidcClientFile is one entry of the --oidc-clients-file of `aurora auth`.
type oidcClientFile struct {
	ClientID         string   `json:"clientId"`
	ClientSecretFile string   `json:"clientSecretFile"`
	RedirectURIs     []string `json:"redirectURIs"`
}

// upstreamFile is one entry of the --upstream-idps-file of `aurora auth`.
type upstreamFile struct {
	Organization     string   `json:"organization"`
	DisplayName      string   `json:"displayName,omitempty"`
	Issuer           string   `json:"issuer"`
	ClientID         string   `json:"clientId"`
	ClientSecretFile string   `json:"clientSecretFile"`
	RolesClaim       string   `json:"rolesClaim,omitempty"`
	Scopes           []string `json:"scopes,omitempty"`
}

// LoadOIDCClients reads a YAML (or JSON) list of confidential OIDC clients, such as
//
//	[{clientId: other-aurora, clientSecretFile: other-aurora.secret,
//	  redirectURIs: ["https://auth.other.example/oauth/upstream/callback"]}]
//
// with secret files relative to the list's file.
func LoadOIDCClients(path string) ([]OIDCClient, error) {
	var entries []oidcClientFile
	if err := readStrictYAML(path, &entries); err != nil {
		return nil, err
	}
	out := make([]OIDCClient, 0, len(entries))
	for i, e := range entries {
		secret, err := readSecretFile(path, e.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("%s: [%d].clientSecretFile: %w", path, i, err)
		}
		out = append(out, OIDCClient{ID: e.ClientID, Secret: secret, RedirectURIs: e.RedirectURIs})
	}
	return out, nil
}

// LoadUpstreams reads a YAML (or JSON) list of upstream identity providers, one per organization,
// such as
//
//	[{organization: acme, displayName: ACME SSO, issuer: "https://sso.acme.example",
//	  clientId: aurora, clientSecretFile: acme.secret, rolesClaim: groups}]
//
// with secret files relative to the list's file. The roles claim carries organization-admin and
// <environment>:<role> values.
func LoadUpstreams(path string) ([]UpstreamIdP, error) {
	var entries []upstreamFile
	if err := readStrictYAML(path, &entries); err != nil {
		return nil, err
	}
	out := make([]UpstreamIdP, 0, len(entries))
	for i, e := range entries {
		secret, err := readSecretFile(path, e.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("%s: [%d].clientSecretFile: %w", path, i, err)
		}
		out = append(out, UpstreamIdP{Organization: e.Organization, DisplayName: e.DisplayName, Issuer: e.Issuer,
			ClientID: e.ClientID, ClientSecret: secret, RolesClaim: e.RolesClaim, Scopes: e.Scopes})
	}
	return out, nil
}

func readStrictYAML(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readSecretFile reads a secret from name, relative to the directory of the file naming it, without
// the trailing newline.
func readSecretFile(configPath, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("required")
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(configPath), name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	secret := strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	return secret, nil
}
