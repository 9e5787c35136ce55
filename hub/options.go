package hub

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/aurora-cd/aurora/auth/verify"
)

// Defaults of the Options left zero.
const (
	// DefaultHeartbeatInterval is how often each side of a tunnel sends Heartbeat.
	DefaultHeartbeatInterval = 10 * time.Second
	// DefaultSendQueueSize is how many Envelopes may wait in a session's send queue.
	DefaultSendQueueSize = 64
	// DefaultMaxMessageBytes is the largest Envelope the Hub sends or accepts: 4 MiB.
	DefaultMaxMessageBytes = 4 << 20
	// DefaultStatusWriteInterval is how often at most the Hub writes an Agent's lastHeartbeatAt.
	DefaultStatusWriteInterval = time.Minute
	// DefaultDisconnectGrace is how long the Hub waits after a tunnel ends before it marks the Agent
	// disconnected, so that an agent that reconnects at once (after a Drain, a token renewal, a
	// network blip) does not flap.
	DefaultDisconnectGrace = 5 * time.Second
	// DefaultHelloTimeout bounds the wait for an agent's Hello.
	DefaultHelloTimeout = 30 * time.Second
	// DefaultQueryTimeout bounds a Query whose context has no deadline.
	DefaultQueryTimeout = 30 * time.Second
	// DefaultDrainTimeout bounds a graceful shutdown: Drain, GracefulStop and the last Agent writes.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultAgentStatusWorkers is how many Agent status writes run at once.
	DefaultAgentStatusWorkers = 16
	// DefaultMaxReconnectDelay bounds the random reconnect delay a shutdown Drain asks agents for,
	// spreading their reconnections over the remaining replicas.
	DefaultMaxReconnectDelay = 5 * time.Second
	// DefaultReplacedReconnectDelay is the reconnect delay asked of a stream replaced by a newer
	// one of the same agent: two agent processes sharing one identity then take turns slowly
	// instead of replacing each other in a tight loop.
	DefaultReplacedReconnectDelay = 30 * time.Second
	// DefaultLeaseDuration is how long a replica's Lease, and with it the agent Leases it holds,
	// stays valid without renewal; renewals come every third of it.
	DefaultLeaseDuration = 15 * time.Second
	// DefaultPeerIdentity is the common name of the client certificate that identifies a Hub
	// replica to the others.
	DefaultPeerIdentity = "aurora-hub"
)

// MissedHeartbeats is how many heartbeat intervals of silence make a side drop the stream.
const MissedHeartbeats = 3

