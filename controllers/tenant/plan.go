package tenant

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// ComponentsRoleName is the Role, in every tenant namespace, that the control plane components
// (Hub, REST API) are bound to.
const ComponentsRoleName = "aurora-tenant-components"

// ServiceAccountRef names a ServiceAccount of a control plane component.
type ServiceAccountRef struct {
	// Namespace of the ServiceAccount.
	Namespace string
	// Name of the ServiceAccount.
	Name string
}

// ParseServiceAccountRef parses "namespace/name".
func ParseServiceAccountRef(s string) (ServiceAccountRef, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return ServiceAccountRef{}, fmt.Errorf("service account %q: want namespace/name", s)
	}
	return ServiceAccountRef{Namespace: ns, Name: name}, nil
}

// tenantLabels are the labels of every object Aurora creates for a tenant.
func tenantLabels(t *iamv1alpha1.Tenant) map[string]string {
	return map[string]string{
		iamv1alpha1.TenantLabel:        t.Name,
		iamv1alpha1.OrganizationLabel:  t.Spec.Organization,
		iamv1alpha1.EnvironmentLabel:   t.Spec.Environment,
		"app.kubernetes.io/managed-by": "aurora",
	}
}

// desiredNamespace is the tenant's namespace.
func desiredNamespace(t *iamv1alpha1.Tenant) *corev1ac.NamespaceApplyConfiguration {
	return corev1ac.Namespace(iamv1alpha1.NamespaceName(t.Spec.Organization, t.Spec.Environment)).
		WithLabels(tenantLabels(t))
}

// checkNamespaceOwner returns an error when an existing namespace belongs to something other than
// the tenant; ns may be nil (absent).
func checkNamespaceOwner(ns *corev1.Namespace, t *iamv1alpha1.Tenant) error {
	if ns == nil {
		return nil
	}
	owner, ok := ns.Labels[iamv1alpha1.TenantLabel]
	switch {
	case !ok:
		return fmt.Errorf("namespace %s exists and does not belong to an Aurora tenant", ns.Name)
	case owner != t.Name:
		return fmt.Errorf("namespace %s belongs to tenant %s, which has the same organization and environment", ns.Name, owner)
	}
	return nil
}

// componentsRules are what the Hub and the REST API may do in a tenant namespace.
var componentsRules = []*rbacv1ac.PolicyRuleApplyConfiguration{
	rbacv1ac.PolicyRule().WithAPIGroups("deploy.aurora.dev").
		WithResources("deployments", "judgments", "agents").
		WithVerbs("get", "list", "watch", "create", "update", "patch", "delete"),
	rbacv1ac.PolicyRule().WithAPIGroups("deploy.aurora.dev").
		WithResources("deployments/status", "judgments/status", "agents/status").
		WithVerbs("get", "update", "patch"),
	rbacv1ac.PolicyRule().WithAPIGroups("rollout.aurora.dev").
		WithResources("rollouts").WithVerbs("get", "list", "watch"),
	rbacv1ac.PolicyRule().WithAPIGroups("rollout.aurora.dev").
		WithResources("rollouts/status").WithVerbs("get", "update", "patch"),
	rbacv1ac.PolicyRule().WithAPIGroups("iam.aurora.dev").
		WithResources("machinecredentials").WithVerbs("get", "list", "watch", "create", "update", "patch", "delete"),
	rbacv1ac.PolicyRule().WithAPIGroups("").
		WithResources("secrets").WithVerbs("get", "list", "watch", "create", "update", "patch", "delete"),
	rbacv1ac.PolicyRule().WithAPIGroups("coordination.k8s.io").
		WithResources("leases").WithVerbs("get", "list", "watch", "create", "update", "patch", "delete"),
}

// desiredRole is the Role the control plane components get in the tenant's namespace.
func desiredRole(t *iamv1alpha1.Tenant) *rbacv1ac.RoleApplyConfiguration {
	return rbacv1ac.Role(ComponentsRoleName, iamv1alpha1.NamespaceName(t.Spec.Organization, t.Spec.Environment)).
		WithLabels(tenantLabels(t)).
		WithRules(componentsRules...)
}

// desiredRoleBinding binds the components' ServiceAccounts to the Role; nil when there are none.
func desiredRoleBinding(t *iamv1alpha1.Tenant, components []ServiceAccountRef) *rbacv1ac.RoleBindingApplyConfiguration {
	if len(components) == 0 {
		return nil
	}
	rb := rbacv1ac.RoleBinding(ComponentsRoleName, iamv1alpha1.NamespaceName(t.Spec.Organization, t.Spec.Environment)).
		WithLabels(tenantLabels(t)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(ComponentsRoleName))
	for _, sa := range components {
		rb.WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithNamespace(sa.Namespace).WithName(sa.Name))
	}
	return rb
}
