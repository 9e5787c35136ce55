package hub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxLeaseConflicts bounds the optimistic-concurrency retries of one Lease write.
const maxLeaseConflicts = 5

// leases coordinates the replicas of the Hub through Kubernetes Leases (coordination.k8s.io/v1):
//
//   - each replica holds its own Lease (aurora-hub-<replica> in Options.LeaseNamespace), renewed
//     every third of Options.LeaseDuration, which advertises its peer address;
//   - the Lease of an agent (aurora-agent-<agent> in the tenant namespace) names the replica and
//     session holding its tunnel. A replica claims it when the agent connects; the holder is live
//     while its replica Lease is, so one write per replica and interval keeps every agent's Lease
//     valid, whatever the number of agents;
//   - a replica watches the agent Leases: when another replica (or another session) claims one of
//     its agents, it ends its own stream of that agent at once, so only one replica mirrors it;
//   - a replica that cannot renew its own Lease within the duration ends all its streams (its
//     agents go to other replicas) and refuses new ones until it renews.
type leases struct {
	api       client.Client
	cache     cache.Cache
	namespace string
	replica   string
	address   string
	duration  time.Duration
	now       func() time.Time
	log       logr.Logger

	mu        sync.Mutex
	renewedAt time.Time
}

// valid reports whether this replica renewed its Lease within the duration.
func (l *leases) valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.renewedAt.IsZero() && l.now().Sub(l.renewedAt) < l.duration
}

// renew creates or renews this replica's Lease.
func (l *leases) renew(ctx context.Context) error {
	now := l.now()
	key := client.ObjectKey{Namespace: l.namespace, Name: replicaLeaseName(l.replica)}
	seconds := int32(l.duration / time.Second)
	at := metav1.NewMicroTime(now)
	for attempt := 0; ; attempt++ {
		lease := &coordinationv1.Lease{}
		err := l.api.Get(ctx, key, lease)
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
				Labels: map[string]string{LeaseKindLabel: leaseKindReplica}}}
			lease.Annotations = map[string]string{LeaseAddressAnnotation: l.address}
			lease.Spec = coordinationv1.LeaseSpec{HolderIdentity: &l.replica, LeaseDurationSeconds: &seconds, AcquireTime: &at, RenewTime: &at}
			err = l.api.Create(ctx, lease)
		} else if err == nil {
			if lease.Labels == nil {
				lease.Labels = map[string]string{}
			}
			if lease.Annotations == nil {
				lease.Annotations = map[string]string{}
			}
			lease.Labels[LeaseKindLabel] = leaseKindReplica
			lease.Annotations[LeaseAddressAnnotation] = l.address
			lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &l.replica, &seconds, &at
			err = l.api.Update(ctx, lease)
		}
		switch {
		case err == nil:
			l.mu.Lock()
			l.renewedAt = now
			l.mu.Unlock()
			return nil
		case (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && attempt < maxLeaseConflicts:
			continue
		default:
			return fmt.Errorf("renewing the Lease %s: %w", key, err)
		}
	}
}

// runRenewals renews this replica's Lease every third of the duration until ctx ends, and calls
// lost when a renewal is overdue (the Lease may have expired meanwhile).
func (l *leases) runRenewals(ctx context.Context, lost func()) {
	ticker := time.NewTicker(l.duration / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		renewCtx, cancel := context.WithTimeout(ctx, l.duration/3)
		err := l.renew(renewCtx)
		cancel()
		if err != nil && ctx.Err() == nil {
			l.log.Error(err, "Renewing the replica's lease failed")
			if !l.valid() {
				lost()
			}
		}
	}
}

// claim makes the session the holder of its agent's Lease and returns the Lease's resourceVersion
// after the claim.
func (l *leases) claim(ctx context.Context, key agentKey, session string) (uint64, error) {
	name := client.ObjectKey{Namespace: key.namespace, Name: agentLeaseName(key.agent)}
	for attempt := 0; ; attempt++ {
		lease := &coordinationv1.Lease{}
		err := l.api.Get(ctx, name, lease)
		switch {
		case apierrors.IsNotFound(err):
			lease = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: name.Namespace, Name: name.Name,
				Labels: map[string]string{LeaseKindLabel: leaseKindAgent, LeaseAgentLabel: key.agent}}}
			claimAgentLease(lease, l.replica, session, l.duration, l.now())
			err = l.api.Create(ctx, lease)
		case err == nil:
			if !claimAgentLease(lease, l.replica, session, l.duration, l.now()) {
				return resourceVersion(lease), nil
			}
			err = l.api.Update(ctx, lease)
		}
		switch {
		case err == nil:
			return resourceVersion(lease), nil
		case (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && attempt < maxLeaseConflicts:
			continue
		default:
			return 0, fmt.Errorf("claiming the Lease of agent %s: %w", key, err)
		}
	}
}

// resourceVersion returns an object's resourceVersion as a number (etcd's revision), 1 when it is
// not one: then any later event counts as newer.
func resourceVersion(lease *coordinationv1.Lease) uint64 {
	v, err := strconv.ParseUint(lease.ResourceVersion, 10, 64)
	if err != nil || v == 0 {
		return 1
	}
	return v
}

// errNoHolder means no live replica holds the agent's tunnel.
var errNoHolder = errors.New("no live hub replica holds the agent's tunnel")

// holder returns the replica holding key's tunnel and its peer address, from the cache; it fails
// with errNoHolder when the agent Lease is missing or its replica's Lease expired.
func (l *leases) holder(ctx context.Context, key agentKey) (replica, address string, err error) {
	agentLease := &coordinationv1.Lease{}
	if err := l.cache.Get(ctx, client.ObjectKey{Namespace: key.namespace, Name: agentLeaseName(key.agent)}, agentLease); err != nil {
		if apierrors.IsNotFound(err) {
			return "", "", errNoHolder
		}
		return "", "", fmt.Errorf("reading the Lease of agent %s: %w", key, err)
	}
	if agentLease.Spec.HolderIdentity == nil || *agentLease.Spec.HolderIdentity == "" {
		return "", "", errNoHolder
	}
	replica = *agentLease.Spec.HolderIdentity
	replicaLease := &coordinationv1.Lease{}
	if err := l.cache.Get(ctx, client.ObjectKey{Namespace: l.namespace, Name: replicaLeaseName(replica)}, replicaLease); err != nil {
		if apierrors.IsNotFound(err) {
			return replica, "", errNoHolder
		}
		return replica, "", fmt.Errorf("reading the Lease of hub replica %s: %w", replica, err)
	}
	if !leaseLive(replicaLease.Spec, l.now()) {
		return replica, "", errNoHolder
	}
	return replica, replicaLease.Annotations[LeaseAddressAnnotation], nil
}

// watchAgentLeases calls onChange with every agent Lease that is added or changes.
func (l *leases) watchAgentLeases(onChange func(*coordinationv1.Lease)) error {
	informer, err := l.cache.GetInformer(context.Background(), &coordinationv1.Lease{})
	if err != nil {
		return fmt.Errorf("getting the Lease informer: %w", err)
	}
	handle := func(obj any) {
		if lease, ok := obj.(*coordinationv1.Lease); ok && lease.Labels[LeaseKindLabel] == leaseKindAgent {
			onChange(lease)
		}
	}
	_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    handle,
		UpdateFunc: func(_, updated any) { handle(updated) },
	})
	if err != nil {
		return fmt.Errorf("watching Leases: %w", err)
	}
	return nil
}
