package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/internal/scheme"
)

// agentIndex indexes the cached Rollouts by the agent they are labelled for (per namespace).
const agentIndex = "hub.aurora.dev/agent"

// userAgent identifies the Hub to the cloud API server.
const userAgent = "aurora-hub"

// cacheSyncTimeout bounds the first sync of the Rollout cache.
const cacheSyncTimeout = 2 * time.Minute

// Server is the Agent Hub of one replica: the gRPC server agents dial, their sessions, the shared
// cache of Rollouts it mirrors, and the writers of Agent and Rollout status. Create it with New and
// run it with Serve.
type Server struct {
	opts        Options
	log         logr.Logger
	grpc        *grpc.Server
	health      *health.Server
	cache       cache.Cache
	registry    *registry
	agents      *agentStatusWriter
	rollouts    *rolloutWriter
	inventories *inventoryCache
	metrics     *metrics
	started     atomic.Bool
	serving     atomic.Bool
}

// New checks opts and prepares a Hub: the cloud clients, the Rollout cache with its agent index
// and event handlers, the metrics and the gRPC server. It contacts nothing yet; Serve does.
func New(opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(opts.Cloud)
	if cfg.QPS == 0 {
		cfg.QPS = -1 // No client-side rate limit: the API server's priority and fairness protects it.
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = userAgent
	}
	s := scheme.New()
	api, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("creating the cloud cluster client: %w", err)
	}
	labelled, err := labels.NewRequirement(deployv1alpha1.AgentLabel, selection.Exists, nil)
	if err != nil {
		return nil, fmt.Errorf("building the agent label selector: %w", err)
	}
	rolloutCache, err := cache.New(cfg, cache.Options{
		Scheme:                      s,
		ReaderFailOnMissingInformer: true,
		DefaultTransform:            cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&rolloutv1alpha1.Rollout{}: {Label: labels.NewSelector().Add(*labelled)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the Rollout cache: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	log := ctrl.Log.WithName("hub").WithValues("replica", opts.Replica)
	reg := newRegistry()
	srv := &Server{
		opts: opts, log: log, health: health.NewServer(), cache: rolloutCache, registry: reg,
		agents:      newAgentStatusWriter(api, reg, opts.Replica, m, log.WithName("agents")),
		rollouts:    &rolloutWriter{cache: rolloutCache, api: api},
		inventories: newInventoryCache(), metrics: m,
	}
	if err := srv.watchRollouts(); err != nil {
		return nil, err
	}
	srv.grpc = grpc.NewServer(srv.serverOptions()...)
	tunnelv1.RegisterTunnelServer(srv.grpc, &tunnelService{hub: srv})
	tunnelv1.RegisterInventoryQueryServer(srv.grpc, &inventoryQueryService{hub: srv})
	healthgrpc.RegisterHealthServer(srv.grpc, srv.health)
	srv.setHealth(healthgrpc.HealthCheckResponse_NOT_SERVING)
	return srv, nil
}

// watchRollouts indexes the cached Rollouts by agent and marks every change for the sessions it
// concerns.
func (s *Server) watchRollouts() error {
	ctx := context.Background()
	err := s.cache.IndexField(ctx, &rolloutv1alpha1.Rollout{}, agentIndex, func(obj client.Object) []string {
		if agent := obj.GetLabels()[deployv1alpha1.AgentLabel]; agent != "" {
			return []string{agent}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("indexing Rollouts by agent: %w", err)
	}
	informer, err := s.cache.GetInformer(ctx, &rolloutv1alpha1.Rollout{})
	if err != nil {
		return fmt.Errorf("getting the Rollout informer: %w", err)
	}
	_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onRolloutChange(nil, asRollout(obj)) },
		UpdateFunc: func(old, updated any) { s.onRolloutChange(asRollout(old), asRollout(updated)) },
		DeleteFunc: func(obj any) { s.onRolloutChange(asRollout(obj), nil) },
	})
	if err != nil {
		return fmt.Errorf("watching Rollouts: %w", err)
	}
	return nil
}

// asRollout returns the Rollout of an informer event, unwrapping a deletion tombstone; nil for
// anything else.
func asRollout(obj any) *rolloutv1alpha1.Rollout {
	if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	r, _ := obj.(*rolloutv1alpha1.Rollout)
	return r
}

// onRolloutChange marks a changed Rollout for the live sessions it concerns.
func (s *Server) onRolloutChange(old, updated *rolloutv1alpha1.Rollout) {
	for _, m := range marksForChange(old, updated) {
		if sess := s.registry.session(m.key); sess != nil {
			sess.mark(m.uid, m.name)
		}
	}
}

// cloudRollout returns the cached Rollout name of key's namespace when it is labelled for key's
// agent, or nil.
func (s *Server) cloudRollout(ctx context.Context, key agentKey, name string) (*rolloutv1alpha1.Rollout, error) {
	if name == "" {
		return nil, nil
	}
	r := &rolloutv1alpha1.Rollout{}
	if err := s.cache.Get(ctx, client.ObjectKey{Namespace: key.namespace, Name: name}, r); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading Rollout %s/%s from the cache: %w", key.namespace, name, err)
	}
	if agentOf(r) != key.agent {
		return nil, nil
	}
	return r, nil
}

