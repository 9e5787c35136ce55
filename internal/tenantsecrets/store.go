package tenantsecrets

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aurora-cd/aurora/internal/envelope"
	"github.com/aurora-cd/aurora/internal/templating"
)

// ErrNotFound means the tenant has no secret of that name.
var ErrNotFound = errors.New("no such secret")

// ManagedByLabel marks the store Secret as written by Aurora.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// Store reads and writes the sealed secrets of tenant namespaces.
type Store struct {
	// Client writes the store Secrets.
	Client client.Client
	// Reader reads them uncached (so that Secrets are not cached); Client when nil.
	Reader client.Reader
	// Sealer seals and opens values; nil refuses every put and open with ErrNoMasterKey.
	Sealer *envelope.Sealer
	// Now is the clock of update times; time.Now when nil.
	Now func() time.Time
}

func (s *Store) reader() client.Reader {
	if s.Reader != nil {
		return s.Reader
	}
	return s.Client
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// get reads namespace's store Secret; nil without error when there is none.
func (s *Store) get(ctx context.Context, namespace string) (*corev1.Secret, error) {
	sec := &corev1.Secret{}
	switch err := s.reader().Get(ctx, client.ObjectKey{Namespace: namespace, Name: StoreName}, sec); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, StoreName, err)
	}
	return sec, nil
}

// Put seals value and stores it as key of namespace's store, creating the Secret when needed and
// retrying on conflicts. It returns the update time recorded.
func (s *Store) Put(ctx context.Context, namespace, key string, value []byte) (time.Time, error) {
	if err := ValidateName(key); err != nil {
		return time.Time{}, err
	}
	if err := ValidateValue(value); err != nil {
		return time.Time{}, err
	}
	sealed, err := Seal(s.Sealer, namespace, key, value)
	if err != nil {
		return time.Time{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	err = retry.OnError(retry.DefaultRetry, func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }, func() error {
		sec, err := s.get(ctx, namespace)
		if err != nil {
			return err
		}
		if sec == nil {
			data := map[string][]byte{key: sealed}
			sec = &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: StoreName,
					Labels:      map[string]string{ManagedByLabel: "aurora"},
					Annotations: map[string]string{UpdatedAtAnnotation: withUpdate("", key, now, data)}},
				Type: corev1.SecretTypeOpaque, Data: data,
			}
			return s.Client.Create(ctx, sec)
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[key] = sealed
		if sec.Annotations == nil {
			sec.Annotations = map[string]string{}
		}
		sec.Annotations[UpdatedAtAnnotation] = withUpdate(sec.Annotations[UpdatedAtAnnotation], key, now, sec.Data)
		return s.Client.Update(ctx, sec)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("storing secret %q in Secret %s/%s: %w", key, namespace, StoreName, err)
	}
	return now, nil
}

// Delete removes key from namespace's store; ErrNotFound when it is not there.
func (s *Store) Delete(ctx context.Context, namespace, key string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sec, err := s.get(ctx, namespace)
		if err != nil {
			return err
		}
		if sec == nil {
			return ErrNotFound
		}
		if _, ok := sec.Data[key]; !ok {
			return ErrNotFound
		}
		delete(sec.Data, key)
		if sec.Annotations != nil {
			sec.Annotations[UpdatedAtAnnotation] = withUpdate(sec.Annotations[UpdatedAtAnnotation], key, time.Time{}, sec.Data)
		}
		return s.Client.Update(ctx, sec)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("deleting secret %q from Secret %s/%s: %w", key, namespace, StoreName, err)
	}
	return err
}

// List returns the names and update times of namespace's secrets, sorted by name; never values.
func (s *Store) List(ctx context.Context, namespace string) ([]Entry, error) {
	sec, err := s.get(ctx, namespace)
	if err != nil || sec == nil {
		return []Entry{}, err
	}
	return Entries(sec.Data, sec.Annotations[UpdatedAtAnnotation]), nil
}

// Resolver resolves {{secrets.<key>}} from namespace's store, opening values. The Secret is read
// once (uncached), at the first secret a template uses.
func (s *Store) Resolver(ctx context.Context, namespace string) templating.Secrets {
	var data map[string][]byte
	var readErr error
	read := false
	return func(key string) (string, error) {
		if s.Sealer == nil {
			return "", fmt.Errorf("secret %q: %w", key, ErrNoMasterKey)
		}
		if !read {
			read = true
			sec, err := s.get(ctx, namespace)
			switch {
			case err != nil:
				readErr = err
			case sec == nil:
				readErr = fmt.Errorf("no Secret %s in namespace %s holds the tenant's secrets; %s", StoreName, namespace, howToSet(key))
			default:
				data = sec.Data
			}
		}
		if readErr != nil {
			return "", readErr
		}
		stored, ok := data[key]
		if !ok {
			return "", fmt.Errorf("the tenant has no secret %q (Secret %s/%s has no such key); %s", key, namespace, StoreName, howToSet(key))
		}
		value, err := Open(s.Sealer, namespace, key, stored)
		if err != nil {
			return "", err
		}
		return string(value), nil
	}
}
