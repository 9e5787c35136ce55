package executor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// versionHashLength is the number of hex digits of the hash in a version name.
const versionHashLength = 10

// maxVersionPrefix keeps version names within the 63 characters of a label value.
const maxVersionPrefix = 63 - 1 - versionHashLength

// ExecutionFingerprint hashes what an execution runs: the manifests (so every pod template), the
// strategy, the timeout, keepDeploymentObject, the namespace and the identity fields. Decisions are
// left out: appending one continues the same execution.
func ExecutionFingerprint(spec *rolloutv1alpha1.RolloutSpec) string {
	body, _ := json.Marshal(struct {
		Manifests            []string `json:"m"`
		Strategy             any      `json:"s"`
		Timeout              any      `json:"t"`
		KeepDeploymentObject bool     `json:"k"`
		Namespace            string   `json:"n"`
		Application          string   `json:"a"`
		DeploymentName       string   `json:"d"`
		Target               string   `json:"e"`
	}{spec.Manifests, spec.Strategy, spec.Timeout, spec.KeepDeploymentObject, spec.Namespace,
		spec.Application, spec.DeploymentName, spec.Target})
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// VersionName names the version a Rollout brings for one workload:
// "<workload>-<10 hex digits>", the digits hashing the workload, the execution fingerprint and the
// Rollout's cloud uid. Every Rollout (and every change of its manifests) thus makes a new version,
// even of an unchanged pod template. The workload's name is cut so that the whole fits a label value.
func VersionName(workload, fingerprint, rolloutUID string) string {
	sum := sha256.Sum256([]byte(workload + "\x00" + fingerprint + "\x00" + rolloutUID))
	prefix := workload
	if len(prefix) > maxVersionPrefix {
		prefix = prefix[:maxVersionPrefix]
	}
	prefix = strings.TrimRight(prefix, "-.")
	return prefix + "-" + hex.EncodeToString(sum[:])[:versionHashLength]
}

// joinRevisions joins version names for status.stableRevision and status.canaryRevision.
func joinRevisions(names []string) string {
	var kept []string
	for _, n := range names {
		if n != "" {
			kept = append(kept, n)
		}
	}
	return strings.Join(kept, ",")
}

// splitRevisions is the inverse of joinRevisions.
func splitRevisions(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
