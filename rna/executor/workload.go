package executor

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// Identity is who a version belongs to: what its labels, annotations and env vars say.
type Identity struct {
	// Application is spec.application.
	Application string
	// DeploymentID is spec.deploymentName.
	DeploymentID string
	// Environment is spec.target.
	Environment string
	// Rollout is "<namespace>/<name>" of the Rollout.
	Rollout string
}

// IdentityOf returns the identity of a Rollout's versions.
func IdentityOf(r *rolloutv1alpha1.Rollout) Identity {
	return Identity{
		Application:  r.Spec.Application,
		DeploymentID: r.Spec.DeploymentName,
		Environment:  r.Spec.Target,
		Rollout:      r.Namespace + "/" + r.Name,
	}
}

// versionLabels are the labels of a version's ReplicaSet and pods.
func versionLabels(id Identity, workload, version string) map[string]string {
	return map[string]string{
		ApplicationLabel:  labelValue(id.Application),
		DeploymentIDLabel: labelValue(id.DeploymentID),
		EnvironmentLabel:  labelValue(id.Environment),
		VersionLabel:      version,
		WorkloadLabel:     labelValue(workload),
	}
}

// versionAnnotations are the annotations of a version's ReplicaSet and pods: the full values.
func versionAnnotations(id Identity, workload, version string) map[string]string {
	return map[string]string{
		ApplicationLabel:  id.Application,
		DeploymentIDLabel: id.DeploymentID,
		EnvironmentLabel:  id.Environment,
		VersionLabel:      version,
		WorkloadLabel:     workload,

		ArmoryApplicationAnnotation:    id.Application,
		ArmoryDeploymentIDAnnotation:   id.DeploymentID,
		ArmoryEnvironmentAnnotation:    id.Environment,
		ArmoryReplicaSetNameAnnotation: version,
	}
}

// VersionTemplate returns the pod template of a version: the manifest's, with the version's labels
// and annotations added and the AURORA_* env vars set in every container and init container
// (replacing variables of the same name).
func VersionTemplate(d *appsv1.Deployment, id Identity, version string) corev1.PodTemplateSpec {
	t := *d.Spec.Template.DeepCopy()
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	maps.Copy(t.Labels, versionLabels(id, d.Name, version))
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	maps.Copy(t.Annotations, versionAnnotations(id, d.Name, version))
	env := []corev1.EnvVar{
		{Name: ApplicationEnv, Value: id.Application},
		{Name: DeploymentIDEnv, Value: id.DeploymentID},
		{Name: EnvironmentEnv, Value: id.Environment},
		{Name: VersionEnv, Value: version},
		{Name: "ARMORY_APPLICATION_NAME", Value: id.Application},
		{Name: "ARMORY_DEPLOYMENT_ID", Value: id.DeploymentID},
		{Name: "ARMORY_ENVIRONMENT_NAME", Value: id.Environment},
		{Name: "ARMORY_REPLICA_SET_NAME", Value: version},
	}
	for i := range t.Spec.Containers {
		t.Spec.Containers[i].Env = withEnv(t.Spec.Containers[i].Env, env)
	}
	for i := range t.Spec.InitContainers {
		t.Spec.InitContainers[i].Env = withEnv(t.Spec.InitContainers[i].Env, env)
	}
	return t
}

// withEnv returns vars without those named in set, then set.
func withEnv(vars, set []corev1.EnvVar) []corev1.EnvVar {
	out := make([]corev1.EnvVar, 0, len(vars)+len(set))
	for _, v := range vars {
		replaced := false
		for _, s := range set {
			replaced = replaced || s.Name == v.Name
		}
		if !replaced {
			out = append(out, v)
		}
	}
	return append(out, set...)
}

// VersionReplicaSet returns the ReplicaSet of a new version: named after the version, labelled
// with the version's labels only (never the manifest's, so that no Deployment of the application
// adopts it), selecting the manifest's selector plus the version label, running replicas pods of
// VersionTemplate, and annotated with the identity, the Rollout and the execution state.
func VersionReplicaSet(w Workload, id Identity, version string, replicas int32, state WorkloadState) *appsv1.ReplicaSet {
	d := w.Deployment
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[VersionLabel] = version
	annotations := versionAnnotations(id, w.Name, version)
	annotations[RolloutAnnotation] = id.Rollout
	maps.Copy(annotations, state.Annotations())
	return &appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   d.Namespace,
			Name:        version,
			Labels:      versionLabels(id, w.Name, version),
			Annotations: annotations,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To(replicas),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        VersionTemplate(d, id, version),
		},
	}
}

