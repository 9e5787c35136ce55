package rna

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// This file holds the pure rules of mirroring: which Rollouts of the target cluster are mirrored,
// what their RolloutRef is, what to server-side apply for an ApplyRollout and whether to apply at
// all. The glue that talks to the API server is in applier.go.

// DefaultTargetNamespace is where a Rollout with no spec.namespace is mirrored.
const DefaultTargetNamespace = "default"

// mirroredLabelValue is the value of MirroredLabel on mirrored Rollouts.
const mirroredLabelValue = "true"

// rolloutGroupVersion is the apiVersion of Rollouts.
var rolloutGroupVersion = rolloutv1alpha1.GroupVersion.String()

// isMirrored reports whether a Rollout of the target cluster was mirrored by an agent.
func isMirrored(r *rolloutv1alpha1.Rollout) bool {
	_, labelled := r.Labels[rolloutv1alpha1.MirroredLabel]
	return labelled && r.Annotations[rolloutv1alpha1.CloudUIDAnnotation] != ""
}

// cloudGeneration returns the cloud generation a mirrored Rollout carries; 0 when the annotation is
// missing or not a number, so that any real generation is newer.
func cloudGeneration(r *rolloutv1alpha1.Rollout) int64 {
	g, err := strconv.ParseInt(r.Annotations[rolloutv1alpha1.CloudGenerationAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return g
}

// refOf returns the RolloutRef of a mirrored Rollout: the cloud uid, namespace and generation from
// its annotations and its name, which is the cloud Rollout's.
func refOf(r *rolloutv1alpha1.Rollout) *tunnelv1.RolloutRef {
	return &tunnelv1.RolloutRef{
		Uid:        r.Annotations[rolloutv1alpha1.CloudUIDAnnotation],
		Namespace:  r.Annotations[rolloutv1alpha1.CloudNamespaceAnnotation],
		Name:       r.Name,
		Generation: cloudGeneration(r),
	}
}

// resyncState returns the refs of the mirrored Rollouts among rollouts, for Hello.
func resyncState(rollouts []rolloutv1alpha1.Rollout) []*tunnelv1.RolloutRef {
	refs := make([]*tunnelv1.RolloutRef, 0, len(rollouts))
	for i := range rollouts {
		if isMirrored(&rollouts[i]) {
			refs = append(refs, refOf(&rollouts[i]))
		}
	}
	return refs
}

// withCloudUID returns the mirrored Rollouts among rollouts that carry the cloud uid.
func withCloudUID(rollouts []rolloutv1alpha1.Rollout, uid string) []rolloutv1alpha1.Rollout {
	var found []rolloutv1alpha1.Rollout
	for _, r := range rollouts {
		if isMirrored(&r) && r.Annotations[rolloutv1alpha1.CloudUIDAnnotation] == uid {
			found = append(found, r)
		}
	}
	return found
}

// validateRef checks what an ApplyRollout or DeleteRollout must name.
func validateRef(ref *tunnelv1.RolloutRef) error {
	switch {
	case ref == nil:
		return errors.New("the message carries no rollout ref")
	case ref.GetUid() == "":
		return errors.New("the rollout ref has no uid")
	case ref.GetName() == "":
		return errors.New("the rollout ref has no name")
	}
	if msgs := validation.IsDNS1123Subdomain(ref.GetName()); len(msgs) > 0 {
		return fmt.Errorf("the rollout ref's name %q is not valid: %v", ref.GetName(), msgs)
	}
	return nil
}

// mirroredRollout turns the JSON of an ApplyRollout into the object to server-side apply in the
// target cluster: the Rollout's spec, labels and annotations, in the namespace its spec names
// (DefaultTargetNamespace when none) under the ref's name, with MirroredLabel and the three
// Cloud* annotations set from the ref. The cloud object's uid, resourceVersion, owner references,
// finalizers and status are left out: they mean nothing in the target cluster.
func mirroredRollout(ref *tunnelv1.RolloutRef, rolloutJSON []byte) (*unstructured.Unstructured, error) {
	if err := validateRef(ref); err != nil {
		return nil, err
	}
	var typed rolloutv1alpha1.Rollout
	if err := json.Unmarshal(rolloutJSON, &typed); err != nil {
		return nil, fmt.Errorf("decoding rollout %s/%s: %w", ref.GetNamespace(), ref.GetName(), err)
	}
	if typed.APIVersion != "" && typed.APIVersion != rolloutGroupVersion {
		return nil, fmt.Errorf("rollout %s has apiVersion %q, want %q", ref.GetName(), typed.APIVersion, rolloutGroupVersion)
	}
	if typed.Kind != "" && typed.Kind != "Rollout" {
		return nil, fmt.Errorf("rollout %s has kind %q, want Rollout", ref.GetName(), typed.Kind)
	}
	if typed.Name != "" && typed.Name != ref.GetName() {
		return nil, fmt.Errorf("rollout JSON is named %q but its ref names %q", typed.Name, ref.GetName())
	}
	var raw map[string]any
	if err := json.Unmarshal(rolloutJSON, &raw); err != nil {
		return nil, fmt.Errorf("decoding rollout %s/%s: %w", ref.GetNamespace(), ref.GetName(), err)
	}
	spec, ok := raw["spec"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("rollout %s has no spec", ref.GetName())
	}
	namespace := typed.Spec.Namespace
	if namespace == "" {
		namespace = DefaultTargetNamespace
	}
	if msgs := validation.IsDNS1123Label(namespace); len(msgs) > 0 {
		return nil, fmt.Errorf("rollout %s: spec.namespace %q is not valid: %v", ref.GetName(), namespace, msgs)
	}

	labels := maps.Clone(typed.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[rolloutv1alpha1.MirroredLabel] = mirroredLabelValue
	annotations := maps.Clone(typed.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[rolloutv1alpha1.CloudUIDAnnotation] = ref.GetUid()
	annotations[rolloutv1alpha1.CloudNamespaceAnnotation] = ref.GetNamespace()
	annotations[rolloutv1alpha1.CloudGenerationAnnotation] = strconv.FormatInt(ref.GetGeneration(), 10)

	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(rolloutGroupVersion)
	u.SetKind("Rollout")
	u.SetNamespace(namespace)
	u.SetName(ref.GetName())
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
	return u, nil
}

// applyPlan is what to do for one ApplyRollout.
type applyPlan struct {
	// skip is true when the target already holds the ref's generation or a newer one.
	skip bool
	// refuse, when set, is why the Rollout must not be applied.
	refuse error
	// replace is a Rollout of another cloud uid that sits where this one goes and must be deleted
	// first (with its uid as precondition).
	replace *objectRef
	// stale are Rollouts of the same cloud uid in another place (its spec.namespace changed), to
	// delete after the apply.
	stale []objectRef
}

// objectRef names one object of the target cluster at one uid.
type objectRef struct {
	types.NamespacedName
	UID types.UID
}

func objectRefOf(o metav1.Object) objectRef {
	return objectRef{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}, UID: o.GetUID()}
}

// planApply decides what to do for an ApplyRollout of ref that goes to target:
//   - a mirrored Rollout of the same cloud uid at ref's generation or newer: skip (acknowledge only);
//   - an object at target that is not a mirrored Rollout: refuse, never overwrite what users made;
//   - a mirrored Rollout of another cloud uid at target (the cloud Rollout was recreated): replace it;
//   - mirrored Rollouts of the same uid elsewhere (spec.namespace changed): delete them after applying.
//
// sameUID are the mirrored Rollouts carrying ref's uid; atTarget is the Rollout at target, or nil.
func planApply(ref *tunnelv1.RolloutRef, target types.NamespacedName, sameUID []rolloutv1alpha1.Rollout, atTarget *rolloutv1alpha1.Rollout) applyPlan {
	for i := range sameUID {
		if cloudGeneration(&sameUID[i]) >= ref.GetGeneration() {
			return applyPlan{skip: true}
		}
	}
	var plan applyPlan
	if atTarget != nil {
		switch {
		case !isMirrored(atTarget):
			plan.refuse = fmt.Errorf("rollout %s exists in the target cluster and was not mirrored by an agent: refusing to overwrite it", target)
			return plan
		case atTarget.Annotations[rolloutv1alpha1.CloudUIDAnnotation] != ref.GetUid():
			replaced := objectRefOf(atTarget)
			plan.replace = &replaced
		}
	}
	for i := range sameUID {
		r := objectRefOf(&sameUID[i])
		if r.NamespacedName != target {
			plan.stale = append(plan.stale, r)
		}
	}
	return plan
}

// applyResult names the outcome of an ApplyRollout for the applies metric.
type applyResult string

// Outcomes of an ApplyRollout.
const (
	applyApplied   applyResult = "applied"
	applyDuplicate applyResult = "duplicate"
	applyFailed    applyResult = "failed"
)

// deleteResult names the outcome of a DeleteRollout for the deletes metric.
type deleteResult string

// Outcomes of a DeleteRollout.
const (
	deleteDeleted deleteResult = "deleted"
	deleteAbsent  deleteResult = "absent"
	deleteFailed  deleteResult = "failed"
)

// ackFor is the Ack of the Envelope id: ok when err is nil, else the error's text.
func ackFor(id uint64, err error) *tunnelv1.Envelope {
	ack := &tunnelv1.Ack{AckId: id, Ok: err == nil}
	if err != nil {
		ack.Error = err.Error()
	}
	return &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Ack{Ack: ack}}
}
