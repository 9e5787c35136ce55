package cli

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/aurora-cd/aurora/cli/apiclient"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// session is what a user command works with: the resolved configuration and an HTTP client that
// trusts its CA file.
type session struct {
	cmd        *cobra.Command
	cfg        Config
	configPath string
	http       *http.Client
	getenv     func(string) string
}

// newSession loads the configuration for cmd.
func newSession(cmd *cobra.Command) (*session, error) {
	cfg, path, err := LoadConfig(cmd, os.Getenv)
	if err != nil {
		return nil, err
	}
	hc, err := apiclient.HTTPClient(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	return &session{cmd: cmd, cfg: cfg, configPath: path, http: hc, getenv: os.Getenv}, nil
}

// newAPISession returns the session of cmd and a client of the REST API that signs in with its
// login.
func newAPISession(cmd *cobra.Command) (*session, *apiclient.Client, error) {
	s, err := newSession(cmd)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.client()
	if err != nil {
		return nil, nil, err
	}
	return s, c, nil
}

// loginPath is the cached login's file.
func (s *session) loginPath() string { return apiclient.LoginPath(s.configPath) }

// machine reports whether the session authenticates with a machine credential (client id and
// secret, as CI does) rather than a person's cached login.
func (s *session) machine() (bool, error) {
	switch {
	case s.cfg.ClientID != "" && s.cfg.ClientSecret != "":
		return true, nil
	case s.cfg.ClientID != "" || s.cfg.ClientSecret != "":
		return false, fmt.Errorf("a machine credential needs both a client id (AURORA_CLIENT_ID, -c) and a client secret (AURORA_CLIENT_SECRET, -s)")
	case strings.EqualFold(s.getenv("CI"), "true"):
		return false, fmt.Errorf("CI=true: expected a machine credential in AURORA_CLIENT_ID and AURORA_CLIENT_SECRET")
	}
	return false, nil
}

// tokens returns the token source of the session: client credentials, or the cached login.
func (s *session) tokens() (oauth2.TokenSource, error) {
	machine, err := s.machine()
	if err != nil {
		return nil, err
	}
	ctx := s.cmd.Context()
	if machine {
		is, err := apiclient.Discover(ctx, s.http, s.cfg.AuthURL)
		if err != nil {
			return nil, err
		}
		return oauth2.ReuseTokenSource(nil, apiclient.ClientCredentials(ctx, s.http, is.TokenURL, s.cfg.ClientID, s.cfg.ClientSecret)), nil
	}
	login, err := apiclient.LoadLogin(s.loginPath())
	if err != nil {
		return nil, err
	}
	return apiclient.LoginTokens(ctx, s.http, s.loginPath(), login), nil
}

// client returns an API client of the session.
func (s *session) client() (*apiclient.Client, error) {
	tokens, err := s.tokens()
	if err != nil {
		return nil, err
	}
	return apiclient.New(s.cfg.APIURL, tokens, s.http)
}

// consoleLink is the Console's page of a pipeline.
func (s *session) consoleLink(pipelineID string) string {
	return s.cfg.APIURL + "/console/#/deployments/" + pipelineID
}

// manifestHTTPClient fetches manifests and deploy files from URLs: it trusts the system roots and
// the configured CA file.
func (s *session) manifestHTTPClient() (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if s.cfg.CAFile != "" {
		pem, err := os.ReadFile(s.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM CERTIFICATE in it", s.cfg.CAFile)
		}
	}
	cfg := tlsutil.AtLeastTLS12(nil)
	cfg.RootCAs = pool
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: s.http.Timeout}, nil
}