// Serve serves agents on l until ctx ends: it starts the Rollout cache and waits for it to sync,
// starts the Agent status writers, then serves gRPC. When ctx ends it drains gracefully: health
// turns NOT_SERVING, every session is sent Drain (with a random reconnect delay up to
// Options.MaxReconnectDelay) and closed, gRPC stops gracefully within Options.DrainTimeout (then
// forcibly), and the Agents of the ended tunnels are marked disconnected. Serve may be called once.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("hub: Serve may be called only once")
	}
	background := context.WithoutCancel(ctx)
	cacheCtx, stopCache := context.WithCancel(background)
	defer stopCache()
	cacheDone := make(chan error, 1)
	go func() { cacheDone <- s.cache.Start(cacheCtx) }()
	syncCtx, cancelSync := context.WithTimeout(ctx, cacheSyncTimeout)
	synced := s.cache.WaitForCacheSync(syncCtx)
	cancelSync()
	if !synced {
		_ = l.Close()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("hub: the Rollout cache did not sync within %s: may the Hub list and watch rollouts in all namespaces?", cacheSyncTimeout)
	}
	stopWriter, writerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(writerDone)
		s.agents.run(stopWriter, s.opts.AgentStatusWorkers)
	}()
	stopWriters := func() {
		close(stopWriter)
		<-writerDone
	}

	serveDone := make(chan error, 1)
	go func() { serveDone <- s.grpc.Serve(l) }()
	s.setHealth(healthgrpc.HealthCheckResponse_SERVING)
	s.serving.Store(true)
	s.log.Info("Serving the agent hub", "address", l.Addr().String(), "heartbeatInterval", s.opts.HeartbeatInterval.String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveDone:
		err = fmt.Errorf("hub: serving gRPC: %w", err)
	case err = <-cacheDone:
		err = fmt.Errorf("hub: the Rollout cache stopped: %w", err)
	}
	s.shutdown(stopWriters)
	return err
}

// shutdown drains the sessions and stops gRPC within the drain timeout, then writes the Agents
// whose tunnels ended.
func (s *Server) shutdown(stopWriters func()) {
	s.serving.Store(false)
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop() // Closes the listener at once, then waits for the streams to end.
		close(stopped)
	}()
	sessions := s.registry.close()
	s.log.Info("Draining the agent hub", "sessions", len(sessions))
	for _, sess := range sessions {
		sess.end(endShutdown(randomDuration(s.opts.MaxReconnectDelay)))
	}
	timer := time.NewTimer(s.opts.DrainTimeout)
	select {
	case <-stopped:
	case <-timer.C:
		s.log.Info("Streams still open after the drain timeout; closing them", "drainTimeout", s.opts.DrainTimeout.String())
		s.grpc.Stop()
		<-stopped
	}
	timer.Stop()
	stopWriters()
	flushCtx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	s.agents.flush(flushCtx, s.opts.AgentStatusWorkers)
	s.log.Info("Stopped the agent hub")
}

// setHealth sets the serving status of the server as a whole and of the Tunnel service.
func (s *Server) setHealth(status healthgrpc.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", status)
	s.health.SetServingStatus(tunnelv1.Tunnel_ServiceDesc.ServiceName, status)
}

// Ready returns nil while the Hub serves agents (its cache synced, not draining), for readiness
// probes.
func (s *Server) Ready() error {
	if !s.serving.Load() {
		return errors.New("the agent hub is not serving")
	}
	return nil
}

// ConnectedAgents describes the agents whose tunnel this replica holds, sorted by namespace and
// agent.
func (s *Server) ConnectedAgents() []ConnectedAgent { return s.registry.connected() }

// randomDuration returns a random duration in [0, limit); 0 when limit is not positive.
func randomDuration(limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	return rand.N(limit)
}
