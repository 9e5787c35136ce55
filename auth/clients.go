package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/url"
	"slices"
)

// The public clients of people: no secret, PKCE or the device flow instead.
const (
	// CLIClientID is the aurora CLI, which logs in with the device authorization grant (RFC 8628).
	CLIClientID = "aurora-cli"
	// ConsoleClientID is the Console, which logs in with the authorization code grant and PKCE; its
	// redirect URIs are configured (Options.ConsoleRedirectURIs).
	ConsoleClientID = "aurora-console"
)

// OIDCClient is a confidential OpenID Connect client registered with the service, such as another
// Aurora that uses this one as its upstream identity provider: authorization code with PKCE,
// authenticated with its secret at the token endpoint.
type OIDCClient struct {
	// ID is the client id.
	ID string `json:"clientId"`
	// Secret is the client secret.
	Secret string `json:"-"`
	// RedirectURIs are the exact redirect URIs the client may use.
	RedirectURIs []string `json:"redirectURIs"`
}

// oauthClient is a client of the people's grants.
type oauthClient struct {
	id           string
	secretHash   []byte // nil for a public client
	redirectURIs []string
	device       bool // may use the device grant
}

func (c *oauthClient) public() bool { return c.secretHash == nil }

// authenticate checks the secret of a confidential client; a public client must send none.
func (c *oauthClient) authenticate(secret string) bool {
	if c.public() {
		return secret == ""
	}
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], c.secretHash) == 1
}

// allowsRedirect reports whether uri is one of the client's redirect URIs, compared exactly
// (RFC 9700 §4.1.3).
func (c *oauthClient) allowsRedirect(uri string) bool { return slices.Contains(c.redirectURIs, uri) }

// newClientRegistry builds the clients of people's logins: aurora-cli, aurora-console with its
// redirect URIs, and the confidential OIDC clients.
func newClientRegistry(consoleRedirectURIs []string, confidential []OIDCClient) (map[string]*oauthClient, error) {
	reg := map[string]*oauthClient{CLIClientID: {id: CLIClientID, device: true}}
	for i, u := range consoleRedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, fmt.Errorf("console redirect URI [%d]: %w", i, err)
		}
	}
	reg[ConsoleClientID] = &oauthClient{id: ConsoleClientID, redirectURIs: consoleRedirectURIs}
	for i, c := range confidential {
		switch {
		case c.ID == "":
			return nil, fmt.Errorf("clients[%d].clientId: required", i)
		case reg[c.ID] != nil:
			return nil, fmt.Errorf("clients[%d].clientId: %q is taken", i, c.ID)
		case len(c.Secret) < 16:
			return nil, fmt.Errorf("clients[%d] (%s): the client secret must have at least 16 characters", i, c.ID)
		case len(c.RedirectURIs) == 0:
			return nil, fmt.Errorf("clients[%d].redirectURIs: at least one is required", i)
		}
		for j, u := range c.RedirectURIs {
			if err := checkRedirectURI(u); err != nil {
				return nil, fmt.Errorf("clients[%d].redirectURIs[%d]: %w", i, j, err)
			}
		}
		sum := sha256.Sum256([]byte(c.Secret))
		reg[c.ID] = &oauthClient{id: c.ID, secretHash: sum[:], redirectURIs: slices.Clone(c.RedirectURIs)}
	}
	return reg, nil
}

// checkRedirectURI accepts an absolute https URL without fragment, or http on a loopback host
// (RFC 8252 §7.3).
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("%q: want an absolute URL without fragment", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1" || u.Hostname() == "localhost"):
	default:
		return fmt.Errorf("%q: want https (or http on a loopback address)", raw)
	}
	return nil
}
