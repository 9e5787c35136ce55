package users

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// ErrInvalidLogin means the user is unknown, disabled or has no password, or the password is wrong.
// Callers must not tell these apart to the person logging in.
var ErrInvalidLogin = errors.New("invalid username or password")

// Directory finds Users in the cloud cluster and checks their passwords against the hashes in the
// auth service's namespace. It reads past any cache, so that a deleted, disabled or changed user
// counts at once.
type Directory struct {
	reader    client.Reader
	namespace string
}

// NewDirectory returns the directory of the Users readable through reader, whose password Secrets
// live in namespace.
func NewDirectory(reader client.Reader, namespace string) *Directory {
	return &Directory{reader: reader, namespace: namespace}
}

// Authenticate checks a login. Every refusal is ErrInvalidLogin, and takes as long whether the
// user exists or not.
func (d *Directory) Authenticate(ctx context.Context, name, password string) (*Identity, error) {
	u, hash, err := d.userAndHash(ctx, name)
	if err != nil {
		spendVerification(password)
		return nil, err
	}
	if hash == "" || u.Spec.Disabled {
		spendVerification(password)
		return nil, ErrInvalidLogin
	}
	if !VerifyPassword(hash, password) {
		return nil, ErrInvalidLogin
	}
	return d.identity(ctx, u)
}

// Lookup returns the identity of the user as the directory knows it now (for a token refresh): its
// current roles and tenants. A deleted or disabled user is ErrInvalidLogin.
func (d *Directory) Lookup(ctx context.Context, name string) (*Identity, error) {
	if !ValidName(name) {
		return nil, ErrInvalidLogin
	}
	u := &iamv1alpha1.User{}
	if err := d.reader.Get(ctx, types.NamespacedName{Name: name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, ErrInvalidLogin
		}
		return nil, fmt.Errorf("reading user %s: %w", name, err)
	}
	if u.Spec.Disabled || !u.DeletionTimestamp.IsZero() {
		return nil, ErrInvalidLogin
	}
	return d.identity(ctx, u)
}

// WithOrganizationTenants adds every tenant of an organization admin's organization to id.
func (d *Directory) WithOrganizationTenants(ctx context.Context, id Identity) (Identity, error) {
	if !id.OrganizationAdmin {
		return id, nil
	}
	list := &iamv1alpha1.TenantList{}
	if err := d.reader.List(ctx, list); err != nil {
		return id, fmt.Errorf("listing the tenants of organization %s: %w", id.Organization, err)
	}
	var envs []string
	for _, t := range list.Items {
		if t.Spec.Organization == id.Organization && t.DeletionTimestamp.IsZero() {
			envs = append(envs, t.Spec.Environment)
		}
	}
	return id.WithOrganizationTenants(envs), nil
}

func (d *Directory) identity(ctx context.Context, u *iamv1alpha1.User) (*Identity, error) {
	id, err := d.WithOrganizationTenants(ctx, Identity{
		Name: u.Name, Organization: u.Spec.Organization, DisplayName: u.Spec.DisplayName, Email: u.Spec.Email,
		OrganizationAdmin: u.Spec.OrganizationAdmin, Tenants: u.Spec.Tenants,
	})
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// userAndHash reads the user and its password hash; the hash is empty when the user has no password
// Secret, or one left over from a deleted user of the same name.
func (d *Directory) userAndHash(ctx context.Context, name string) (*iamv1alpha1.User, string, error) {
	if !ValidName(name) {
		return nil, "", ErrInvalidLogin
	}
	u := &iamv1alpha1.User{}
	if err := d.reader.Get(ctx, types.NamespacedName{Name: name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", ErrInvalidLogin
		}
		return nil, "", fmt.Errorf("reading user %s: %w", name, err)
	}
	s := &corev1.Secret{}
	if err := d.reader.Get(ctx, types.NamespacedName{Namespace: d.namespace, Name: iamv1alpha1.PasswordSecretName(name)}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return u, "", nil
		}
		return nil, "", fmt.Errorf("reading the password of user %s: %w", name, err)
	}
	if !passwordSecretBelongsTo(s, u) {
		return u, "", nil
	}
	return u, string(s.Data[iamv1alpha1.PasswordHashKey]), nil
}

// ValidName reports whether name can be a User's name (a login): a DNS subdomain of at most 63
// characters.
func ValidName(name string) bool {
	return len(name) <= 63 && len(validation.IsDNS1123Subdomain(name)) == 0
}

// passwordSecretBelongsTo reports whether s is u's password Secret: labelled with its name and, when
// it has an owner, owned by this very User (not an earlier one of the same name).
func passwordSecretBelongsTo(s *corev1.Secret, u *iamv1alpha1.User) bool {
	if s.Labels[iamv1alpha1.UserLabel] != u.Name {
		return false
	}
	for _, o := range s.OwnerReferences {
		if o.Kind == "User" && o.APIVersion == iamv1alpha1.GroupVersion.String() && o.UID != u.UID {
			return false
		}
	}
	return true
}
