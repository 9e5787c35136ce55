package machinecredential

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
)

// DefaultRotationGracePeriod is how long a rotated-out secret stays valid when the spec says nothing.
const DefaultRotationGracePeriod = time.Hour

// secretPlan is what a reconcile must do about a credential's client secret.
type secretPlan struct {
	// issue asks for a new client secret (first issue or rotation).
	issue bool
	// keep are the hashes that stay valid, with a rotated-out current secret given its end of grace.
	keep []iamv1alpha1.SecretHash
	// expired says the credential is past spec.expiresAt.
	expired bool
	// next is when the plan changes by itself (a grace period ends, the credential expires); zero
	// when never.
	next time.Time
}

// planSecrets decides, from the credential and the time, whether a new secret is due and which
// hashes stay valid.
func planSecrets(mc *iamv1alpha1.MachineCredential, now time.Time) secretPlan {
	plan := secretPlan{}
	grace := DefaultRotationGracePeriod
	if mc.Spec.RotationGracePeriod != nil {
		grace = mc.Spec.RotationGracePeriod.Duration
	}
	hasCurrent := false
	for _, h := range mc.Status.SecretHashes {
		if h.ValidUntil == nil {
			hasCurrent = true
		}
	}
	rotate := hasCurrent && mc.Spec.RotationRequest != mc.Status.ObservedRotationRequest
	plan.issue = !hasCurrent || rotate

	for _, h := range mc.Status.SecretHashes {
		h := *h.DeepCopy()
		if h.ValidUntil == nil && rotate {
			h.ValidUntil = &metav1.Time{Time: now.Add(grace)}
		}
		if h.ValidUntil != nil {
			if !h.ValidUntil.After(now) {
				continue // its grace period is over
			}
			plan.next = earliest(plan.next, h.ValidUntil.Time)
		}
		plan.keep = append(plan.keep, h)
	}
	if exp := mc.Spec.ExpiresAt; exp != nil {
		if !exp.After(now) {
			plan.expired = true
		} else {
			plan.next = earliest(plan.next, exp.Time)
		}
	}
	return plan
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// SecretName is the Secret that holds a credential's client id and secret.
func SecretName(credentialName string) string { return credentialName + "-client-secret" }

// Keys of the credential's Secret.
const (
	// ClientIDKey holds the client id.
	ClientIDKey = "clientId"
	// ClientSecretKey holds the client secret.
	ClientSecretKey = "clientSecret"
)

// unknownScopes returns the scopes Aurora does not know (the CRD refuses them too; this keeps a
// credential stored before a scope was retired from issuing it).
func unknownScopes(scopes []iamv1alpha1.Scope) []iamv1alpha1.Scope {
	var unknown []iamv1alpha1.Scope
	for _, s := range scopes {
		if !slices.Contains(iamv1alpha1.KnownScopes, s) {
			unknown = append(unknown, s)
		}
	}
	return unknown
}