// Options configure a Server.
type Options struct {
	// Cloud is the cloud cluster's API server, where Agents and Rollouts live. Required. When its
	// QPS is zero, client-side rate limiting is disabled (as controller-runtime does), relying on
	// the API server's priority and fairness.
	Cloud *rest.Config
	// Verifier verifies the agents' bearer tokens. Required.
	Verifier *verify.Verifier
	// TLS serves the tunnel. Required, with MinVersion TLS 1.2 or newer and a certificate
	// (Certificates or GetCertificate).
	TLS *tls.Config
	// Replica names this Hub replica in Welcome, in Agent status and in logs. Default: the host name.
	Replica string
	// HeartbeatInterval is how often each side sends Heartbeat; a side that hears nothing for
	// MissedHeartbeats intervals drops the stream. Default DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// SendQueueSize bounds a session's queue of Envelopes waiting to be sent. Default
	// DefaultSendQueueSize.
	SendQueueSize int
	// SendTimeout is how long the send queue may stay full, and how long one send may block, before
	// the session is dropped. Default: two heartbeat intervals.
	SendTimeout time.Duration
	// MaxMessageBytes is the largest Envelope the Hub sends or accepts, announced in Welcome.
	// Default DefaultMaxMessageBytes.
	MaxMessageBytes int
	// StatusWriteInterval is how often at most an Agent's lastHeartbeatAt is written while it stays
	// connected. Default DefaultStatusWriteInterval.
	StatusWriteInterval time.Duration
	// DisconnectGrace delays marking an Agent disconnected after its tunnel ends. Default
	// DefaultDisconnectGrace; a negative value means no delay.
	DisconnectGrace time.Duration
	// HelloTimeout bounds the wait for the first message. Default DefaultHelloTimeout.
	HelloTimeout time.Duration
	// QueryTimeout bounds a Query whose context has no deadline. Default DefaultQueryTimeout.
	QueryTimeout time.Duration
	// DrainTimeout bounds a graceful shutdown. Default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// MaxReconnectDelay bounds the random reconnect delay of a shutdown Drain. Default
	// DefaultMaxReconnectDelay; a negative value means none.
	MaxReconnectDelay time.Duration
	// AgentStatusWorkers is how many Agent status writes run at once. Default
	// DefaultAgentStatusWorkers.
	AgentStatusWorkers int
	// ReadBufferSize, when positive, sets gRPC's per-connection read buffer; -1 sets it to zero,
	// which saves about 16 KiB per idle agent over TLS (the TLS connection buffers records already)
	// at some cost in tail latency near saturation. Zero keeps gRPC's default (32 KiB).
	ReadBufferSize int
	// LeaseNamespace, when set, makes the replica coordinate with the other replicas through
	// Leases: its own Lease lives there, and each agent's Lease in the agent's tenant namespace
	// (see leases). Empty: a single replica, no Leases.
	LeaseNamespace string
	// LeaseDuration is how long the replica's Lease stays valid without renewal. Default
	// DefaultLeaseDuration; at least 3 s.
	LeaseDuration time.Duration
	// AdvertiseAddress is the host:port at which the other replicas reach this one's HTTPS
	// endpoint (ServeHTTPS), published in its Lease. Empty: requests for agents held elsewhere are
	// not forwarded.
	AdvertiseAddress string
	// PeerTLS is the client TLS configuration of calls to other replicas: it trusts their serving
	// certificates and presents this replica's client certificate, its service identity.
	PeerTLS *tls.Config
	// PeerClientCAs verify the client certificates of other replicas on ServeHTTPS; a peer must
	// present one with common name PeerIdentity.
	PeerClientCAs *x509.CertPool
	// PeerIdentity is the common name a peer's client certificate must carry. Default
	// DefaultPeerIdentity.
	PeerIdentity string
	// PreviewKey signs preview links (HMAC-SHA256), at least MinPreviewKeyBytes; every replica
	// needs the same key. Empty: preview links are disabled.
	PreviewKey []byte
	// PreviewBaseURL is the https URL under which ServeHTTPS is reached from outside, such as
	// https://preview.aurora.example; links are <PreviewBaseURL>/preview/<token>/. Required with
	// PreviewKey.
	PreviewBaseURL string
	// Registerer receives the Hub's metrics. Default: controller-runtime's metrics registry.
	Registerer prometheus.Registerer
	// Now is the clock of the timestamps the Hub writes and of its liveness checks (heartbeat
	// tickers run on real time). Default time.Now.
	Now func() time.Time
}

