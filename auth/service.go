package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/aurora-cd/aurora/auth/users"
)

// Paths the auth service serves under its issuer URL.
const (
	// DiscoveryPath is the OpenID Connect discovery document.
	DiscoveryPath = "/.well-known/openid-configuration"
	// JWKSPath is the JSON Web Key Set with the public signing keys.
	JWKSPath = "/.well-known/jwks.json"
	// TokenPath is the OAuth 2.0 token endpoint.
	TokenPath = "/oauth/token"
	// DeviceAuthorizationPath is the device authorization endpoint (RFC 8628 §3.1).
	DeviceAuthorizationPath = "/oauth/device/code"
	// DevicePath is the page where a person enters a device's user code and logs in.
	DevicePath = "/device"
	// AuthorizePath is the authorization endpoint (authorization code with PKCE) and its login page.
	AuthorizePath = "/oauth/authorize"
	// RevocationPath revokes a refresh token (RFC 7009).
	RevocationPath = "/oauth/revoke"
	// UpstreamStartPath sends a person to their organization's upstream identity provider.
	UpstreamStartPath = "/oauth/upstream/start"
	// UpstreamCallbackPath is where the upstream identity provider sends the person back.
	UpstreamCallbackPath = "/oauth/upstream/callback"
)

// Lifetimes of people's grants unless configured otherwise.
const (
	// DefaultRefreshTokenLifetime is how long a refresh token may be used (once).
	DefaultRefreshTokenLifetime = 14 * 24 * time.Hour
	// DefaultUpstreamSessionLifetime is how long a login through an upstream identity provider lasts
	// however often it is refreshed: then the person logs in there again, which reads their groups
	// afresh (someone removed at the provider loses access within this time).
	DefaultUpstreamSessionLifetime = 24 * time.Hour
	// DefaultDeviceCodeLifetime is how long a person has to enter a device's user code.
	DefaultDeviceCodeLifetime = 10 * time.Minute
	// DefaultDevicePollInterval is how often a device may poll the token endpoint.
	DefaultDevicePollInterval = 5 * time.Second
	// authorizationCodeLifetime is how long an authorization code may be exchanged.
	authorizationCodeLifetime = time.Minute
)

// DefaultTokenLifetime is how long an access token is valid unless configured otherwise.
const DefaultTokenLifetime = time.Hour

// DefaultAudience is the audience of tokens requested without an audience parameter: the Aurora
// control plane (Hub and REST API).
const DefaultAudience = "aurora"

// maxFormBytes bounds a token request.
const maxFormBytes = 64 << 10

// TokenSigner signs JWT claims and publishes the public keys that verify them.
type TokenSigner interface {
	// Sign returns a compact JWS of claims.
	Sign(claims any) (string, error)
	// PublicKeys returns the keys that verify the tokens not yet expired.
	PublicKeys() jose.JSONWebKeySet
}

// CredentialAuthenticator checks a client id and secret and tells who the client is.
type CredentialAuthenticator interface {
	// Authenticate returns the client's identity, or ErrInvalidClient.
	Authenticate(ctx context.Context, clientID, secret string) (*Client, error)
}

// ErrInvalidClient means the client id or secret is wrong, or the credential is deleted or expired.
// Callers must not tell these apart to the client.
var ErrInvalidClient = errors.New("invalid client")

// Options configure the auth service.
type Options struct {
	// Issuer is the service's public HTTPS URL, the iss of every token.
	Issuer string
	// Audiences are the audiences a client may ask for; the first is the default.
	Audiences []string
	// TokenLifetime is how long an access token is valid. Default 1h.
	TokenLifetime time.Duration
	// Signer signs tokens.
	Signer TokenSigner
	// Credentials authenticates clients.
	Credentials CredentialAuthenticator
	// RateLimits bound requests and failed attempts per client and per address.
	RateLimits RateLimits
	// Now returns the current time; time.Now when nil.
	Now func() time.Time

	// Users is the built-in user directory. Nil serves no logins for people: no device flow,
	// authorization endpoint or refresh tokens.
	Users *users.Directory
	// Grants keeps device codes, authorization codes and refresh tokens; required with Users.
	Grants *GrantStore
	// ConsoleRedirectURIs are the redirect URIs of the Console (client aurora-console).
	ConsoleRedirectURIs []string
	// OIDCClients are the confidential OpenID Connect clients.
	OIDCClients []OIDCClient
	// Upstreams are the organizations' upstream identity providers.
	Upstreams []UpstreamIdP
	// UpstreamHTTPClient reaches the upstream identity providers; http.DefaultClient when nil.
	UpstreamHTTPClient *http.Client
	// RefreshTokenLifetime, DeviceCodeLifetime and DevicePollInterval default to
	// DefaultRefreshTokenLifetime, DefaultDeviceCodeLifetime and DefaultDevicePollInterval.
	RefreshTokenLifetime time.Duration
	// UpstreamSessionLifetime bounds a login through an upstream identity provider, refreshes
	// included. Default DefaultUpstreamSessionLifetime.
	UpstreamSessionLifetime time.Duration
	DeviceCodeLifetime      time.Duration
	DevicePollInterval      time.Duration
}

