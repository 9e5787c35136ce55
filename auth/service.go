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
)

// Paths the auth service serves under its issuer URL.
const (
	// DiscoveryPath is the OpenID Connect discovery document.
	DiscoveryPath = "/.well-known/openid-configuration"
	// JWKSPath is the JSON Web Key Set with the public signing keys.
	JWKSPath = "/.well-known/jwks.json"
	// TokenPath is the OAuth 2.0 token endpoint.
	TokenPath = "/oauth/token"
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
}

// Service is the OIDC provider of Aurora: discovery, JWKS and the token endpoint.
type Service struct {
	opts    Options
	limiter *limiter
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
	return &Service{opts: opts, limiter: newLimiter(opts.RateLimits, opts.Now)}, nil
}

// Handler serves the discovery document, the JWKS and the token endpoint.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, s.serveDiscovery)
	mux.HandleFunc("GET "+JWKSPath, s.serveJWKS)
	mux.HandleFunc("POST "+TokenPath, s.serveToken)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return securityHeaders(mux)
}

// securityHeaders marks every response as not to be cached or sniffed.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}
