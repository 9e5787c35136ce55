package metrics

import (
	"fmt"
	"net/url"
	"slices"

	"sigs.k8s.io/yaml"
)

// ProvidersKey is the key of the ConfigMap that holds the providers, as YAML.
const ProvidersKey = "providers.yaml"

// ProviderConfig is one metric provider of a tenant, as the ConfigMap lists it, such as
// {name: prometheus, type: prometheus, baseURL: "http://prometheus.monitoring:9090",
// credentialsSecretRef: {name: prometheus-credentials}}.
type ProviderConfig struct {
	// Name is what analysis.defaultMetricProviderName and metricProviderName refer to.
	Name string `json:"name"`
	// Type is prometheus, datadog or newrelic.
	Type string `json:"type"`
	// BaseURL is the API's URL: Prometheus' server, Datadog's site API (https://api.datadoghq.com),
	// New Relic's GraphQL endpoint (https://api.newrelic.com/graphql).
	BaseURL string `json:"baseURL"`
	// AccountID is New Relic's account id.
	AccountID string `json:"accountId,omitempty"`
	// CredentialsSecretRef names a Secret in the same namespace with the keys bearerToken,
	// username and password (Prometheus), apiKey and applicationKey (Datadog), userKey (New Relic).
	CredentialsSecretRef *SecretRef `json:"credentialsSecretRef,omitempty"`
}

// SecretRef names a Secret in the ConfigMap's namespace.
type SecretRef struct {
	// Name is the Secret's name.
	Name string `json:"name"`
}

// ParseProviders reads the providers YAML of the ConfigMap and checks every entry; errors name the
// entry and the field.
func ParseProviders(data string) ([]ProviderConfig, error) {
	var list []ProviderConfig
	if err := yaml.UnmarshalStrict([]byte(data), &list); err != nil {
		return nil, fmt.Errorf("%s: not a YAML list of providers: %w", ProvidersKey, err)
	}
	var names []string
	for i, p := range list {
		at := fmt.Sprintf("%s[%d]", ProvidersKey, i)
		switch {
		case p.Name == "":
			return nil, fmt.Errorf("%s.name: required", at)
		case slices.Contains(names, p.Name):
			return nil, fmt.Errorf("%s.name: %q is listed twice", at, p.Name)
		case p.Type != TypePrometheus && p.Type != TypeDatadog && p.Type != TypeNewRelic:
			return nil, fmt.Errorf("%s.type: %q: expected prometheus, datadog or newrelic", at, p.Type)
		case p.Type == TypeNewRelic && p.AccountID == "":
			return nil, fmt.Errorf("%s.accountId: required for type newrelic", at)
		case p.CredentialsSecretRef != nil && p.CredentialsSecretRef.Name == "":
			return nil, fmt.Errorf("%s.credentialsSecretRef.name: required", at)
		}
		u, err := url.Parse(p.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s.baseURL: %q: expected an http or https URL", at, p.BaseURL)
		}
		names = append(names, p.Name)
	}
	return list, nil
}

// CredentialsFrom reads provider credentials from a Secret's data.
func CredentialsFrom(data map[string][]byte) Credentials {
	return Credentials{
		BearerToken: string(data["bearerToken"]), Username: string(data["username"]), Password: string(data["password"]),
		APIKey: string(data["apiKey"]), ApplicationKey: string(data["applicationKey"]), UserKey: string(data["userKey"]),
	}
}
