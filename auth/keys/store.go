package keys

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// secretLabels mark the Secret for people and tools; nothing selects on them.
var secretLabels = map[string]string{
	"app.kubernetes.io/name":       "aurora",
	"app.kubernetes.io/component":  "auth-signing-keys",
	"app.kubernetes.io/managed-by": "aurora-auth",
}

// errLostRace means another writer changed the Secret between our read and our write: read it again
// and decide anew.
var errLostRace = errors.New("another writer changed the Secret first")

// secretStore reads and writes the Secret that holds the keys.
type secretStore struct {
	client client.Client
	key    client.ObjectKey
}

// get returns the Secret, or nil when it does not exist.
func (s secretStore) get(ctx context.Context) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	if err := s.client.Get(ctx, s.key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get Secret: %w", err)
	}
	return secret, nil
}

// create creates the Secret with keysJSON. Its error wraps errLostRace when another writer created it
// first.
func (s secretStore) create(ctx context.Context, keysJSON []byte) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.key.Namespace, Name: s.key.Name, Labels: secretLabels},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{SecretDataKey: keysJSON},
	}
	if err := s.client.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create Secret: %w: %w", errLostRace, err)
		}
		return fmt.Errorf("create Secret: %w", err)
	}
	return nil
}

// update writes keysJSON into secret, as read at its resourceVersion. Its error wraps errLostRace when
// the Secret changed (Conflict) or was deleted (NotFound) since it was read.
func (s secretStore) update(ctx context.Context, secret *corev1.Secret, keysJSON []byte) error {
	secret = secret.DeepCopy()
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[SecretDataKey] = keysJSON
	if err := s.client.Update(ctx, secret); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return fmt.Errorf("update Secret at resourceVersion %s: %w: %w", secret.ResourceVersion, errLostRace, err)
		}
		return fmt.Errorf("update Secret at resourceVersion %s: %w", secret.ResourceVersion, err)
	}
	return nil
}
