// Package meta holds the condition types and reasons shared by every Aurora kind, following the
// Kubernetes API conventions and kstatus: a Ready condition that is always present, Reconciling
// while a controller works, Stalled on a terminal error.
package meta

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types every Aurora kind uses.
const (
	// ReadyCondition is the summary condition: True when the object reached its desired state.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while a controller works towards the desired state.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when the controller cannot make progress without a change of spec.
	StalledCondition = "Stalled"
)

// Reasons shared by every Aurora kind. Kind-specific reasons live beside the kind's types.
const (
	// SucceededReason means the object reached its desired state.
	SucceededReason = "Succeeded"
	// ProgressingReason means a controller is working on the object.
	ProgressingReason = "Progressing"
	// ProgressingWithRetryReason means a controller is working on the object after a failed attempt.
	ProgressingWithRetryReason = "ProgressingWithRetry"
	// InvalidSpecReason means the spec cannot be acted on; the message names the field.
	InvalidSpecReason = "InvalidSpec"
	// DependencyNotReadyReason means the object waits on another object.
	DependencyNotReadyReason = "DependencyNotReady"
	// InitializingReason is set when an object has been seen but not yet reconciled.
	InitializingReason = "Initializing"
)

// ObjectWithConditions is an API object whose status carries conditions.
type ObjectWithConditions interface {
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
	GetGeneration() int64
}

// MarkReady sets Ready=True and removes Reconciling and Stalled, as kstatus expects of an object in
// its normal state.
func MarkReady(obj ObjectWithConditions, reason, message string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, ReconcilingCondition)
	apimeta.RemoveStatusCondition(&conds, StalledCondition)
	apimeta.SetStatusCondition(&conds, metav1.Condition{Type: ReadyCondition, Status: metav1.ConditionTrue,
		Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration()})
	obj.SetConditions(conds)
}

// MarkReconciling sets Reconciling=True and Ready=Unknown and removes Stalled.
func MarkReconciling(obj ObjectWithConditions, reason, message string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, StalledCondition)
	apimeta.SetStatusCondition(&conds, metav1.Condition{Type: ReconcilingCondition, Status: metav1.ConditionTrue,
		Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration()})
	apimeta.SetStatusCondition(&conds, metav1.Condition{Type: ReadyCondition, Status: metav1.ConditionUnknown,
		Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration()})
	obj.SetConditions(conds)
}

// MarkStalled sets Stalled=True and Ready=False and removes Reconciling: the controller gives up
// until the spec changes.
func MarkStalled(obj ObjectWithConditions, reason, message string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, ReconcilingCondition)
	apimeta.SetStatusCondition(&conds, metav1.Condition{Type: StalledCondition, Status: metav1.ConditionTrue,
		Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration()})
	apimeta.SetStatusCondition(&conds, metav1.Condition{Type: ReadyCondition, Status: metav1.ConditionFalse,
		Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration()})
	obj.SetConditions(conds)
}

// MarkNotReady sets Ready=False for a failure that the controller will retry, keeping
// Reconciling=True with reason ProgressingWithRetry.
func MarkNotReady(obj ObjectWithConditions, reason, message string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, StalledCondition)
	apimeta.SetStatusCondition(&conds, metav1.Condition{Type: ReconcilingCondition, Status: metav1.ConditionTrue,
		Reason: ProgressingWithRetryReason, Message: message, ObservedGeneration: obj.GetGeneration()})
	apimeta.SetStatusCondition(&conds, metav1.Condition{Type: ReadyCondition, Status: metav1.ConditionFalse,
		Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration()})
	obj.SetConditions(conds)
}
