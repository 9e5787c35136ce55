package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ApplyError is a failed write of a manifest's object or of a version.
type ApplyError struct {
	// What names the object, such as "ConfigMap potato-facts".
	What string
	// Err is the API server's answer.
	Err error
}

// Error says what could not be applied and why.
func (e *ApplyError) Error() string { return "applying " + e.What + ": " + e.Err.Error() }

// Unwrap returns the API server's error.
func (e *ApplyError) Unwrap() error { return e.Err }

// IsPermanent reports whether an apply failed in a way that retrying cannot fix: the object is
// invalid, forbidden or of a kind the cluster does not serve.
func IsPermanent(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) ||
		apierrors.IsMethodNotSupported(err) || apierrors.IsUnsupportedMediaType(err) ||
		apierrors.IsRequestEntityTooLargeError(err) || apimeta.IsNoMatchError(err) ||
		apierrors.IsNotFound(err)
}

// applyObjects server-side applies the manifests' other objects, in order, namespaced kinds in the
// Rollout's namespace. The fields that route traffic keep what they are (see keepRouting).
func (x *execution) applyObjects(ctx context.Context) error {
	for _, u := range x.manifests.Objects {
		u, err := x.keepRouting(ctx, u)
		if err != nil {
			return err
		}
		if err := x.apply(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// apply server-side applies one object (field manager FieldManager, forcing ownership), forcing
// its namespace to the Rollout's when its kind is namespaced.
func (x *execution) apply(ctx context.Context, u *unstructured.Unstructured) error {
	obj := u.DeepCopy()
	what := obj.GetKind() + " " + obj.GetName()
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"} {
		unstructured.RemoveNestedField(obj.Object, "metadata", f)
	}
	namespaced, err := x.r.Client.IsObjectNamespaced(obj)
	if err != nil {
		return &ApplyError{What: what, Err: err}
	}
	if namespaced {
		obj.SetNamespace(x.namespace)
	} else {
		obj.SetNamespace("")
	}
	if err := x.r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return &ApplyError{What: what, Err: err}
	}
	return nil
}

// applyTyped server-side applies a typed object.
func (x *execution) applyTyped(ctx context.Context, obj runtime.Object) error {
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("converting %T: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: raw}
	unstructured.RemoveNestedField(u.Object, "status")
	return x.apply(ctx, u)
}

// createVersion creates a new version's ReplicaSet; one that exists already is left to the next pass.
func (x *execution) createVersion(ctx context.Context, rs *appsv1.ReplicaSet) error {
	if err := x.r.Client.Create(ctx, rs, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
		return &ApplyError{What: "ReplicaSet " + rs.Name, Err: err}
	}
	return nil
}

// updateVersion patches a version's replicas and annotations when they differ from want.
func (x *execution) updateVersion(ctx context.Context, rs *appsv1.ReplicaSet, replicas int32, annotations map[string]string) error {
	if ptr.Deref(rs.Spec.Replicas, 1) == replicas && hasAnnotations(rs, annotations) {
		return nil
	}
	base := rs.DeepCopy()
	rs.Spec.Replicas = ptr.To(replicas)
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	maps.Copy(rs.Annotations, annotations)
	if err := x.r.Client.Patch(ctx, rs, client.MergeFrom(base), client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("updating version %s: %w", rs.Name, client.IgnoreNotFound(err))
	}
	return nil
}

// scale sets the replicas of a stable workload (a ReplicaSet or a Deployment) and marks it with
// RolloutAnnotation, so that its changes reach the Rollout.
func (x *execution) scale(ctx context.Context, obj client.Object, replicas int32) error {
	want := map[string]string{RolloutAnnotation: x.id.Rollout}
	var current *int32
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		current = o.Spec.Replicas
	case *appsv1.Deployment:
		current = o.Spec.Replicas
	default:
		return fmt.Errorf("cannot scale a %T", obj)
	}
	if ptr.Deref(current, 1) == replicas && hasAnnotations(obj, want) {
		return nil
	}
	base := obj.DeepCopyObject().(client.Object)
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = ptr.To(replicas)
	case *appsv1.Deployment:
		o.Spec.Replicas = ptr.To(replicas)
	}
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, want)
	obj.SetAnnotations(annotations)
	if err := x.r.Client.Patch(ctx, obj, client.MergeFrom(base), client.FieldOwner(FieldManager)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("scaling %T %s to %d: %w", obj, obj.GetName(), replicas, err)
	}
	return nil
}

// remove deletes an object in the background (its pods or ReplicaSets follow); one already gone is
// fine.
func (x *execution) remove(ctx context.Context, obj client.Object) error {
	err := x.r.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

func hasAnnotations(obj metav1.Object, want map[string]string) bool {
	have := obj.GetAnnotations()
	for k, v := range want {
		if cur, ok := have[k]; !ok || cur != v {
			return false
		}
	}
	return true
}

// asApplyError returns err's ApplyError, if any.
func asApplyError(err error) (*ApplyError, bool) {
	var ae *ApplyError
	ok := errors.As(err, &ae)
	return ae, ok
}
