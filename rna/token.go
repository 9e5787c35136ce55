package rna

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// AgentHubScope is the scope an agent's token needs to open a tunnel.
const AgentHubScope = "api:agentHub:full"

// DefaultAudience is the audience the agent asks its tokens for.
const DefaultAudience = "aurora"

// defaultTokenRequestTimeout bounds one request to the token endpoint.
const defaultTokenRequestTimeout = 10 * time.Second

// ClientCredentials say how the agent obtains its tokens from the auth service with the OAuth 2.0
// client-credentials grant.
type ClientCredentials struct {
	// ClientID is the MachineCredential's client id.
	ClientID string
	// ClientSecret is the MachineCredential's secret. It is sent to TokenURL only, never logged.
	ClientSecret string
	// TokenURL is the auth service's token endpoint, https://…/oauth/token.
	TokenURL string
	// Audience is the audience of the tokens. Default: DefaultAudience.
	Audience string
	// Scopes are the scopes asked for. Default: AgentHubScope.
	Scopes []string
	// TLS is the client TLS configuration for the token endpoint (RootCAs trusting the auth
	// service's certificate). Nil: the system roots. MinVersion is raised to TLS 1.2.
	TLS *tls.Config
	// RequestTimeout bounds one token request. Default: 10s.
	RequestTimeout time.Duration
}

// ClientCredentialsTokenSource returns a TokenSource that fetches tokens from the auth service and
// reuses each until shortly before it expires. ctx is the lifetime of the source: its HTTP client
// is bound to it.
func ClientCredentialsTokenSource(ctx context.Context, c ClientCredentials) (verify.TokenSource, error) {
	switch {
	case c.ClientID == "":
		return nil, errors.New("client credentials: the client id is required")
	case c.ClientSecret == "":
		return nil, errors.New("client credentials: the client secret is required")
	case c.TokenURL == "":
		return nil, errors.New("client credentials: the token URL is required")
	}
	u, err := url.Parse(c.TokenURL)
	if err != nil {
		return nil, fmt.Errorf("client credentials: token URL: %w", err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("client credentials: the token URL must be https, got %q", u.Scheme)
	}
	audience := c.Audience
	if audience == "" {
		audience = DefaultAudience
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = []string{AgentHubScope}
	}
	timeout := c.RequestTimeout
	if timeout <= 0 {
		timeout = defaultTokenRequestTimeout
	}
	tlsConfig := tlsutil.AtLeastTLS12(c.TLS)
	httpClient := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true},
	}
	config := clientcredentials.Config{
		ClientID:       c.ClientID,
		ClientSecret:   c.ClientSecret,
		TokenURL:       c.TokenURL,
		Scopes:         scopes,
		EndpointParams: url.Values{"audience": {audience}},
	}
	source := config.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, httpClient))
	return func(context.Context) (string, error) {
		token, err := source.Token()
		if err != nil {
			return "", fmt.Errorf("fetching a token from %s for client %s: %w", c.TokenURL, c.ClientID, err)
		}
		return token.AccessToken, nil
	}, nil
}
