package executor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// Defaults of a Reconciler.
const (
	// DefaultResyncInterval is how often a running Rollout is looked at when nothing changes.
	DefaultResyncInterval = time.Minute
	// DefaultMaxConcurrentReconciles is how many Rollouts run their passes at once.
	DefaultMaxConcurrentReconciles = 4
	// requeueMargin is added to timed requeues so that the deadline has passed when they fire.
	requeueMargin = 50 * time.Millisecond
	// deletionPoll is how often a finalizing execution checks that a replaced Deployment is gone.
	deletionPoll = 250 * time.Millisecond
)

// Reconciler executes the mirrored Rollouts of the cluster it runs in: one managed ReplicaSet per
// version of each apps/v1 Deployment of the manifests, canary steps as pod ratios, pauses,
// decisions and rollbacks (see the package doc and docs/rollout-executor.md).
type Reconciler struct {
	// Client reads (from the cache) and writes workloads, and writes Rollout statuses.
	Client client.Client
	// APIReader reads Rollouts and new versions uncached, so that each pass starts from the status
	// and the execution state the last one wrote. Default: the manager's API reader
	// (SetupWithManager), else Client.
	APIReader client.Reader
	// Recorder, when set, records events on Rollouts.
	Recorder events.EventRecorder
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// ResyncInterval is how often a running Rollout is looked at when nothing changes. Default:
	// DefaultResyncInterval.
	ResyncInterval time.Duration
	// MaxConcurrentReconciles is how many Rollouts run their passes at once. Default:
	// DefaultMaxConcurrentReconciles.
	MaxConcurrentReconciles int
	// Previews signs the links of exposeServices steps (the agent, through the Hub). Without it the
	// previews are listed without URL.
	Previews PreviewLinker
	// ConfigNamespace holds the tenant's secret store (Secret aurora-secrets) and metric providers
	// (ConfigMap aurora-metric-providers): the agent's own namespace. Default: each Rollout's
	// namespace.
	ConfigNamespace string
	// HTTPClient makes metric queries and webhook calls. Default: TLS 1.2 or newer, 30s timeout.
	HTTPClient *http.Client
}

// SetupWithManager registers the executor with mgr: it watches mirrored Rollouts (their creation
// and each new generation) and the ReplicaSets and Deployments it touched (RolloutAnnotation).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	concurrency := r.MaxConcurrentReconciles
	if concurrency <= 0 {
		concurrency = DefaultMaxConcurrentReconciles
	}
	mirrored := predicate.NewPredicateFuncs(func(o client.Object) bool {
		_, ok := o.GetLabels()[rolloutv1alpha1.MirroredLabel]
		return ok
	})
	touched := predicate.NewPredicateFuncs(func(o client.Object) bool {
		_, ok := o.GetAnnotations()[RolloutAnnotation]
		return ok
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&rolloutv1alpha1.Rollout{}, builder.WithPredicates(mirrored, predicate.GenerationChangedPredicate{})).
		Watches(&appsv1.ReplicaSet{}, handler.EnqueueRequestsFromMapFunc(rolloutOfWorkload), builder.WithPredicates(touched)).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(rolloutOfWorkload), builder.WithPredicates(touched)).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("rollout-executor").
		Complete(r)
}

// rolloutOfWorkload maps a workload to the Rollout its RolloutAnnotation names.
func rolloutOfWorkload(_ context.Context, o client.Object) []reconcile.Request {
	ns, name, ok := strings.Cut(o.GetAnnotations()[RolloutAnnotation], "/")
	if !ok || ns == "" || name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func (r *Reconciler) resync() time.Duration {
	if r.ResyncInterval > 0 {
		return r.ResyncInterval
	}
	return DefaultResyncInterval
}

// Reconcile runs one pass of a mirrored Rollout's execution and patches its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	rollout := &rolloutv1alpha1.Rollout{}
	if err := r.reader().Get(ctx, req.NamespacedName, rollout); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if _, ok := rollout.Labels[rolloutv1alpha1.MirroredLabel]; !ok || !rollout.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := rollout.DeepCopy()
	defer func() {
		rollout.Status.ObservedGeneration = rollout.Generation
		if equality.Semantic.DeepEqual(before.Status, rollout.Status) {
			return
		}
		if err := r.Client.Status().Patch(ctx, rollout, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
			retErr = errors.Join(retErr, fmt.Errorf("patching the status of rollout %s: %w", req, err))
		}
	}()
	if rollout.Status.Phase.IsFinal() {
		// Final is final: a finished Rollout is never run again; decisions or changes that arrive
		// later have nothing to act on.
		return ctrl.Result{}, nil
	}
	x := newExecution(r, rollout)
	ctx = ctrl.LoggerInto(ctx, x.log)
	return x.run(ctx)
}

// event records an event on the Rollout when a Recorder is set.
func (r *Reconciler) event(rollout *rolloutv1alpha1.Rollout, eventType, reason, action, note string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(rollout, nil, eventType, reason, action, "%s", note)
	}
}
