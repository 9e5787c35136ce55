package executor

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels and annotations on every version's workload and pods. Label values are cut to what a
// label may hold (see labelValue); the annotations of the same name carry the full values.
const (
	// ApplicationLabel is the deploy file's application.
	ApplicationLabel = "deploy.aurora.dev/application"
	// DeploymentIDLabel is the Aurora Deployment (spec.deploymentName) that brought the version.
	DeploymentIDLabel = "deploy.aurora.dev/deployment-id"
	// EnvironmentLabel is the deploy file's target (spec.target).
	EnvironmentLabel = "deploy.aurora.dev/environment"
	// VersionLabel is the version's name, which is also its ReplicaSet's name.
	VersionLabel = "deploy.aurora.dev/version"
	// WorkloadLabel is the name of the manifest's apps/v1 Deployment the version belongs to.
	WorkloadLabel = "deploy.aurora.dev/workload"
)

// Armory's annotations on every version's workload and pods, for queries written for Armory
// (annotation_deploy_armory_io_replica_set_name in kube-state-metrics, say). The replica set name
// is the version's name.
const (
	// ArmoryApplicationAnnotation is the application.
	ArmoryApplicationAnnotation = "deploy.armory.io/application"
	// ArmoryDeploymentIDAnnotation is the deployment id.
	ArmoryDeploymentIDAnnotation = "deploy.armory.io/deployment-id"
	// ArmoryEnvironmentAnnotation is the environment (target).
	ArmoryEnvironmentAnnotation = "deploy.armory.io/environment"
	// ArmoryReplicaSetNameAnnotation is the version's name ({{armory.replicaSetName}}).
	ArmoryReplicaSetNameAnnotation = "deploy.armory.io/replica-set-name"
)

// Environment variables injected into every container of a version: the AURORA_* ones and, with
// the same values, Armory's ARMORY_APPLICATION_NAME, ARMORY_DEPLOYMENT_ID,
// ARMORY_ENVIRONMENT_NAME and ARMORY_REPLICA_SET_NAME.
const (
	// ApplicationEnv holds the application.
	ApplicationEnv = "AURORA_APPLICATION_NAME"
	// DeploymentIDEnv holds the deployment id.
	DeploymentIDEnv = "AURORA_DEPLOYMENT_ID"
	// EnvironmentEnv holds the environment (target).
	EnvironmentEnv = "AURORA_ENVIRONMENT_NAME"
	// VersionEnv holds the version name.
	VersionEnv = "AURORA_VERSION_NAME"
)

// Annotations that hold the state of an execution. They live on the new version's ReplicaSet (and,
// for RolloutAnnotation, on every object the executor scales), so a restarted executor continues
// where it was.
const (
	// RolloutAnnotation is "<namespace>/<name>" of the Rollout that last touched a workload; the
	// executor watches workloads through it.
	RolloutAnnotation = "rollout.aurora.dev/rollout"
	// RoleAnnotation is "canary" on a version while its Rollout runs and "stable" once it succeeded.
	RoleAnnotation = "rollout.aurora.dev/role"
	// StartedAtAnnotation is when the execution started (RFC 3339 with nanoseconds).
	StartedAtAnnotation = "rollout.aurora.dev/started-at"
	// StepAnnotation is the 1-based step the execution is at.
	StepAnnotation = "rollout.aurora.dev/step"
	// StepStartedAtAnnotation is when that step began (RFC 3339 with nanoseconds).
	StepStartedAtAnnotation = "rollout.aurora.dev/step-started-at"
	// DecisionsAnnotation lists, comma separated, the names of the decisions already acted on or
	// discarded.
	DecisionsAnnotation = "rollout.aurora.dev/decisions"
	// StableAnnotation is the stable version the new one replaces: "ReplicaSet/<name>",
	// "Deployment/<name>", or empty for a first deployment.
	StableAnnotation = "rollout.aurora.dev/stable"
	// StableReplicasAnnotation is the stable version's replicas before the Rollout, restored on
	// rollback.
	StableReplicasAnnotation = "rollout.aurora.dev/stable-replicas"
	// FullReplicasAnnotation is the replica count the weights split.
	FullReplicasAnnotation = "rollout.aurora.dev/full-replicas"
	// HPAAnnotation is the JSON of the HorizontalPodAutoscaler frozen (removed) for the Rollout,
	// restored at the end.
	HPAAnnotation = "rollout.aurora.dev/hpa"
	// PassedAnnotation lists, comma separated, the gates of the blue/green conditions that passed.
	PassedAnnotation = "rollout.aurora.dev/passed"
	// SelectorsAnnotation is the JSON of the selectors of the Services the execution switches, as
	// they were before, by Service name.
	SelectorsAnnotation = "rollout.aurora.dev/selectors"
)

// Roles of a version (RoleAnnotation).
const (
	roleCanary = "canary"
	roleStable = "stable"
)

// FieldManager is the server-side apply field manager of everything the executor applies.
const FieldManager = "aurora-executor"

// TrafficFieldManager is the server-side apply field manager of the fields the executor switches
// to route traffic: Service selectors, TrafficSplit backends, VirtualService routes and
// DestinationRule subsets. It is not FieldManager, so that applying those fields alone never drops
// the rest of what the manifests applied.
const TrafficFieldManager = "aurora-traffic"

// labelValue returns s when it is a valid label value, else a valid value derived from it: cut to
// 52 characters, trimmed to end on an alphanumeric character, with a dash and 10 hex digits of its
// SHA-256, so that distinct inputs stay distinct.
func labelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	prefix := s
	if len(prefix) > 52 {
		prefix = prefix[:52]
	}
	prefix = strings.TrimFunc(prefix, func(r rune) bool { return !isAlphanumeric(r) })
	var b strings.Builder
	for _, r := range prefix {
		if isAlphanumeric(r) || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	if b.Len() == 0 {
		return hex.EncodeToString(sum[:])[:10]
	}
	return b.String() + "-" + hex.EncodeToString(sum[:])[:10]
}

func isAlphanumeric(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}
