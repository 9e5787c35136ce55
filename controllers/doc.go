// Package controllers holds the cloud-side reconcilers of Aurora, one package per kind. Each
// package has a thin controller.go (fetch, finalizer, deferred status patch) over pure planning and
// status functions with table tests.
//
// The markers below are the permissions of the controller manager as a whole; `make manifests`
// turns them into config/rbac/role.yaml.
//
// +kubebuilder:rbac:groups=iam.aurora.dev,resources=tenants;machinecredentials,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=iam.aurora.dev,resources=tenants/status;machinecredentials/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=iam.aurora.dev,resources=tenants/finalizers;machinecredentials/finalizers,verbs=update
// +kubebuilder:rbac:groups=deploy.aurora.dev,resources=deployments;judgments;agents,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=deploy.aurora.dev,resources=deployments/status;judgments/status;agents/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=deploy.aurora.dev,resources=deployments/finalizers;judgments/finalizers;agents/finalizers,verbs=update
// +kubebuilder:rbac:groups=rollout.aurora.dev,resources=rollouts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rollout.aurora.dev,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rollout.aurora.dev,resources=rollouts/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces;secrets;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete;bind;escalate
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
package controllers