// withDefaults validates opts and returns a copy with every zero field defaulted.
func (opts Options) withDefaults() (Options, error) {
	if opts.Cloud == nil {
		return opts, errors.New("hub options: Cloud (the cloud cluster's REST config) is required")
	}
	if opts.Verifier == nil {
		return opts, errors.New("hub options: Verifier is required")
	}
	if opts.TLS == nil || opts.TLS.MinVersion < tls.VersionTLS12 {
		return opts, errors.New("hub options: a TLS configuration with MinVersion TLS 1.2 or newer is required")
	}
	if len(opts.TLS.Certificates) == 0 && opts.TLS.GetCertificate == nil && opts.TLS.GetConfigForClient == nil {
		return opts, errors.New("hub options: the TLS configuration has no certificate")
	}
	if opts.Replica == "" {
		host, err := os.Hostname()
		if err != nil {
			return opts, fmt.Errorf("hub options: no Replica given and the host name is unknown: %w", err)
		}
		opts.Replica = host
	}
	durations := []struct {
		name  string
		value *time.Duration
		def   time.Duration
	}{
		{"HeartbeatInterval", &opts.HeartbeatInterval, DefaultHeartbeatInterval},
		{"StatusWriteInterval", &opts.StatusWriteInterval, DefaultStatusWriteInterval},
		{"HelloTimeout", &opts.HelloTimeout, DefaultHelloTimeout},
		{"QueryTimeout", &opts.QueryTimeout, DefaultQueryTimeout},
		{"DrainTimeout", &opts.DrainTimeout, DefaultDrainTimeout},
	}
	for _, d := range durations {
		switch {
		case *d.value == 0:
			*d.value = d.def
		case *d.value < 0:
			return opts, fmt.Errorf("hub options: %s must be positive, not %s", d.name, *d.value)
		}
	}
	if opts.HeartbeatInterval < time.Millisecond || opts.HeartbeatInterval.Milliseconds() > math.MaxUint32 {
		return opts, fmt.Errorf("hub options: HeartbeatInterval %s is out of range", opts.HeartbeatInterval)
	}
	switch {
	case opts.SendTimeout == 0:
		opts.SendTimeout = 2 * opts.HeartbeatInterval
	case opts.SendTimeout < 0:
		return opts, fmt.Errorf("hub options: SendTimeout must be positive, not %s", opts.SendTimeout)
	}
	if opts.DisconnectGrace == 0 {
		opts.DisconnectGrace = DefaultDisconnectGrace
	}
	opts.DisconnectGrace = max(opts.DisconnectGrace, 0)
	if opts.MaxReconnectDelay == 0 {
		opts.MaxReconnectDelay = DefaultMaxReconnectDelay
	}
	opts.MaxReconnectDelay = max(opts.MaxReconnectDelay, 0)
	counts := []struct {
		name  string
		value *int
		def   int
	}{
		{"SendQueueSize", &opts.SendQueueSize, DefaultSendQueueSize},
		{"MaxMessageBytes", &opts.MaxMessageBytes, DefaultMaxMessageBytes},
		{"AgentStatusWorkers", &opts.AgentStatusWorkers, DefaultAgentStatusWorkers},
	}
	for _, c := range counts {
		switch {
		case *c.value == 0:
			*c.value = c.def
		case *c.value < 0:
			return opts, fmt.Errorf("hub options: %s must be positive, not %d", c.name, *c.value)
		}
	}
	if opts.MaxMessageBytes < 1024 || int64(opts.MaxMessageBytes) > math.MaxUint32 {
		return opts, fmt.Errorf("hub options: MaxMessageBytes %d is out of range [1024, 4294967295]", opts.MaxMessageBytes)
	}
	if opts.ReadBufferSize < -1 {
		return opts, fmt.Errorf("hub options: ReadBufferSize must be -1, 0 or positive, not %d", opts.ReadBufferSize)
	}
	if err := opts.coordinationDefaults(); err != nil {
		return opts, err
	}
	if opts.Registerer == nil {
		opts.Registerer = ctrlmetrics.Registry
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}

// coordinationDefaults checks and defaults the options of several replicas and of preview links.
func (opts *Options) coordinationDefaults() error {
	switch {
	case opts.LeaseDuration == 0:
		opts.LeaseDuration = DefaultLeaseDuration
	case opts.LeaseDuration < 3*time.Second:
		return fmt.Errorf("hub options: LeaseDuration must be at least 3s, not %s", opts.LeaseDuration)
	}
	if opts.PeerIdentity == "" {
		opts.PeerIdentity = DefaultPeerIdentity
	}
	if opts.AdvertiseAddress != "" && (opts.PeerTLS == nil || opts.PeerClientCAs == nil) {
		return errors.New("hub options: AdvertiseAddress needs PeerTLS (the client certificate of the replica) and PeerClientCAs")
	}
	if opts.PeerTLS != nil && opts.PeerTLS.MinVersion < tls.VersionTLS12 {
		return errors.New("hub options: PeerTLS must have MinVersion TLS 1.2 or newer")
	}
	if len(opts.PreviewKey) == 0 {
		return nil
	}
	if len(opts.PreviewKey) < MinPreviewKeyBytes {
		return fmt.Errorf("hub options: PreviewKey must be at least %d bytes, not %d", MinPreviewKeyBytes, len(opts.PreviewKey))
	}
	u, err := url.Parse(opts.PreviewBaseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("hub options: PreviewBaseURL must be an https URL without query, such as https://preview.aurora.example, not %q", opts.PreviewBaseURL)
	}
	opts.PreviewBaseURL = strings.TrimSuffix(opts.PreviewBaseURL, "/")
	return nil
}
