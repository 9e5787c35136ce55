package hub

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
)

// agentStatusWriter keeps each tenant's Agent objects in step with the registry. Sessions only
// enqueue their agent; a bounded pool of workers writes, one write per agent at a time, always the
// latest record (so the writes of a connect storm, or of 10,000 heartbeats, queue up and coalesce
// instead of piling onto the API server). A tunnel opening or ending is written in full (read the
// Agent, create it if missing, patch its status with optimistic locking); a heartbeat alone is a
// small merge patch of lastHeartbeatAt without a read.
type agentStatusWriter struct {
	api      client.Client
	registry *registry
	replica  string
	queue    workqueue.TypedRateLimitingInterface[agentKey]
	metrics  *metrics
	log      logr.Logger
}

// newAgentStatusWriter returns a writer of the registry's records.
func newAgentStatusWriter(api client.Client, reg *registry, replica string, m *metrics, log logr.Logger) *agentStatusWriter {
	return &agentStatusWriter{
		api: api, registry: reg, replica: replica, metrics: m, log: log,
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.NewTypedItemExponentialFailureRateLimiter[agentKey](100*time.Millisecond, 30*time.Second)),
	}
}

// enqueue asks for key's Agent to be written.
func (w *agentStatusWriter) enqueue(key agentKey) { w.queue.Add(key) }

// enqueueAfter asks for key's Agent to be written after delay.
func (w *agentStatusWriter) enqueueAfter(key agentKey, delay time.Duration) {
	if delay <= 0 {
		w.queue.Add(key)
		return
	}
	w.queue.AddAfter(key, delay)
}

// run writes with workers until stop closes; it then lets the writes in flight finish (each is
// bounded by agentWriteTimeout) and drops the rest, which flush takes over.
func (w *agentStatusWriter) run(stop <-chan struct{}, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for w.processNext() {
			}
		})
	}
	<-stop
	w.queue.ShutDownWithDrain()
	wg.Wait()
}

// agentWriteTimeout bounds one write of an Agent's status.
const agentWriteTimeout = 10 * time.Second

// processNext writes the next queued agent and reports whether the queue is still running.
func (w *agentStatusWriter) processNext() bool {
	key, shutdown := w.queue.Get()
	if shutdown {
		return false
	}
	defer w.queue.Done(key)
	ctx, cancel := context.WithTimeout(context.Background(), agentWriteTimeout)
	defer cancel()
	if err := w.write(ctx, key); err != nil {
		w.log.Error(err, "Writing the Agent's status failed; retrying", "namespace", key.namespace, "agent", key.agent)
		w.queue.AddRateLimited(key)
		return true
	}
	w.queue.Forget(key)
	return true
}

// flush writes every record not written yet (the tunnels that ended at shutdown), at most
// parallel at a time, until ctx ends.
func (w *agentStatusWriter) flush(ctx context.Context, parallel int) {
	keys := w.registry.pending()
	work := make(chan agentKey)
	var wg sync.WaitGroup
	for range min(parallel, len(keys)) {
		wg.Go(func() {
			for key := range work {
				if err := w.write(ctx, key); err != nil && ctx.Err() == nil {
					w.log.Error(err, "Writing the Agent's status at shutdown failed", "namespace", key.namespace, "agent", key.agent)
				}
			}
		})
	}
	for _, key := range keys {
		select {
		case work <- key:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
}

// write brings key's Agent in step with its record.
func (w *agentStatusWriter) write(ctx context.Context, key agentKey) error {
	rec, written, ok := w.registry.snapshot(key)
	if !ok {
		return nil
	}
	switch planAgentWrite(rec, written) {
	case writeHeartbeat:
		err := w.writeHeartbeat(ctx, key, rec)
		if !apierrors.IsNotFound(err) {
			w.metrics.agentWrite("heartbeat", err)
			if err == nil {
				w.registry.markWritten(key, rec)
			}
			return err
		}
		fallthrough // The Agent was deleted while connected: register it again.
	case writeConnection:
		err := w.writeConnection(ctx, key, rec)
		w.metrics.agentWrite("connection", err)
		if err == nil {
			w.registry.markWritten(key, rec)
		}
		return err
	}
	return nil
}

// writeHeartbeat patches the Agent's lastHeartbeatAt alone.
func (w *agentStatusWriter) writeHeartbeat(ctx context.Context, key agentKey, rec connectionRecord) error {
	patch := fmt.Appendf(nil, `{"status":{"lastHeartbeatAt":%q}}`, apiTime(rec.LastHeartbeatAt).Format(time.RFC3339))
	agent := &deployv1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: key.namespace, Name: key.agent}}
	if err := w.api.Status().Patch(ctx, agent, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("patching the heartbeat of Agent %s: %w", key, err)
	}
	return nil
}

// writeConnection writes the whole connection status of the Agent, creating the Agent when the
// tunnel is open and it does not exist.
func (w *agentStatusWriter) writeConnection(ctx context.Context, key agentKey, rec connectionRecord) error {
	agent := &deployv1alpha1.Agent{}
	err := w.api.Get(ctx, client.ObjectKey{Namespace: key.namespace, Name: key.agent}, agent)
	switch {
	case apierrors.IsNotFound(err) && !rec.Connected:
		return nil // Nothing to mark disconnected.
	case apierrors.IsNotFound(err):
		agent = &deployv1alpha1.Agent{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.namespace, Name: key.agent},
			Spec:       deployv1alpha1.AgentSpec{AgentIdentifier: key.agent},
		}
		if err := w.api.Create(ctx, agent); err != nil {
			return fmt.Errorf("registering Agent %s: %w", key, err)
		}
		w.log.Info("Registered a new agent", "namespace", key.namespace, "agent", key.agent)
	case err != nil:
		return fmt.Errorf("reading Agent %s: %w", key, err)
	}
	before := agent.DeepCopy()
	if !applyConnection(agent, rec, w.replica) {
		return nil
	}
	if err := w.api.Status().Patch(ctx, agent, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("writing the status of Agent %s: %w", key, err)
	}
	return nil
}
