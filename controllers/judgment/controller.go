// Package judgment reconciles Judgments: a person's or a machine's decision (approve, reject, skip,
// rollback, cancel) on a Deployment.
//
// # Who applies a Judgment
//
// This controller decides, once, whether a Judgment is accepted; the Deployment controller is the
// one place that carries accepted Judgments out. The rule:
//
//  1. This controller reads the Judgment, its Deployment and the Deployment's Rollouts and accepted
//     Judgments straight from the API server (not the cache), and judges the Judgment against what
//     the Deployment waits for now (Decide).
//  2. Accepted: it makes the Deployment an owner of the Judgment (so the Judgment binds to that
//     Deployment's uid and goes with it), then writes, with optimistic locking, Ready=True reason
//     Applied, status.appliedAt and status.appliedTo: the targets and gates the decision acts on.
//     That status write is the commit point. Refused: Stalled with reason NotApplicable or
//     Forbidden. Either way the Judgment is final: it is never judged again (its spec cannot
//     change), so a restart cannot accept it twice or bind it elsewhere.
//  3. The Deployment controller reads accepted Judgments (deployment.Accepted) and acts on their
//     bindings: a constraint gate's outcome is derived from them on every reconcile; any other
//     decision is appended to the target's Rollout's spec.decisions under the Judgment's name, a
//     list keyed by name, so it reaches the Rollout exactly once.
//
// An Event on the Deployment (reason JudgmentApplied, related object the Judgment) records each
// accepted Judgment; the Judgment's own status is the durable record.
//
// # The author's roles
//
// A pause with requiresRoles may be approved or rejected only by an author who holds one of the
// roles, or by an organization or tenant admin. The Judgment's spec does not carry the author's
// roles, so for now they come from annotations: deploy.aurora.dev/author-roles (comma-separated)
// and deploy.aurora.dev/author-admin: "true". The REST API sets both from the caller's token.
// Whoever may create Judgments with kubectl in the tenant namespace may set them too: the tenant's
// RBAC on judgments is what trusts them, and such users count as tenant admins only when they set
// deploy.aurora.dev/author-admin: "true".
package judgment

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

// Reasons of the Events this controller records.
const (
	// EventJudgmentApplied, on the Deployment, records an accepted Judgment.
	EventJudgmentApplied = "JudgmentApplied"
	// EventJudgmentRefused, on the Judgment, records a refused one; the Judgment's Ready reason
	// (NotApplicable, Forbidden) says why.
	EventJudgmentRefused = "JudgmentRefused"
)

// Reconciler reconciles Judgments.
type Reconciler struct {
	client.Client
	// APIReader reads past the cache, so a Judgment is judged against the Deployment's and the
	// Rollouts' current state and never accepted twice. The manager's GetAPIReader.
	APIReader client.Reader
	// Recorder records Events (events.k8s.io); nil records none. The manager's
	// GetEventRecorder("aurora-judgment-controller").
	Recorder events.EventRecorder
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// SetupWithManager registers the reconciler; it watches Judgments.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&deployv1alpha1.Judgment{}).
		Named("judgment").
		Complete(r)
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

// Reconcile judges a Judgment once and records the verdict.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	j := &deployv1alpha1.Judgment{}
	if err := r.reader().Get(ctx, req.NamespacedName, j); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if decided(j) || !j.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	var (
		before = j.DeepCopy()
		in     Inputs
		v      Verdict
	)
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, j.Status) {
			return
		}
		// Optimistic locking: two reconciles (or two replicas) never both commit a verdict.
		if err := r.Status().Patch(ctx, j, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			if !apierrors.IsNotFound(err) {
				retErr = errors.Join(retErr, fmt.Errorf("patching the status of Judgment %s: %w", j.Name, err))
			}
			return
		}
		if retErr == nil {
			r.recordVerdict(ctx, j, in.Deployment, v)
		}
	}()

	in, err := r.inputs(ctx, j)
	if err != nil {
		meta.MarkNotReady(j, meta.ProgressingWithRetryReason, err.Error())
		return ctrl.Result{}, err
	}
	now := r.now()
	in.Now = now
	v = Decide(j, in)
	if v.Accepted() {
		if err := r.adopt(ctx, j, in.Deployment); err != nil {
			meta.MarkNotReady(j, meta.ProgressingWithRetryReason, err.Error())
			return ctrl.Result{}, err
		}
		before = j.DeepCopy() // the owner reference changed the resourceVersion
		j.Status.AppliedAt = &metav1.Time{Time: now}
		j.Status.AppliedTo = v.AppliedTo
		meta.MarkReady(j, deployv1alpha1.ReasonApplied, v.Message)
	} else {
		meta.MarkStalled(j, v.Reason, v.Message)
	}
	j.Status.ObservedGeneration = j.Generation
	return ctrl.Result{}, nil
}

