package testcluster

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// renderKubeconfig renders a kubeconfig with one cluster, user and context, all named contextName,
// from a rest.Config that carries its credentials inline (client certificate or bearer token).
func renderKubeconfig(contextName string, cfg *rest.Config) ([]byte, error) {
	switch {
	case contextName == "":
		return nil, errors.New("render kubeconfig: empty context name")
	case cfg == nil || cfg.Host == "":
		return nil, fmt.Errorf("render kubeconfig %q: no API server address", contextName)
	case len(cfg.CertData) == 0 && cfg.BearerToken == "":
		return nil, fmt.Errorf("render kubeconfig %q: no inline client certificate or bearer token", contextName)
	}
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters[contextName] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kubeconfig.AuthInfos[contextName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kubeconfig.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	kubeconfig.CurrentContext = contextName
	data, err := clientcmd.Write(*kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("render kubeconfig %q: %w", contextName, err)
	}
	return data, nil
}

// writeKubeconfig renders a kubeconfig (see renderKubeconfig) into a file only the owner can read.
func writeKubeconfig(path, contextName string, cfg *rest.Config) error {
	data, err := renderKubeconfig(contextName, cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
