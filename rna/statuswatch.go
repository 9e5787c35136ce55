package rna

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// statusWatch keeps an informer on the mirrored Rollouts of the target cluster (those labelled
// MirroredLabel) and marks a Rollout's status due whenever what the agent would report for it
// changes (statusReportChanged). Due statuses outlive a stream: what changes while the tunnel is
// down is sent once it is back.
type statusWatch struct {
	cache cache.Cache
	due   *dueStatuses
	// done receives the informers' end (nil when ctx ended) and is then closed.
	done chan error
}

// startStatusWatch starts the informer of mirrored Rollouts and waits until it has listed them. The
// informer runs until ctx ends; wait for watch.done then. It fails when the target cluster cannot
// be watched, for instance when it lacks the Rollout CRD.
func startStatusWatch(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, due *dueStatuses) (*statusWatch, error) {
	mirrored, err := labels.NewRequirement(rolloutv1alpha1.MirroredLabel, selection.Exists, nil)
	if err != nil {
		return nil, fmt.Errorf("selecting mirrored rollouts: %w", err)
	}
	c, err := cache.New(cfg, cache.Options{
		Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{
			&rolloutv1alpha1.Rollout{}: {Label: labels.NewSelector().Add(*mirrored)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("watching rollouts in the target cluster (is the Rollout CRD installed?): %w", err)
	}
	w := &statusWatch{cache: c, due: due, done: make(chan error, 1)}
	informer, err := c.GetInformer(ctx, &rolloutv1alpha1.Rollout{})
	if err != nil {
		return nil, fmt.Errorf("watching rollouts in the target cluster (is the Rollout CRD installed?): %w", err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: w.added, UpdateFunc: w.updated}); err != nil {
		return nil, fmt.Errorf("watching rollouts in the target cluster: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		err := c.Start(ctx)
		cancel()
		w.done <- err
	}()
	synced := make(chan bool, 1)
	go func() { synced <- c.WaitForCacheSync(ctx) }()
	if !<-synced {
		cancel()
		err := <-w.done
		return nil, fmt.Errorf("listing the mirrored rollouts of the target cluster: %w", errors.Join(err, context.Cause(ctx)))
	}
	return w, nil
}

// added marks the status of a new mirrored Rollout due.
func (w *statusWatch) added(obj any) {
	if r, ok := obj.(*rolloutv1alpha1.Rollout); ok && isMirrored(r) {
		w.due.mark(client.ObjectKeyFromObject(r))
	}
}

// updated marks the status of a mirrored Rollout due when its report changed.
func (w *statusWatch) updated(oldObj, newObj any) {
	old, okOld := oldObj.(*rolloutv1alpha1.Rollout)
	updated, okNew := newObj.(*rolloutv1alpha1.Rollout)
	if okOld && okNew && isMirrored(updated) && statusReportChanged(old, updated) {
		w.due.mark(client.ObjectKeyFromObject(updated))
	}
}

// markAllDue marks the status of every mirrored Rollout due, as after a reconnect.
func (w *statusWatch) markAllDue(ctx context.Context) {
	var list rolloutv1alpha1.RolloutList
	if err := w.cache.List(ctx, &list); err != nil {
		return // only when ctx ended: the cache is synced before any stream starts
	}
	for i := range list.Items {
		if isMirrored(&list.Items[i]) {
			w.due.mark(client.ObjectKeyFromObject(&list.Items[i]))
		}
	}
}

// markDueByUID makes the status of the mirrored Rollout of cloud uid due again, if it is still held.
func (w *statusWatch) markDueByUID(ctx context.Context, uid string) {
	var list rolloutv1alpha1.RolloutList
	if err := w.cache.List(ctx, &list); err != nil {
		return
	}
	for i := range list.Items {
		if isMirrored(&list.Items[i]) && list.Items[i].Annotations[rolloutv1alpha1.CloudUIDAnnotation] == uid {
			w.due.mark(client.ObjectKeyFromObject(&list.Items[i]))
		}
	}
}

// get returns the cached mirrored Rollout at key; false when it is gone or not mirrored.
func (w *statusWatch) get(ctx context.Context, key types.NamespacedName) (*rolloutv1alpha1.Rollout, bool) {
	var r rolloutv1alpha1.Rollout
	if err := w.cache.Get(ctx, key, &r); err != nil {
		return nil, false
	}
	return &r, isMirrored(&r)
}
