package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/internal/envelope"
)

// Body limits (docs/api.md, "Conventions").
const (
	// MaxDeployFileBytes bounds the body of POST /pipelines/kubernetes.
	MaxDeployFileBytes = 4 << 20
	// MaxBodyBytes bounds every other request body.
	MaxBodyBytes = 64 << 10
)

// Defaults of Options left zero.
const (
	// DefaultCredentialReadyTimeout bounds how long POST /credentials waits for the controller to
	// issue the client secret.
	DefaultCredentialReadyTimeout = 30 * time.Second
	// DefaultInventoryTimeout bounds a query of the Hub's inventory cache.
	DefaultInventoryTimeout = 10 * time.Second
)

// TokenVerifier checks a bearer token and returns its claims; *verify.Verifier is one.
type TokenVerifier interface {
	Verify(ctx context.Context, rawToken string) (*principal.Claims, error)
}

// InventorySource reads the Hub's inventory cache of one agent of a tenant. token is the caller's
// own bearer token, which the source forwards so that the Hub checks the tenant and scope again.
type InventorySource interface {
	Inventory(ctx context.Context, token, agent string) (*tunnelv1.Inventory, time.Time, error)
}

// ErrNoInventory is returned by an InventorySource when the Hub holds no inventory of the agent.
var ErrNoInventory = errors.New("no inventory of the agent")

// Options configure the API server.
type Options struct {
	// Client reads and writes the cloud cluster; reads should not be served from a stale cache
	// (a client without a cache, or the manager's API reader wrapped into one).
	Client client.Client
	// Verifier checks bearer tokens (issuer and audience).
	Verifier TokenVerifier
	// TLS serves HTTPS; MinVersion must be TLS 1.2 or newer.
	TLS *tls.Config
	// Inventory answers /infrastructure/agents/{agentIdentifier}/{kind}; nil answers 503.
	Inventory InventorySource
	// Console, when set, is mounted at /console/ and / redirects there.
	Console http.Handler
	// Log receives the access log and errors; the discard logger when zero.
	Log logr.Logger
	// CredentialReadyTimeout bounds POST /credentials' wait for the client secret.
	CredentialReadyTimeout time.Duration
	// Registerer receives the API's metrics; controller-runtime's metrics registry when nil.
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Sealer seals tenant secrets (PUT /secrets/{name}) under the master key; nil answers the
	// /secrets routes with 503.
	Sealer *envelope.Sealer
}

func (o Options) withDefaults() (Options, error) {
	if o.Client == nil {
		return o, errors.New("server: Options.Client is required")
	}
	if o.Verifier == nil {
		return o, errors.New("server: Options.Verifier is required")
	}
	if o.TLS != nil && o.TLS.MinVersion < tls.VersionTLS12 {
		return o, errors.New("server: Options.TLS must have MinVersion TLS 1.2 or newer")
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
	if o.CredentialReadyTimeout <= 0 {
		o.CredentialReadyTimeout = DefaultCredentialReadyTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = ctrlmetrics.Registry
	}
	return o, nil
}
