package users

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// SetPassword writes the argon2id hash of password into the user's password Secret in namespace
// (the auth service's), owned by the User so that it goes when the User goes. The password itself
// is written nowhere.
func SetPassword(ctx context.Context, c client.Client, namespace string, u *iamv1alpha1.User, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("user %s: %w", u.Name, err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: iamv1alpha1.PasswordSecretName(u.Name)}}
	mutate := func() {
		s.Labels = map[string]string{iamv1alpha1.UserLabel: u.Name, "app.kubernetes.io/managed-by": "aurora-auth"}
		s.OwnerReferences = []metav1.OwnerReference{{APIVersion: iamv1alpha1.GroupVersion.String(), Kind: "User",
			Name: u.Name, UID: u.UID, BlockOwnerDeletion: ptr.To(false)}}
		s.Type = corev1.SecretTypeOpaque
		s.Data = map[string][]byte{iamv1alpha1.PasswordHashKey: []byte(hash)}
	}
	err = c.Get(ctx, client.ObjectKeyFromObject(s), s)
	switch {
	case apierrors.IsNotFound(err):
		mutate()
		err = c.Create(ctx, s)
	case err == nil:
		mutate()
		err = c.Update(ctx, s)
	}
	if err != nil {
		return fmt.Errorf("writing the password Secret of user %s: %w", u.Name, err)
	}
	return nil
}

// EnsureUser creates the User u unless one of its name exists, then sets its password. It returns
// the User as stored. With an existing User, the password is set only when overwrite is true.
func EnsureUser(ctx context.Context, c client.Client, namespace string, u *iamv1alpha1.User, password string, overwrite bool) (*iamv1alpha1.User, error) {
	err := c.Create(ctx, u)
	switch {
	case err == nil:
	case apierrors.IsAlreadyExists(err):
		if err := c.Get(ctx, types.NamespacedName{Name: u.Name}, u); err != nil {
			return nil, fmt.Errorf("reading user %s: %w", u.Name, err)
		}
		if !overwrite {
			return u, nil
		}
	default:
		return nil, fmt.Errorf("creating user %s: %w", u.Name, err)
	}
	return u, SetPassword(ctx, c, namespace, u, password)
}

// Keys of the bootstrap admin's Secret.
const (
	// BootstrapUsernameKey holds the bootstrap admin's login.
	BootstrapUsernameKey = "username"
	// BootstrapPasswordKey holds the bootstrap admin's generated password.
	BootstrapPasswordKey = "password"
)

// BootstrapSecretName is the Secret, in the auth service's namespace, that receives the bootstrap
// admin's login and generated password once.
const BootstrapSecretName = "aurora-bootstrap-admin"

// Bootstrap makes sure a fresh install has an organization admin to log in with: unless the User
// name exists, it generates a password, writes it once into the Secret BootstrapSecretName of
// namespace (read it there, then delete the Secret or change the password), and creates the User
// with the password's hash. Several replicas may run it at once: the first Secret written wins. It
// reports whether it created the User.
func Bootstrap(ctx context.Context, c client.Client, namespace, organization, name string) (bool, error) {
	if !isDNSLabel(organization, 27) {
		return false, fmt.Errorf("bootstrap admin: organization %q must be a DNS label of at most 27 characters", organization)
	}
	if !ValidName(name) {
		return false, fmt.Errorf("bootstrap admin: user %q must be a DNS subdomain of at most 63 characters (lower-case letters, digits, '-' and '.')", name)
	}
	if err := c.Get(ctx, types.NamespacedName{Name: name}, &iamv1alpha1.User{}); err == nil {
		return false, nil
	} else if !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("bootstrap admin: reading user %s: %w", name, err)
	}
	password, err := NewPassword()
	if err != nil {
		return false, err
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: BootstrapSecretName,
		Labels: map[string]string{iamv1alpha1.UserLabel: name, "app.kubernetes.io/managed-by": "aurora-auth"}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{BootstrapUsernameKey: []byte(name), BootstrapPasswordKey: []byte(password)}}
	if err := c.Create(ctx, s); apierrors.IsAlreadyExists(err) {
		// Another replica (or an earlier run that stopped half-way) chose the password: use it.
		if err := c.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			return false, fmt.Errorf("bootstrap admin: reading Secret %s: %w", BootstrapSecretName, err)
		}
		if string(s.Data[BootstrapUsernameKey]) != name {
			return false, fmt.Errorf("bootstrap admin: Secret %s/%s names another user; delete it to bootstrap %s", namespace, BootstrapSecretName, name)
		}
		password = string(s.Data[BootstrapPasswordKey])
	} else if err != nil {
		return false, fmt.Errorf("bootstrap admin: writing Secret %s: %w", BootstrapSecretName, err)
	}
	u := &iamv1alpha1.User{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: iamv1alpha1.UserSpec{Organization: organization, DisplayName: "Organization admin", OrganizationAdmin: true}}
	if _, err := EnsureUser(ctx, c, namespace, u, password, false); err != nil {
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	// The User may have been created by a replica that has not written the password yet.
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: iamv1alpha1.PasswordSecretName(name)}, &corev1.Secret{}); apierrors.IsNotFound(err) {
		if err := SetPassword(ctx, c, namespace, u, password); err != nil {
			return false, fmt.Errorf("bootstrap admin: %w", err)
		}
	}
	return true, nil
}
