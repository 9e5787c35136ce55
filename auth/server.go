package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/auth/keys"
	"github.com/aurora-cd/aurora/auth/users"
	"github.com/aurora-cd/aurora/internal/scheme"
)

// ServerConfig is everything `aurora auth` needs to run.
type ServerConfig struct {
	// Kubernetes is the cloud cluster's API server.
	Kubernetes *rest.Config
	// Issuer, Audiences, TokenLifetime and RateLimits configure the Service.
	Issuer        string
	Audiences     []string
	TokenLifetime time.Duration
	RateLimits    RateLimits
	// KeysNamespace and KeysSecret locate the Secret holding the sealed signing keys.
	KeysNamespace, KeysSecret string
	// MasterKey seals the signing keys (32 bytes).
	MasterKey []byte
	// KeyRotationPeriod is how long a signing key signs before the next one takes over.
	KeyRotationPeriod time.Duration
	// TLS serves HTTPS; its MinVersion must be TLS 1.2 or newer.
	TLS *tls.Config
	// People configures the logins of people; KeysNamespace holds their password hashes and
	// grants.
	People PeopleConfig
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// PeopleConfig configures how people log in: the built-in user directory (always), the Console's
// redirect URIs, confidential OIDC clients, upstream identity providers and the bootstrap admin.
type PeopleConfig struct {
	// ConsoleRedirectURIs are the redirect URIs of the Console (client aurora-console).
	ConsoleRedirectURIs []string
	// OIDCClients are confidential OpenID Connect clients (such as another Aurora using this one as
	// its upstream identity provider).
	OIDCClients []OIDCClient
	// Upstreams are the organizations' upstream identity providers.
	Upstreams []UpstreamIdP
	// UpstreamHTTPClient reaches the upstream providers; http.DefaultClient when nil.
	UpstreamHTTPClient *http.Client
	// RefreshTokenLifetime, DeviceCodeLifetime and DevicePollInterval override the defaults.
	RefreshTokenLifetime, DeviceCodeLifetime, DevicePollInterval time.Duration
	// BootstrapOrganization and BootstrapAdmin, when both set, create that organization admin on a
	// fresh install, its generated password written once to the Secret aurora-bootstrap-admin.
	BootstrapOrganization, BootstrapAdmin string
}

// Server is a running auth service: signing keys loaded, credentials cached, people's logins
// served from the built-in user directory, HTTPS served.
type Server struct {
	cfg     ServerConfig
	service *Service
	keys    *keys.Manager
	cache   cache.Cache
}

// NewServer loads (or creates) the signing keys and prepares the credential cache. A wrong master
// key fails here, with an error that says so.
func NewServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	if cfg.TLS == nil || cfg.TLS.MinVersion < tls.VersionTLS12 {
		return nil, errors.New("auth server: a TLS configuration with MinVersion TLS 1.2 or newer is required")
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := scheme.New()
	direct, err := client.New(cfg.Kubernetes, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client: %w", err)
	}
	km, err := keys.NewManager(keys.Options{
		Client: direct, Namespace: cfg.KeysNamespace, SecretName: cfg.KeysSecret, MasterKey: cfg.MasterKey,
		RotationPeriod: cfg.KeyRotationPeriod, TokenLifetime: cfg.TokenLifetime, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring the signing keys: %w", err)
	}
	if err := km.Load(ctx); err != nil {
		return nil, fmt.Errorf("loading the signing keys: %w", err)
	}
	c, err := cache.New(cfg.Kubernetes, cache.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("creating the credential cache: %w", err)
	}
	creds, err := NewMachineCredentials(ctx, c, direct, cfg.Now)
	if err != nil {
		return nil, err
	}
	if p := cfg.People; p.BootstrapOrganization != "" && p.BootstrapAdmin != "" {
		created, err := users.Bootstrap(ctx, direct, cfg.KeysNamespace, p.BootstrapOrganization, p.BootstrapAdmin)
		if err != nil {
			return nil, err
		}
		if created {
			ctrl.Log.WithName("auth").Info("Created the bootstrap admin; its password is in a Secret", "user", p.BootstrapAdmin,
				"organization", p.BootstrapOrganization, "secret", cfg.KeysNamespace+"/"+users.BootstrapSecretName)
		}
	}
	p := cfg.People
	svc, err := NewService(Options{
		Issuer: cfg.Issuer, Audiences: cfg.Audiences, TokenLifetime: cfg.TokenLifetime,
		Signer: km, Credentials: creds, RateLimits: cfg.RateLimits, Now: cfg.Now,
		Users: users.NewDirectory(direct, cfg.KeysNamespace), Grants: NewGrantStore(direct, cfg.KeysNamespace, cfg.Now),
		ConsoleRedirectURIs: p.ConsoleRedirectURIs, OIDCClients: p.OIDCClients, Upstreams: p.Upstreams,
		UpstreamHTTPClient: p.UpstreamHTTPClient, RefreshTokenLifetime: p.RefreshTokenLifetime,
		DeviceCodeLifetime: p.DeviceCodeLifetime, DevicePollInterval: p.DevicePollInterval,
	})
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, service: svc, keys: km, cache: c}, nil
}

// Serve serves HTTPS on l until ctx ends, then shuts down gracefully. It also keeps the credential
// cache in sync and rotates the signing keys.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	logger := ctrl.Log.WithName("auth")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	go func() { errs <- s.cache.Start(ctx) }()
	if !s.cache.WaitForCacheSync(ctx) {
		return errors.New("the credential cache did not sync")
	}
	go func() { errs <- s.keys.Run(ctx) }()
	go s.service.deleteExpiredGrants(ctx, time.Minute)

	srv := &http.Server{
		Handler:           s.service.Handler(),
		TLSConfig:         s.cfg.TLS,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          log.New(logWriter{logger}, "", 0),
	}
	go func() { errs <- srv.ServeTLS(l, "", "") }()
	logger.Info("Serving the auth service", "address", l.Addr().String(), "issuer", s.cfg.Issuer)
	select {
	case <-ctx.Done():
	case err := <-errs:
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, context.Canceled) {
			cancel()
			_ = srv.Close()
			return fmt.Errorf("auth service: %w", err)
		}
	}
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	return srv.Shutdown(shutdown)
}

// RotateKeys makes a new signing key current at once; the old one keeps verifying until the tokens
// it signed have expired.
func (s *Server) RotateKeys(ctx context.Context) error { return s.keys.Rotate(ctx) }

// Handler is the service's HTTP handler (for embedding in another server).
func (s *Server) Handler() http.Handler { return s.service.Handler() }

// logWriter sends net/http's error log (TLS handshake errors and the like) to the structured log.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.V(1).Info(string(p))
	return len(p), nil
}