// recordVerdict logs a committed verdict and records its Event: on the Deployment for an accepted
// Judgment, on the Judgment for a refused one.
func (r *Reconciler) recordVerdict(ctx context.Context, j *deployv1alpha1.Judgment, d *deployv1alpha1.Deployment, v Verdict) {
	log := ctrl.LoggerFrom(ctx)
	if !v.Accepted() {
		log.Info("Refused a Judgment", "deployment", j.Spec.DeploymentName, "decision", j.Spec.Decision, "reason", v.Reason, "message", v.Message)
		r.event(j, nil, corev1.EventTypeWarning, EventJudgmentRefused, v.Reason+": "+v.Message)
		return
	}
	log.Info("Accepted a Judgment", "deployment", j.Spec.DeploymentName, "decision", j.Spec.Decision, "appliedTo", v.AppliedTo, "author", j.Spec.Author)
	note := fmt.Sprintf("%s by %s on %s", j.Spec.Decision, orDefault(j.Spec.Author, "an unnamed author"), strings.Join(v.AppliedTo, ", "))
	if j.Spec.Reason != "" {
		note += ": " + j.Spec.Reason
	}
	r.event(d, j, corev1.EventTypeNormal, EventJudgmentApplied, note)
}

// inputs reads what Decide needs, fresh from the API server.
func (r *Reconciler) inputs(ctx context.Context, j *deployv1alpha1.Judgment) (Inputs, error) {
	d := &deployv1alpha1.Deployment{}
	err := r.reader().Get(ctx, client.ObjectKey{Namespace: j.Namespace, Name: j.Spec.DeploymentName}, d)
	if apierrors.IsNotFound(err) {
		return Inputs{}, nil
	}
	if err != nil {
		return Inputs{}, fmt.Errorf("reading Deployment %s: %w", j.Spec.DeploymentName, err)
	}
	in := Inputs{Deployment: d}
	rollouts := &rolloutv1alpha1.RolloutList{}
	if err := r.reader().List(ctx, rollouts, client.InNamespace(d.Namespace),
		client.MatchingLabels{rolloutv1alpha1.DeploymentLabel: deployment.LabelValue(d.Name)}); err != nil {
		return Inputs{}, fmt.Errorf("listing the Rollouts of deployment %s: %w", d.Name, err)
	}
	for _, ro := range rollouts.Items {
		if ref := metav1.GetControllerOf(&ro); ref != nil && ref.UID == d.UID {
			in.Rollouts = append(in.Rollouts, ro)
		}
	}
	judgments := &deployv1alpha1.JudgmentList{}
	if err := r.reader().List(ctx, judgments, client.InNamespace(d.Namespace)); err != nil {
		return Inputs{}, fmt.Errorf("listing the Judgments of namespace %s: %w", d.Namespace, err)
	}
	for _, other := range judgments.Items {
		if other.Name != j.Name && deployment.Accepted(&other, d) {
			in.Accepted = append(in.Accepted, other)
		}
	}
	return in, nil
}

// adopt makes the Deployment an owner of the Judgment, binding it to the Deployment's uid: a
// Deployment deleted and created again under the same name does not inherit its Judgments, and
// garbage collection removes them with it.
func (r *Reconciler) adopt(ctx context.Context, j *deployv1alpha1.Judgment, d *deployv1alpha1.Deployment) error {
	if slices.ContainsFunc(j.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == d.UID }) {
		return nil
	}
	base := j.DeepCopy()
	j.OwnerReferences = append(j.OwnerReferences, metav1.OwnerReference{
		APIVersion: deployv1alpha1.GroupVersion.String(), Kind: "Deployment", Name: d.Name, UID: d.UID,
		BlockOwnerDeletion: ptr.To(false),
	})
	if err := r.Patch(ctx, j, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("making Deployment %s the owner of Judgment %s: %w", d.Name, j.Name, err)
	}
	return nil
}

func (r *Reconciler) event(regarding client.Object, related runtime.Object, kind, reason, note string) {
	if r.Recorder == nil || regarding == nil || reflect.ValueOf(regarding).IsNil() {
		return
	}
	r.Recorder.Eventf(regarding, related, kind, reason, "Judge", "%s", note)
}

// decided reports whether a Judgment already has its verdict: accepted (Ready=True) or refused
// (Stalled=True).
func decided(j *deployv1alpha1.Judgment) bool {
	return apimeta.IsStatusConditionTrue(j.Status.Conditions, meta.ReadyCondition) ||
		apimeta.IsStatusConditionTrue(j.Status.Conditions, meta.StalledCondition)
}
