package executor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aurora-cd/aurora/internal/templating"
	"github.com/aurora-cd/aurora/internal/webhookcall"
	"github.com/aurora-cd/aurora/rna/metrics"
)

// The tenant's configuration in the target cluster, in the executor's configuration namespace
// (the agent's own namespace: Reconciler.ConfigNamespace). Both are read uncached, when a query or
// webhook call is made, and nothing of them is written anywhere.
const (
	// SecretStoreName is the Secret whose keys are the tenant's {{secrets.<key>}}.
	SecretStoreName = "aurora-secrets"
	// MetricProvidersName is the ConfigMap whose key providers.yaml lists the metric providers
	// (see metrics.ProviderConfig); credentials come from Secrets it references.
	MetricProvidersName = "aurora-metric-providers"
)

// callTimeout bounds one query or webhook call.
const callTimeout = webhookcall.Timeout

// configNamespace is where the tenant's secrets and metric providers are.
func (x *execution) configNamespace() string {
	if x.r.ConfigNamespace != "" {
		return x.r.ConfigNamespace
	}
	return x.rollout.Namespace
}

// httpClient is the client for queries and webhook calls: the Reconciler's, or one with TLS 1.2
// or newer and callTimeout.
func (r *Reconciler) httpClient() *http.Client {
	if r.HTTPClient != nil {
		return r.HTTPClient
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{Timeout: callTimeout, Transport: t}
}

// secretResolver resolves {{secrets.<key>}} from the secret store, reading it once per pass, at the
// first secret a template uses.
func (x *execution) secretResolver(ctx context.Context) templating.Secrets {
	var data map[string][]byte
	var readErr error
	read := false
	return func(name string) (string, error) {
		if !read {
			read = true
			s := &corev1.Secret{}
			switch err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: x.configNamespace(), Name: SecretStoreName}, s); {
			case apierrors.IsNotFound(err):
				readErr = fmt.Errorf("no Secret %s in namespace %s holds the tenant's secrets", SecretStoreName, x.configNamespace())
			case err != nil:
				readErr = fmt.Errorf("reading Secret %s/%s: %w", x.configNamespace(), SecretStoreName, err)
			default:
				data = s.Data
			}
		}
		if readErr != nil {
			return "", readErr
		}
		v, ok := data[name]
		if !ok {
			return "", fmt.Errorf("Secret %s/%s has no key %q", x.configNamespace(), SecretStoreName, name)
		}
		return string(v), nil
	}
}

// metricProvider returns the provider of that name (with its credentials), or the only one when
// name is empty.
func (x *execution) metricProvider(ctx context.Context, name string) (metrics.Provider, string, error) {
	ns := x.configNamespace()
	cm := &corev1.ConfigMap{}
	if err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: ns, Name: MetricProvidersName}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("no ConfigMap %s in namespace %s lists the metric providers", MetricProvidersName, ns)
		}
		return nil, "", fmt.Errorf("reading ConfigMap %s/%s: %w", ns, MetricProvidersName, err)
	}
	list, err := metrics.ParseProviders(cm.Data[metrics.ProvidersKey])
	if err != nil {
		return nil, "", fmt.Errorf("ConfigMap %s/%s: %w", ns, MetricProvidersName, err)
	}
	var cfg *metrics.ProviderConfig
	for i := range list {
		if list[i].Name == name || (name == "" && len(list) == 1) {
			cfg = &list[i]
		}
	}
	if cfg == nil {
		if name == "" {
			return nil, "", fmt.Errorf("the query names no metric provider (metricProviderName or analysis.defaultMetricProviderName) and ConfigMap %s/%s lists %d", ns, MetricProvidersName, len(list))
		}
		return nil, "", fmt.Errorf("metric provider %q is not in ConfigMap %s/%s", name, ns, MetricProvidersName)
	}
	var creds metrics.Credentials
	if ref := cfg.CredentialsSecretRef; ref != nil {
		s := &corev1.Secret{}
		if err := x.r.reader().Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, s); err != nil {
			return nil, "", fmt.Errorf("reading the credentials of metric provider %s (Secret %s/%s): %w", cfg.Name, ns, ref.Name, err)
		}
		creds = metrics.CredentialsFrom(s.Data)
	}
	p, err := metrics.New(*cfg, creds, x.r.httpClient())
	return p, cfg.Name, err
}
