package console

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultClientID is the public OAuth client of the Console registered in the auth service.
const DefaultClientID = "aurora-console"

// DefaultBasePath is where the server mounts the Console.
const DefaultBasePath = "/console/"

// DefaultPollInterval is how often the app refreshes what it shows while nothing fails.
const DefaultPollInterval = 3 * time.Second

// Config configures the Console.
type Config struct {
	// APIURL is the public base URL of the REST API. Empty means the origin that serves the
	// Console (the API and the Console share `aurora server`).
	APIURL string
	// Issuer is the public URL of the auth service (the OIDC issuer) the browser logs in against.
	Issuer string
	// ClientID is the Console's public OAuth client. Default DefaultClientID.
	ClientID string
	// RedirectURL is where the auth service sends the browser back with the code. Empty means
	// the Console's own page (origin + BasePath), which must be registered with the auth service.
	RedirectURL string
	// BasePath is the path the Console is mounted at, with a slash at both ends. Default
	// DefaultBasePath.
	BasePath string
	// PollInterval is how often the app refreshes lists and deployments. Default
	// DefaultPollInterval.
	PollInterval time.Duration
}

// clientConfig is config.json, what the app reads at start.
type clientConfig struct {
	APIURL         string `json:"apiURL"`
	Issuer         string `json:"issuer"`
	ClientID       string `json:"clientId"`
	RedirectURL    string `json:"redirectURL"`
	BasePath       string `json:"basePath"`
	PollIntervalMS int64  `json:"pollIntervalMs"`
}

// withDefaults fills in the defaults and checks every field, naming the one that is wrong.
func (c Config) withDefaults() (Config, error) {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.BasePath == "" {
		c.BasePath = DefaultBasePath
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if !strings.HasPrefix(c.BasePath, "/") || !strings.HasSuffix(c.BasePath, "/") {
		return c, fmt.Errorf("console BasePath %q: expected a path that starts and ends with a slash, such as /console/", c.BasePath)
	}
	if c.Issuer == "" {
		return c, fmt.Errorf("console Issuer: expected the https URL of the auth service, got nothing")
	}
	for _, f := range []struct{ name, value string }{{"Issuer", c.Issuer}, {"APIURL", c.APIURL}, {"RedirectURL", c.RedirectURL}} {
		if f.value == "" {
			continue
		}
		u, err := url.Parse(f.value)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return c, fmt.Errorf("console %s %q: expected an absolute https URL", f.name, f.value)
		}
		if u.Scheme != "https" && !isLoopback(u.Hostname()) {
			return c, fmt.Errorf("console %s %q: expected https (plain http only on a loopback address)", f.name, f.value)
		}
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	c.APIURL = strings.TrimSuffix(c.APIURL, "/")
	return c, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (c Config) client() clientConfig {
	return clientConfig{APIURL: c.APIURL, Issuer: c.Issuer, ClientID: c.ClientID, RedirectURL: c.RedirectURL,
		BasePath: c.BasePath, PollIntervalMS: c.PollInterval.Milliseconds()}
}
