// Package metrics runs analysis queries against metric providers: Prometheus (its HTTP API),
// Datadog (the v1 metrics query API) and New Relic (NRQL through NerdGraph). Each provider turns a
// rendered query and a time window into one number; the executor compares it to the query's limits.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Provider runs a query over a window and returns its value.
type Provider interface {
	// Query runs query over [start, end] and returns one value. An error says what went wrong,
	// including when the answer held no value or several.
	Query(ctx context.Context, query string, start, end time.Time) (float64, error)
}

// Types of providers.
const (
	// TypePrometheus is a Prometheus server (or a compatible API, such as Thanos or Mimir).
	TypePrometheus = "prometheus"
	// TypeDatadog is Datadog's metrics query API.
	TypeDatadog = "datadog"
	// TypeNewRelic is New Relic's NerdGraph (GraphQL) API running NRQL.
	TypeNewRelic = "newrelic"
)

// Credentials are a provider's secrets, read from the Secret its config references.
type Credentials struct {
	// BearerToken is sent as Authorization: Bearer (Prometheus).
	BearerToken string
	// Username and Password are sent as basic auth (Prometheus).
	Username, Password string
	// APIKey and ApplicationKey are Datadog's DD-API-KEY and DD-APPLICATION-KEY.
	APIKey, ApplicationKey string
	// UserKey is New Relic's user API key (API-Key header).
	UserKey string
}

// New returns the provider a config describes, with its credentials and an HTTP client.
func New(cfg ProviderConfig, creds Credentials, httpClient *http.Client) (Provider, error) {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	switch cfg.Type {
	case TypePrometheus:
		return &Prometheus{BaseURL: cfg.BaseURL, Credentials: creds, Client: httpClient}, nil
	case TypeDatadog:
		return &Datadog{BaseURL: cfg.BaseURL, Credentials: creds, Client: httpClient}, nil
	case TypeNewRelic:
		if cfg.AccountID == "" {
			return nil, fmt.Errorf("metric provider %s: accountId is required for type newrelic", cfg.Name)
		}
		return &NewRelic{BaseURL: cfg.BaseURL, AccountID: cfg.AccountID, Credentials: creds, Client: httpClient}, nil
	}
	return nil, fmt.Errorf("metric provider %s: type %q: expected prometheus, datadog or newrelic", cfg.Name, cfg.Type)
}

// maxBody bounds how much of an answer is read.
const maxBody = 8 << 20

// do sends req and returns the body of a 2xx answer; otherwise an error with the status and the
// start of the body.
func do(c *http.Client, req *http.Request, what string) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		// The URL may carry secrets in its query: name only the host.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %s %s: %w", what, req.Method, req.URL.Host, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only body
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", what, err)
	}
	if resp.StatusCode/100 != 2 {
		return body, fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, snippet(body))
	}
	return body, nil
}

// snippet is the start of an answer, for error messages.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// errNoData is returned when an answer holds no value.
var errNoData = errors.New("the query returned no data")

// ErrNoData reports whether err means the query returned no data.
func ErrNoData(err error) bool { return errors.Is(err, errNoData) }

// mean averages values; it fails on none.
func mean(values []float64) (float64, error) {
	if len(values) == 0 {
		return 0, errNoData
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values)), nil
}
