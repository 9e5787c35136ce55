package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The system roles. A user's or a credential's other roles are custom roles, named freely (a pause
// step's requiresRoles names them).
const (
	// RoleOrganizationAdmin may do everything in every tenant of the organization
	// (scope api:organization:full). A user's spec.organizationAdmin grants it.
	RoleOrganizationAdmin = "organization-admin"
	// RoleTenantAdmin may do everything in one tenant (scope api:tenant:full).
	RoleTenantAdmin = "tenant-admin"
	// RoleDeployer starts, watches and decides on deployments (scope api:deployment:full).
	RoleDeployer = "deployer"
)

// Password Secrets of the built-in user directory. The auth service keeps a user's password hash
// in the Secret PasswordSecretName(user) of its own namespace, never in the User.
const (
	// UserLabel names the User a Secret of the auth service belongs to.
	UserLabel = "iam.aurora.dev/user"
	// PasswordHashKey is the key of the password Secret that holds the argon2id hash (PHC format).
	PasswordHashKey = "passwordHash"
)

// PasswordSecretName is the name of the Secret, in the auth service's namespace, that holds the
// password hash of the user.
func PasswordSecretName(user string) string { return "aurora-user-" + user }

// TenantRoles are a user's roles in one tenant of the organization.
type TenantRoles struct {
	// environment is the tenant's environment within the user's organization.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=27
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Environment string `json:"environment"`

	// roles are the user's roles in the tenant: tenant-admin, deployer, or custom roles (no commas
	// or spaces).
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[^,\s]+$`
	// +listType=set
	Roles []string `json:"roles,omitempty"`
}

// UserSpec is a person of an organization: who they are and what they may do in which tenant.
type UserSpec struct {
	// organization is the organization the user belongs to: lower-case letters and digits, as a
	// Tenant's organization.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=27
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organization is immutable"
	Organization string `json:"organization"`

	// displayName is the name people see in the Console and the CLI.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// email is the user's email address.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	Email string `json:"email,omitempty"`

	// organizationAdmin makes the user an organization admin: every tenant of the organization,
	// with the scope api:organization:full.
	// +optional
	OrganizationAdmin bool `json:"organizationAdmin,omitempty"`

	// tenants are the tenants the user may use and the roles in each. The first is the tenant a
	// login picks unless the client asks for another.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=environment
	Tenants []TenantRoles `json:"tenants,omitempty"`

	// disabled refuses every login and token refresh of the user while true.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
}

// User is a person who logs in to Aurora through the built-in user directory. Its name is the
// login. The password is kept apart, as an argon2id hash in a Secret of the auth service's
// namespace. A User has no status: no controller acts on it; the auth service reads it at every
// login and refresh.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=usr,categories=aurora
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.spec.organization`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Email",type=string,JSONPath=`.spec.email`
// +kubebuilder:printcolumn:name="Org Admin",type=boolean,JSONPath=`.spec.organizationAdmin`
// +kubebuilder:printcolumn:name="Disabled",type=boolean,JSONPath=`.spec.disabled`,priority=10
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name (the login) must be at most 63 characters"
type User struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the object's metadata; its name is the user's login.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the user's organization, identity and roles.
	// +required
	Spec UserSpec `json:"spec"`
}

// UserList is a list of Users.
// +kubebuilder:object:root=true
type UserList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the users.
	Items []User `json:"items"`
}

func init() {
	SchemeBuilder.Register(&User{}, &UserList{})
}
