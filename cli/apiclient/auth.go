package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// CLIClientID is the public OAuth client of the CLI's device flow.
const CLIClientID = "aurora-cli"

// loginScopes are the scopes a person's login asks for; offline_access gets a refresh token.
var loginScopes = []string{"openid", "profile", "offline_access"}

// Issuer holds the endpoints of the auth service, from its discovery document.
type Issuer struct {
	// URL is the issuer.
	URL string `json:"issuer"`
	// TokenURL is the token endpoint.
	TokenURL string `json:"token_endpoint"`
	// DeviceAuthURL is the device authorization endpoint (RFC 8628).
	DeviceAuthURL string `json:"device_authorization_endpoint"`
	// RevocationURL is the token revocation endpoint (RFC 7009); empty when there is none.
	RevocationURL string `json:"revocation_endpoint"`
}

// Discover reads the discovery document of the auth service at authURL. Endpoints it does not name
// default to the paths of docs/api.md.
func Discover(ctx context.Context, hc *http.Client, authURL string) (*Issuer, error) {
	if authURL == "" {
		return nil, fmt.Errorf("authURL is not set: expected it in the configuration file, $AURORA_AUTH_URL or --auth-url")
	}
	authURL = strings.TrimRight(authURL, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, fmt.Errorf("authURL %q: %w", authURL, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the auth service's discovery document: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the auth service's discovery document at %s: %s", authURL, resp.Status)
	}
	is := &Issuer{}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(is); err != nil {
		return nil, fmt.Errorf("decoding the auth service's discovery document: %w", err)
	}
	if is.URL == "" {
		is.URL = authURL
	}
	if is.TokenURL == "" {
		is.TokenURL = authURL + "/oauth/token"
	}
	if is.DeviceAuthURL == "" {
		is.DeviceAuthURL = authURL + "/oauth/device/code"
	}
	return is, nil
}

// withHTTPClient makes x/oauth2 use hc.
func withHTTPClient(ctx context.Context, hc *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// ClientCredentials returns a token source of the client-credentials grant for a machine credential.
func ClientCredentials(ctx context.Context, hc *http.Client, tokenURL, clientID, clientSecret string) oauth2.TokenSource {
	cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: tokenURL}
	return cfg.TokenSource(withHTTPClient(ctx, hc))
}

// DeviceConfig is the OAuth configuration of a person's login through the device flow.
func DeviceConfig(is *Issuer) *oauth2.Config {
	return &oauth2.Config{
		ClientID: CLIClientID,
		Endpoint: oauth2.Endpoint{TokenURL: is.TokenURL, DeviceAuthURL: is.DeviceAuthURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   loginScopes,
	}
}

// StartDeviceLogin asks the auth service for a device code and the page where the person logs in.
func StartDeviceLogin(ctx context.Context, hc *http.Client, is *Issuer) (*oauth2.DeviceAuthResponse, error) {
	resp, err := DeviceConfig(is).DeviceAuth(withHTTPClient(ctx, hc))
	if err != nil {
		return nil, fmt.Errorf("starting the device login at %s: %w", is.DeviceAuthURL, err)
	}
	return resp, nil
}

// AwaitDeviceLogin polls the token endpoint until the person has logged in (or refused, or the code
// expired).
func AwaitDeviceLogin(ctx context.Context, hc *http.Client, is *Issuer, da *oauth2.DeviceAuthResponse) (*oauth2.Token, error) {
	tok, err := DeviceConfig(is).DeviceAccessToken(withHTTPClient(ctx, hc), da)
	if err != nil {
		return nil, fmt.Errorf("waiting for the login: %w", err)
	}
	return tok, nil
}

// Refresh uses a refresh token for a new access token; tenant, when set, asks for a token of that
// environment of the user's organization.
func Refresh(ctx context.Context, hc *http.Client, tokenURL, refreshToken, tenant string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {CLIClientID}}
	if tenant != "" {
		form.Set("tenant", tenant)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token endpoint %q: %w", tokenURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("refreshing the login: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("refreshing the login: %w", err)
	}
	var tr struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		RefreshToken     string `json:"refresh_token"`
		ExpiresIn        int64  `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("refreshing the login: %s: decoding the answer: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		if tr.Error == "" {
			tr.Error = resp.Status
		}
		return nil, fmt.Errorf("refreshing the login: %s: %s (run aurora login again)", tr.Error, tr.ErrorDescription)
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: tr.RefreshToken}
	if tr.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	return tok, nil
}

// Revoke revokes a person's refresh token at the auth service (RFC 7009), so that a copy of the
// cached login cannot be used any more.
func Revoke(ctx context.Context, hc *http.Client, revocationURL, refreshToken string) error {
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {CLIClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, revocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revocation endpoint %q: %w", revocationURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("revoking the login: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoking the login: %s", resp.Status)
	}
	return nil
}
