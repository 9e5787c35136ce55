// Package machinecredential reconciles MachineCredentials: it generates a client id and a
// high-entropy client secret, writes the secret once into a Secret owned by the credential, keeps
// only its hash in status, rotates it on request with a grace period for the old one, and marks an
// expired credential.
package machinecredential

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	"github.com/aurora-cd/aurora/internal/clientsecret"
)

// Reconciler reconciles MachineCredentials.
type Reconciler struct {
	client.Client
	// APIReader reads credentials past the cache, so that a reconcile never acts on a status older
	// than its own last write (which would issue a second secret). The manager's GetAPIReader.
	APIReader client.Reader
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// SetupWithManager registers the reconciler; it watches credentials and the Secrets they own.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&iamv1alpha1.MachineCredential{}).
		Owns(&corev1.Secret{}).
		Named("machinecredential").
		Complete(r)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile issues, rotates and expires a credential's client secret.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	mc := &iamv1alpha1.MachineCredential{}
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	if err := reader.Get(ctx, req.NamespacedName, mc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the owned Secret goes with it; the auth service stops at once
	}
	before := mc.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, mc.Status) {
			return // nothing changed: no write
		}
		if err := r.Status().Patch(ctx, mc, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
			retErr = errors.Join(retErr, fmt.Errorf("patching the status: %w", err))
		}
	}()

	if unknown := unknownScopes(mc.Spec.Scopes); len(unknown) > 0 {
		meta.MarkStalled(mc, meta.InvalidSpecReason, fmt.Sprintf("spec.scopes: unknown scopes %v; known: %v", unknown, iamv1alpha1.KnownScopes))
		mc.Status.ObservedGeneration = mc.Generation
		return ctrl.Result{}, nil
	}
	if mc.Status.ClientID == "" {
		id, err := clientsecret.NewClientID()
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("generating a client id: %w", err)
		}
		mc.Status.ClientID = id
	}

	now := r.now()
	plan := planSecrets(mc, now)
	if plan.issue && !plan.expired {
		hash, err := r.issueSecret(ctx, mc)
		if err != nil {
			meta.MarkNotReady(mc, meta.ProgressingWithRetryReason, err.Error())
			return ctrl.Result{}, err
		}
		plan.keep = append(plan.keep, iamv1alpha1.SecretHash{Hash: hash, CreatedAt: metav1.Time{Time: now}})
		mc.Status.ObservedRotationRequest = mc.Spec.RotationRequest
		mc.Status.LastRotatedAt = &metav1.Time{Time: now}
		log.Info("Issued a client secret", "clientID", mc.Status.ClientID, "secretName", SecretName(mc.Name))
	}
	mc.Status.SecretHashes = plan.keep
	mc.Status.SecretName = SecretName(mc.Name)
	mc.Status.ObservedGeneration = mc.Generation

	if plan.expired {
		meta.MarkStalled(mc, iamv1alpha1.ExpiredReason, fmt.Sprintf("the credential expired at %s; set a later spec.expiresAt to use it again", mc.Spec.ExpiresAt.UTC().Format(time.RFC3339)))
	} else {
		meta.MarkReady(mc, iamv1alpha1.SecretIssuedReason, fmt.Sprintf("client secret in Secret %s", SecretName(mc.Name)))
	}
	if !plan.next.IsZero() {
		result.RequeueAfter = plan.next.Sub(now) + time.Second
	}
	return result, nil
}

// issueSecret generates a client secret, writes it into the credential's Secret and returns its
// hash. The Secret is written before the hash is recorded: a crash in between leaves a secret
// without a hash, which the next reconcile replaces.
func (r *Reconciler) issueSecret(ctx context.Context, mc *iamv1alpha1.MachineCredential) (string, error) {
	secret, err := clientsecret.NewSecret()
	if err != nil {
		return "", fmt.Errorf("generating a client secret: %w", err)
	}
	hash, err := clientsecret.Hash(secret)
	if err != nil {
		return "", fmt.Errorf("hashing the client secret: %w", err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName(mc.Name), Namespace: mc.Namespace}}
	_, err = controllerutil.CreateOrUpdate(ctx, r.Client, s, func() error {
		s.Labels = map[string]string{"app.kubernetes.io/managed-by": "aurora", "iam.aurora.dev/machine-credential": mc.Name}
		s.Type = corev1.SecretTypeOpaque
		s.Data = map[string][]byte{ClientIDKey: []byte(mc.Status.ClientID), ClientSecretKey: []byte(secret)}
		return controllerutil.SetControllerReference(mc, s, r.Scheme())
	})
	if err != nil {
		return "", fmt.Errorf("writing Secret %s: %w", SecretName(mc.Name), err)
	}
	return hash, nil
}
