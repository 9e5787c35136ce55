// Package executor runs mirrored Rollouts in a target cluster: it turns the apps/v1 Deployments of a
// Rollout's manifests into one managed ReplicaSet per version, moves pods from the stable version to
// the new one step by step (canary setWeight as a pod ratio, timed pauses, pauses until approved),
// acts on the decisions the cloud appends to the Rollout, rolls back on a timeout, a failed apply or
// a decision, and reports progress in the Rollout's status.
//
// The package is a thin controller-runtime Reconciler (controller.go, observe.go, act.go) over pure
// planning functions: the step plan (plan.go), the replica split of a weight (split.go), version
// names (version.go), decision matching (decisions.go), the next action of an execution (next.go),
// the rollback plan (rollback.go), the objects to write (workload.go, hpa.go) and the status
// (status.go). docs/rollout-executor.md describes the design.
package executor