// HandoverDeployment returns the apps/v1 Deployment that keepDeploymentObject keeps: the
// manifest's, with the running version's pod template (template, as the ReplicaSet holds it) and
// replicas. Its controller adopts that ReplicaSet (once labelled with HandoverLabels) instead of
// creating pods: the template is the same. replicas is nil when an HPA scales the Deployment.
func HandoverDeployment(w Workload, id Identity, version string, template corev1.PodTemplateSpec, replicas *int32) *appsv1.Deployment {
	src := w.Deployment
	labels := maps.Clone(src.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, versionLabels(id, w.Name, version))
	annotations := maps.Clone(src.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	maps.Copy(annotations, versionAnnotations(id, w.Name, version))
	annotations[RolloutAnnotation] = id.Rollout
	spec := *src.Spec.DeepCopy()
	spec.Template = *template.DeepCopy()
	spec.Replicas = replicas
	spec.Paused = false
	return &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   src.Namespace,
			Name:        src.Name,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: spec,
	}
}

// HandoverLabels are the labels a version's ReplicaSet gets for the kept Deployment to adopt it:
// its pod template's labels, which the Deployment's selector selects.
func HandoverLabels(rs *appsv1.ReplicaSet) map[string]string {
	return maps.Clone(rs.Spec.Template.Labels)
}

// ReplicaSetObservation returns what a ReplicaSet shows.
func ReplicaSetObservation(rs *appsv1.ReplicaSet) *VersionObservation {
	return &VersionObservation{
		Ref:           ObjectRef{Kind: KindReplicaSet, Name: rs.Name},
		Version:       rs.Name,
		SpecReplicas:  ptr.Deref(rs.Spec.Replicas, 1),
		Replicas:      rs.Status.Replicas,
		ReadyReplicas: rs.Status.ReadyReplicas,
		Synced:        rs.Status.ObservedGeneration >= rs.Generation,
	}
}

// DeploymentObservation returns what an apps/v1 Deployment shows. Its version is the version label
// of its pod template when Aurora kept it, else its name.
func DeploymentObservation(d *appsv1.Deployment) *VersionObservation {
	version := d.Spec.Template.Labels[VersionLabel]
	if version == "" {
		version = d.Name
	}
	return &VersionObservation{
		Ref:           ObjectRef{Kind: KindDeployment, Name: d.Name},
		Version:       version,
		SpecReplicas:  ptr.Deref(d.Spec.Replicas, 1),
		Replicas:      d.Status.Replicas,
		ReadyReplicas: d.Status.ReadyReplicas,
		Synced:        d.Status.ObservedGeneration >= d.Generation,
	}
}

// isManagedVersion reports whether a ReplicaSet is a version of workload that the executor manages
// by itself: labelled for it, not owned by a controller (a kept Deployment), not being deleted.
func isManagedVersion(rs *appsv1.ReplicaSet, workload string) bool {
	return rs.Labels[WorkloadLabel] == labelValue(workload) && rs.Labels[VersionLabel] != "" &&
		metav1.GetControllerOf(rs) == nil && rs.DeletionTimestamp.IsZero()
}

// Candidate is a workload that may be the stable version of a workload.
type Candidate struct {
	// Ref names it.
	Ref ObjectRef
	// Replicas is its spec.replicas.
	Replicas int32
	// Created is its creation time.
	Created metav1.Time
}

// ChooseStable picks the stable version among candidates (the versions of a workload that run and
// are not canaries of a running Rollout): the one with the most replicas, the newest on a tie.
// Candidates with no replicas are no stable version: nothing of them runs.
func ChooseStable(candidates []Candidate) (Candidate, bool) {
	var best Candidate
	found := false
	for _, c := range candidates {
		if c.Replicas <= 0 {
			continue
		}
		if !found || c.Replicas > best.Replicas || (c.Replicas == best.Replicas && best.Created.Before(&c.Created)) {
			best, found = c, true
		}
	}
	return best, found
}
