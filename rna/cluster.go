package rna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// targetCluster is the glue between the agent and the target cluster's API server: it lists and
// applies mirrored Rollouts, following the pure rules of mirror.go, and lists the inventory. Every
// call reads the API server directly, not a cache, so that decisions never rest on stale data.
type targetCluster struct {
	client client.Client
	// discovery is a REST client of the API server's discovery endpoints.
	discovery rest.Interface
	// timeout bounds each operation.
	timeout time.Duration
}

// listMirrored returns the Rollouts of the target cluster labelled MirroredLabel.
func (t *targetCluster) listMirrored(ctx context.Context) ([]rolloutv1alpha1.Rollout, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var list rolloutv1alpha1.RolloutList
	if err := t.client.List(ctx, &list, client.HasLabels{rolloutv1alpha1.MirroredLabel}); err != nil {
		return nil, fmt.Errorf("listing the mirrored rollouts: %w", err)
	}
	return list.Items, nil
}

// listMirroredMetadata returns the metadata (names, labels, annotations, uids) of the Rollouts of
// the target cluster labelled MirroredLabel, as Rollouts with only ObjectMeta set: all that applies,
// deletes and Hello need, without reading every Rollout's manifests.
func (t *targetCluster) listMirroredMetadata(ctx context.Context) ([]rolloutv1alpha1.Rollout, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(rolloutv1alpha1.GroupVersion.WithKind("RolloutList"))
	if err := t.client.List(ctx, list, client.HasLabels{rolloutv1alpha1.MirroredLabel}); err != nil {
		return nil, fmt.Errorf("listing the mirrored rollouts: %w", err)
	}
	out := make([]rolloutv1alpha1.Rollout, len(list.Items))
	for i := range list.Items {
		out[i].ObjectMeta = list.Items[i].ObjectMeta
	}
	return out, nil
}

// kubernetesVersion returns the target cluster's version, such as v1.37.2.
func (t *targetCluster) kubernetesVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	body, err := t.discovery.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("reading the target cluster's version: %w", err)
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return "", fmt.Errorf("decoding the target cluster's version: %w", err)
	}
	return info.GitVersion, nil
}

// applyRollout mirrors the Rollout of an ApplyRollout into the target cluster (see planApply and
// mirroredRollout for the rules) and returns whether it applied it or skipped it as already held.
func (t *targetCluster) applyRollout(ctx context.Context, msg *tunnelv1.ApplyRollout) (applyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	ref := msg.GetRef()
	desired, err := mirroredRollout(ref, msg.GetRollout())
	if err != nil {
		return applyFailed, err
	}
	target := types.NamespacedName{Namespace: desired.GetNamespace(), Name: desired.GetName()}
	mirrored, err := t.listMirroredMetadata(ctx)
	if err != nil {
		return applyFailed, err
	}
	atTarget, err := t.getRollout(ctx, target)
	if err != nil {
		return applyFailed, err
	}
	plan := planApply(ref, target, withCloudUID(mirrored, ref.GetUid()), atTarget)
	switch {
	case plan.skip:
		return applyDuplicate, nil
	case plan.refuse != nil:
		return applyFailed, plan.refuse
	}
	if plan.replace != nil {
		if err := t.deleteRollout(ctx, *plan.replace); err != nil {
			return applyFailed, fmt.Errorf("replacing rollout %s of another cloud uid: %w", plan.replace.NamespacedName, err)
		}
	}
	if err := t.ensureNamespace(ctx, target.Namespace); err != nil {
		return applyFailed, err
	}
	if err := t.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired),
		client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return applyFailed, fmt.Errorf("applying rollout %s (cloud %s/%s generation %d): %w",
			target, ref.GetNamespace(), ref.GetName(), ref.GetGeneration(), err)
	}
	for _, stale := range plan.stale {
		if err := t.deleteRollout(ctx, stale); err != nil {
			return applyFailed, fmt.Errorf("removing rollout %s, moved to %s: %w", stale.NamespacedName, target, err)
		}
	}
	return applyApplied, nil
}

// removeRollout deletes every mirrored Rollout carrying the ref's cloud uid; none is not an error.
func (t *targetCluster) removeRollout(ctx context.Context, msg *tunnelv1.DeleteRollout) (deleteResult, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	ref := msg.GetRef()
	if ref.GetUid() == "" {
		return deleteFailed, errors.New("the rollout ref has no uid")
	}
	mirrored, err := t.listMirroredMetadata(ctx)
	if err != nil {
		return deleteFailed, err
	}
	found := withCloudUID(mirrored, ref.GetUid())
	if len(found) == 0 {
		return deleteAbsent, nil
	}
	for i := range found {
		if err := t.deleteRollout(ctx, objectRefOf(&found[i])); err != nil {
			return deleteFailed, err
		}
	}
	return deleteDeleted, nil
}

// getRollout returns the Rollout at key, or nil when there is none.
func (t *targetCluster) getRollout(ctx context.Context, key types.NamespacedName) (*rolloutv1alpha1.Rollout, error) {
	var r rolloutv1alpha1.Rollout
	if err := t.client.Get(ctx, key, &r); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading rollout %s: %w", key, err)
	}
	return &r, nil
}

// deleteRollout deletes the Rollout ref names, only if it still has ref's uid; gone is not an error.
func (t *targetCluster) deleteRollout(ctx context.Context, ref objectRef) error {
	r := &rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}}
	err := t.client.Delete(ctx, r, client.Preconditions{UID: &ref.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting rollout %s: %w", ref.NamespacedName, err)
	}
	return nil
}

// ensureNamespace creates the namespace when it does not exist.
func (t *targetCluster) ensureNamespace(ctx context.Context, name string) error {
	var ns corev1.Namespace
	err := t.client.Get(ctx, types.NamespacedName{Name: name}, &ns)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading namespace %s: %w", name, err)
	}
	ns = corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := t.client.Create(ctx, &ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// inventory lists the namespaces and workloads of the target cluster into an Inventory.
func (t *targetCluster) inventory(ctx context.Context, now func() time.Time) (*tunnelv1.Inventory, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var (
		namespaces   corev1.NamespaceList
		deployments  appsv1.DeploymentList
		statefulSets appsv1.StatefulSetList
		daemonSets   appsv1.DaemonSetList
		replicaSets  appsv1.ReplicaSetList
	)
	for _, l := range []struct {
		what string
		list client.ObjectList
	}{
		{"namespaces", &namespaces}, {"deployments", &deployments}, {"statefulsets", &statefulSets},
		{"daemonsets", &daemonSets}, {"replicasets", &replicaSets},
	} {
		if err := t.client.List(ctx, l.list); err != nil {
			return nil, fmt.Errorf("listing %s for the inventory: %w", l.what, err)
		}
	}
	return buildInventory(clusterObjects{
		namespaces: namespaces.Items, deployments: deployments.Items, statefulSets: statefulSets.Items,
		daemonSets: daemonSets.Items, replicaSets: replicaSets.Items,
	}, now()), nil
}
