package rna

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/aurora-cd/aurora/internal/scheme"
)

// Agent is the Remote Network Agent: it keeps one tunnel to the Hub open (dialling out only),
// mirrors the Rollouts the Hub sends into the target cluster, streams their statuses back and
// reports the cluster's inventory. Create it with New and run it with Run, or add it to a
// controller-runtime manager, where it runs on the elected leader only.
type Agent struct {
	opts    Options
	log     logr.Logger
	metrics *agentMetrics
	target  *targetCluster
	scheme  *runtime.Scheme
	// due are the mirrored Rollouts whose status is due to be sent.
	due *dueStatuses
	// statuses watches the mirrored Rollouts of the target cluster; set by Run before any stream.
	statuses *statusWatch
	// running is set while Run runs; Run refuses to run twice at once.
	running atomic.Bool
	// connected is true between the Hub's Welcome and the end of that stream.
	connected atomic.Bool
	// current is the established session, nil between sessions.
	current atomic.Pointer[session]
	// attempts counts connection attempts, to take the Hub addresses in turn.
	attempts atomic.Uint64
}

// nextAddress returns the Hub address of the next connection attempt: HubAddress, then each of
// HubAddresses, in turn.
func (a *Agent) nextAddress() string {
	addresses := append([]string{a.opts.HubAddress}, a.opts.HubAddresses...)
	return addresses[(a.attempts.Add(1)-1)%uint64(len(addresses))]
}

// Compile-time checks that an Agent is a leader-only manager Runnable.
var (
	_ manager.Runnable               = (*Agent)(nil)
	_ manager.LeaderElectionRunnable = (*Agent)(nil)
)

// New returns an Agent configured by opts. It does not contact the Hub or the target cluster.
func New(opts Options) (*Agent, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := scheme.New()
	c, err := client.New(opts.Target, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("creating the target cluster's client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(opts.Target)
	if err != nil {
		return nil, fmt.Errorf("creating the target cluster's discovery client: %w", err)
	}
	m, err := newAgentMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Agent{
		opts:    opts,
		log:     opts.Log.WithValues("agent", opts.AgentIdentifier, "hub", opts.HubAddress),
		metrics: m,
		target:  &targetCluster{client: c, discovery: dc.RESTClient(), timeout: opts.TargetTimeout},
		scheme:  s,
		due:     newDueStatuses(),
	}, nil
}

// Connected reports whether the tunnel is connected: the Hub answered Welcome and the stream has
// not ended since.
func (a *Agent) Connected() bool { return a.connected.Load() }

// Start runs the agent until ctx ends; it is Run, for a controller-runtime manager.
func (a *Agent) Start(ctx context.Context) error { return a.Run(ctx) }

// NeedLeaderElection returns true: of several replicas, only the elected leader holds the tunnel.
func (a *Agent) NeedLeaderElection() bool { return true }

// Run watches the mirrored Rollouts of the target cluster and keeps a tunnel to the Hub open until
// ctx ends, reconnecting with capped exponential backoff and full jitter (see reconnectDelay). While
// the target cluster cannot be watched (unreachable, or without the Rollout CRD) it retries with the
// same backoff before it dials the Hub. It returns nil when ctx ends, or an error when the watch of
// the target cluster fails for good.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("the agent is already running")
	}
	defer a.running.Store(false)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	b := &backoff{initial: a.opts.InitialBackoff, max: a.opts.MaxBackoff, random: a.opts.Random}
	watch, err := a.startWatch(ctx, b)
	if err != nil || watch == nil {
		return err
	}
	defer func() { cancel(); <-watch.done }()
	a.statuses = watch
	a.log.Info("Watching mirrored rollouts; connecting to the hub")

	b.reset()
	for {
		outcome, err := a.connectOnce(ctx)
		if ctx.Err() != nil {
			a.log.Info("Agent stopped")
			return nil
		}
		reason := disconnectReason(outcome, err)
		delay := reconnectDelay(outcome, b, a.opts.BackoffResetAfter)
		a.logDisconnect(outcome, err, reason, delay)
		a.metrics.reconnects.WithLabelValues(reason).Inc()
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			a.log.Info("Agent stopped")
			return nil
		case err := <-watch.done:
			timer.Stop()
			return fmt.Errorf("the watch of mirrored rollouts ended: %w", err)
		case <-timer.C:
		}
	}
}

// startWatch starts the watch of mirrored Rollouts, retrying with backoff until it succeeds; it
// returns nil when ctx ends first.
func (a *Agent) startWatch(ctx context.Context, b *backoff) (*statusWatch, error) {
	for {
		watch, err := startStatusWatch(ctx, a.opts.Target, a.scheme, a.due)
		if err == nil {
			return watch, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		delay := b.next()
		a.log.Error(err, "Cannot watch the mirrored rollouts of the target cluster", "retryIn", delay.Round(time.Millisecond).String())
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil
		case <-timer.C:
		}
	}
}

// logDisconnect logs how an attempt ended and when the next one starts.
func (a *Agent) logDisconnect(outcome sessionOutcome, err error, reason string, delay time.Duration) {
	kv := []any{"reason", reason, "reconnectIn", delay.Round(time.Millisecond).String()}
	if outcome.established {
		kv = append(kv, "connectedFor", outcome.connectedFor.Round(time.Millisecond).String())
	}
	switch {
	case outcome.drain != nil:
		a.log.Info("The hub drained the tunnel", append(kv, "hubReason", outcome.drain.GetReason())...)
	case outcome.established:
		a.log.Error(err, "The tunnel to the hub ended", kv...)
	default:
		a.log.Error(err, "Could not connect to the hub", kv...)
	}
}

// setConnected records whether the tunnel is connected, in Connected and the connected gauge.
func (a *Agent) setConnected(connected bool) {
	a.connected.Store(connected)
	if connected {
		a.metrics.connected.Set(1)
	} else {
		a.metrics.connected.Set(0)
	}
}
