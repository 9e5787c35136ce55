package rna

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/credentials"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// Defaults of Options.
const (
	// DefaultInitialBackoff is the cap of the first reconnect delay.
	DefaultInitialBackoff = time.Second
	// DefaultMaxBackoff caps every reconnect delay.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultDialTimeout bounds connecting: dial, TLS, token, Hello and the Hub's Welcome.
	DefaultDialTimeout = 10 * time.Second
	// DefaultSendTimeout bounds sending one message and closing the stream.
	DefaultSendTimeout = 10 * time.Second
	// DefaultInventoryInterval is how often the agent sends its cluster's inventory.
	DefaultInventoryInterval = 30 * time.Second
	// DefaultHeartbeatInterval is used when the Hub's Welcome names no heartbeat interval.
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultTargetTimeout bounds one call to the target cluster's API server.
	DefaultTargetTimeout = 30 * time.Second
	// FieldManager is the server-side apply field manager of mirrored Rollouts.
	FieldManager = "aurora-rna"
)

// Options configure an Agent. HubAddress, TLS, a credential (Credentials or TokenSource),
// AgentIdentifier and Target are required; zero durations take the defaults above.
type Options struct {
	// HubAddress is the Hub's gRPC address, host:port: in a real install the Service in front of
	// every Hub replica.
	HubAddress string
	// HubAddresses are more addresses of the Hub (of single replicas, say), tried in turn after
	// HubAddress: each connection attempt takes the next address of the list.
	HubAddresses []string
	// TLS is the client TLS configuration: RootCAs trusting the Hub's certificate (and ServerName
	// when the address is not among the certificate's names). MinVersion is raised to TLS 1.2.
	TLS *tls.Config
	// Credentials send the bearer token with the stream. Set either Credentials or TokenSource.
	Credentials credentials.PerRPCCredentials
	// TokenSource gives the bearer token for each stream (see ClientCredentialsTokenSource). Set
	// either Credentials or TokenSource.
	TokenSource verify.TokenSource
	// AgentIdentifier is the agent's name, the deploy file's target account.
	AgentIdentifier string
	// AgentVersion is reported in Hello.
	AgentVersion string
	// Target is the REST configuration of the cluster the agent mirrors Rollouts into.
	Target *rest.Config

	// InitialBackoff caps the first reconnect delay; the cap doubles with each failed attempt.
	InitialBackoff time.Duration
	// MaxBackoff caps every reconnect delay.
	MaxBackoff time.Duration
	// BackoffResetAfter is how long a stream must have been connected for the next reconnect to
	// start again from InitialBackoff. Default: MaxBackoff.
	BackoffResetAfter time.Duration
	// DialTimeout bounds one connection attempt: dial, TLS handshake, token, Hello and Welcome.
	DialTimeout time.Duration
	// SendTimeout bounds sending one message and closing a stream.
	SendTimeout time.Duration
	// InventoryInterval is how often Inventory is sent.
	InventoryInterval time.Duration
	// TargetTimeout bounds one call to the target cluster's API server.
	TargetTimeout time.Duration

	// Now is the clock of timestamps and of dead-stream detection. Default: time.Now.
	Now func() time.Time
	// Random returns jitter in [0, 1). Default: math/rand/v2.Float64.
	Random func() float64
	// Log is the agent's logger. Default: ctrl.Log.WithName("rna").
	Log logr.Logger
	// Registerer receives the agent's metrics. Default: controller-runtime's metrics.Registry.
	// Metrics already registered there (by an earlier Agent) are shared.
	Registerer prometheus.Registerer
}

// withDefaults returns a copy of o with every unset field defaulted, or an error naming the first
// missing or invalid required field.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.HubAddress == "" {
		errs = append(errs, errors.New("HubAddress is required"))
	}
	for i, address := range o.HubAddresses {
		if address == "" {
			errs = append(errs, fmt.Errorf("HubAddresses[%d] is empty; host:port expected", i))
		}
	}
	if o.TLS == nil {
		errs = append(errs, errors.New("TLS is required: the tunnel never runs in plaintext"))
	}
	if (o.Credentials == nil) == (o.TokenSource == nil) {
		errs = append(errs, errors.New("exactly one of Credentials and TokenSource is required"))
	}
	if o.AgentIdentifier == "" {
		errs = append(errs, errors.New("AgentIdentifier is required"))
	}
	if o.Target == nil {
		errs = append(errs, errors.New("Target is required"))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"InitialBackoff", o.InitialBackoff}, {"MaxBackoff", o.MaxBackoff}, {"BackoffResetAfter", o.BackoffResetAfter},
		{"DialTimeout", o.DialTimeout}, {"SendTimeout", o.SendTimeout}, {"InventoryInterval", o.InventoryInterval},
		{"TargetTimeout", o.TargetTimeout},
	} {
		if d.value < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.value))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("invalid agent options: %w", err)
	}
	o.InitialBackoff = orDefault(o.InitialBackoff, DefaultInitialBackoff)
	o.MaxBackoff = orDefault(o.MaxBackoff, DefaultMaxBackoff)
	if o.MaxBackoff < o.InitialBackoff {
		return o, fmt.Errorf("invalid agent options: MaxBackoff %s is shorter than InitialBackoff %s", o.MaxBackoff, o.InitialBackoff)
	}
	o.BackoffResetAfter = orDefault(o.BackoffResetAfter, o.MaxBackoff)
	o.DialTimeout = orDefault(o.DialTimeout, DefaultDialTimeout)
	o.SendTimeout = orDefault(o.SendTimeout, DefaultSendTimeout)
	o.InventoryInterval = orDefault(o.InventoryInterval, DefaultInventoryInterval)
	o.TargetTimeout = orDefault(o.TargetTimeout, DefaultTargetTimeout)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Random == nil {
		o.Random = rand.Float64
	}
	if o.Log.GetSink() == nil {
		o.Log = ctrl.Log.WithName("rna")
	}
	if o.Registerer == nil {
		o.Registerer = metrics.Registry
	}
	o.TLS = tlsutil.AtLeastTLS12(o.TLS)
	if o.Credentials == nil {
		o.Credentials = verify.NewBearerCredentials(o.TokenSource)
	}
	return o, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