// Service is the OIDC provider of Aurora: discovery, JWKS, the token endpoint, and the logins of
// people (device flow, authorization code with PKCE, refresh tokens, upstream identity providers).
type Service struct {
	opts      Options
	limiter   *limiter
	clients   map[string]*oauthClient
	upstreams map[string]*upstream
}

// NewService checks the options and returns a service.
func NewService(opts Options) (*Service, error) {
	u, err := url.Parse(opts.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("issuer %q: want an https URL without query or fragment", opts.Issuer)
	}
	opts.Issuer = strings.TrimSuffix(opts.Issuer, "/")
	if len(opts.Audiences) == 0 {
		opts.Audiences = []string{DefaultAudience}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	if opts.Signer == nil || opts.Credentials == nil {
		return nil, errors.New("auth service: a signer and a credential authenticator are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UpstreamSessionLifetime <= 0 {
		opts.UpstreamSessionLifetime = DefaultUpstreamSessionLifetime
	}
	if opts.RefreshTokenLifetime <= 0 {
		opts.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if opts.DeviceCodeLifetime <= 0 {
		opts.DeviceCodeLifetime = DefaultDeviceCodeLifetime
	}
	if opts.DevicePollInterval < time.Second {
		opts.DevicePollInterval = DefaultDevicePollInterval
	}
	if opts.UpstreamHTTPClient == nil {
		opts.UpstreamHTTPClient = http.DefaultClient
	}
	svc := &Service{opts: opts, limiter: newLimiter(opts.RateLimits, opts.Now)}
	if opts.Users != nil {
		if opts.Grants == nil {
			return nil, errors.New("auth service: logins of people need a grant store")
		}
		var err error
		if svc.clients, err = newClientRegistry(opts.ConsoleRedirectURIs, opts.OIDCClients); err != nil {
			return nil, err
		}
		if svc.upstreams, err = newUpstreams(opts.Upstreams, opts.Issuer+UpstreamCallbackPath, opts.UpstreamHTTPClient); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// peopleEnabled reports whether the service serves logins of people.
func (s *Service) peopleEnabled() bool { return s.opts.Users != nil }

// Handler serves the discovery document, the JWKS and the token endpoint.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, s.serveDiscovery)
	mux.HandleFunc("GET "+JWKSPath, s.serveJWKS)
	mux.HandleFunc("POST "+TokenPath, s.serveToken)
	if s.peopleEnabled() {
		mux.HandleFunc("POST "+DeviceAuthorizationPath, s.serveDeviceAuthorization)
		mux.HandleFunc("GET "+DevicePath, s.serveDevicePage)
		mux.HandleFunc("POST "+DevicePath, s.serveDeviceLogin)
		mux.HandleFunc("GET "+AuthorizePath, s.serveAuthorize)
		mux.HandleFunc("POST "+AuthorizePath, s.serveAuthorizeLogin)
		mux.HandleFunc("POST "+RevocationPath, s.serveRevocation)
		mux.HandleFunc("POST "+UpstreamStartPath, s.serveUpstreamStart)
		mux.HandleFunc("GET "+UpstreamCallbackPath, s.serveUpstreamCallback)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return securityHeaders(allowConsoleOrigins(consoleOrigins(s.opts.ConsoleRedirectURIs), mux))
}

// securityHeaders marks every response as not to be cached or sniffed.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}
