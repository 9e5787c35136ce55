// Package tenant reconciles Tenants: each gets its own namespace in the cloud cluster, labelled with
// the tenant, and the RBAC the control plane components need there. Deleting a Tenant deletes its
// namespace through a finalizer.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
)

const (
	// Finalizer deletes the tenant's namespace before the Tenant goes.
	Finalizer = "iam.aurora.dev/tenant-namespace"
	// fieldOwner is the server-side apply field manager of this controller.
	fieldOwner = client.FieldOwner("aurora-tenant-controller")
	// deletionPoll is how often a deletion checks that the namespace is gone.
	deletionPoll = 2 * time.Second
)

// Reconciler reconciles Tenants.
type Reconciler struct {
	client.Client
	// Components are the ServiceAccounts of the Hub and the REST API, bound in every tenant namespace.
	Components []ServiceAccountRef
}

// SetupWithManager registers the reconciler; it watches Tenants and their namespaces.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&iamv1alpha1.Tenant{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(tenantOfNamespace)).
		Named("tenant").
		Complete(r)
}

// tenantOfNamespace maps a tenant namespace to its Tenant.
func tenantOfNamespace(_ context.Context, obj client.Object) []reconcile.Request {
	name, ok := obj.GetLabels()[iamv1alpha1.TenantLabel]
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
}

// Reconcile brings a Tenant's namespace and RBAC to the desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	tenant := &iamv1alpha1.Tenant{}
	if err := r.Get(ctx, req.NamespacedName, tenant); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !tenant.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, tenant)
	}
	if controllerutil.AddFinalizer(tenant, Finalizer) {
		if err := r.Update(ctx, tenant); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer: %w", err)
		}
	}

	before := tenant.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, tenant.Status) {
			return // nothing changed: no write
		}
		if err := r.Status().Patch(ctx, tenant, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
			retErr = errors.Join(retErr, fmt.Errorf("patching the status: %w", err))
		}
	}()

	nsName := iamv1alpha1.NamespaceName(tenant.Spec.Organization, tenant.Spec.Environment)
	existing := &corev1.Namespace{}
	switch err := r.Get(ctx, types.NamespacedName{Name: nsName}, existing); {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		meta.MarkNotReady(tenant, meta.ProgressingWithRetryReason, "reading the namespace failed")
		return ctrl.Result{}, fmt.Errorf("reading namespace %s: %w", nsName, err)
	}
	if err := checkNamespaceOwner(existing, tenant); err != nil {
		meta.MarkStalled(tenant, iamv1alpha1.NamespaceConflictReason, err.Error())
		tenant.Status.ObservedGeneration = tenant.Generation
		log.Info("Tenant namespace belongs to something else", "namespace", nsName)
		return ctrl.Result{}, nil
	}
	if existing != nil && !existing.DeletionTimestamp.IsZero() {
		meta.MarkReconciling(tenant, meta.ProgressingReason, fmt.Sprintf("waiting for namespace %s to finish terminating", nsName))
		return ctrl.Result{RequeueAfter: deletionPoll}, nil
	}

	if err := r.apply(ctx, tenant); err != nil {
		meta.MarkNotReady(tenant, meta.ProgressingWithRetryReason, err.Error())
		return ctrl.Result{}, err
	}
	tenant.Status.Namespace = nsName
	tenant.Status.ObservedGeneration = tenant.Generation
	meta.MarkReady(tenant, meta.SucceededReason, fmt.Sprintf("namespace %s is ready", nsName))
	return ctrl.Result{}, nil
}

// apply creates or updates the namespace, Role and RoleBinding with server-side apply.
func (r *Reconciler) apply(ctx context.Context, tenant *iamv1alpha1.Tenant) error {
	if err := r.Client.Apply(ctx, desiredNamespace(tenant), fieldOwner, client.ForceOwnership); err != nil {
		return fmt.Errorf("applying the namespace: %w", err)
	}
	if err := r.Client.Apply(ctx, desiredRole(tenant), fieldOwner, client.ForceOwnership); err != nil {
		return fmt.Errorf("applying the components Role: %w", err)
	}
	if rb := desiredRoleBinding(tenant, r.Components); rb != nil {
		if err := r.Client.Apply(ctx, rb, fieldOwner, client.ForceOwnership); err != nil {
			return fmt.Errorf("applying the components RoleBinding: %w", err)
		}
	}
	return nil
}

// reconcileDelete deletes the tenant's namespace and removes the finalizer once it is gone.
func (r *Reconciler) reconcileDelete(ctx context.Context, tenant *iamv1alpha1.Tenant) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(tenant, Finalizer) {
		return ctrl.Result{}, nil
	}
	nsName := iamv1alpha1.NamespaceName(tenant.Spec.Organization, tenant.Spec.Environment)
	ns := &corev1.Namespace{}
	err := r.Get(ctx, types.NamespacedName{Name: nsName}, ns)
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("reading namespace %s: %w", nsName, err)
	case err == nil && checkNamespaceOwner(ns, tenant) == nil:
		if ns.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("deleting namespace %s: %w", nsName, err)
			}
			ctrl.LoggerFrom(ctx).Info("Deleting tenant namespace", "namespace", nsName)
		}
		return ctrl.Result{RequeueAfter: deletionPoll}, nil
	}
	// The namespace is gone, or was never the tenant's: nothing of the tenant is left.
	controllerutil.RemoveFinalizer(tenant, Finalizer)
	if err := r.Update(ctx, tenant); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("removing the finalizer: %w", err)
	}
	return ctrl.Result{}, nil
}
