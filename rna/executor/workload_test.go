package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func manifestWorkload() Workload {
	return Workload{Name: "web", Deployment: &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", Labels: map[string]string{"app": "web", "tier": "front"}, Annotations: map[string]string{"note": "n"}},
		Spec: appsv1.DeploymentSpec{
			Replicas:        ptr.To[int32](4),
			MinReadySeconds: 3,
			Selector:        &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init", Image: "i"}},
					Containers: []corev1.Container{{Name: "c", Image: "img", Env: []corev1.EnvVar{
						{Name: "KEEP", Value: "k"}, {Name: VersionEnv, Value: "stale"}}}},
				},
			},
		},
	}}
}

var identity = Identity{Application: "potato-facts", DeploymentID: "deploy-42", Environment: "prod", Rollout: "team/deploy-42-prod"}

func TestVersionTemplate(t *testing.T) {
	g := NewWithT(t)
	w := manifestWorkload()
	tpl := VersionTemplate(w.Deployment, identity, "web-0123456789")
	g.Expect(tpl.Labels).To(Equal(map[string]string{"app": "web", ApplicationLabel: "potato-facts", DeploymentIDLabel: "deploy-42",
		EnvironmentLabel: "prod", VersionLabel: "web-0123456789", WorkloadLabel: "web"}))
	g.Expect(tpl.Annotations).To(HaveKeyWithValue(DeploymentIDLabel, "deploy-42"))
	g.Expect(tpl.Annotations).To(HaveKeyWithValue(ArmoryReplicaSetNameAnnotation, "web-0123456789"))
	g.Expect(tpl.Annotations).To(HaveKeyWithValue(ArmoryApplicationAnnotation, "potato-facts"))
	want := []corev1.EnvVar{{Name: ApplicationEnv, Value: "potato-facts"}, {Name: DeploymentIDEnv, Value: "deploy-42"},
		{Name: EnvironmentEnv, Value: "prod"}, {Name: VersionEnv, Value: "web-0123456789"},
		{Name: "ARMORY_APPLICATION_NAME", Value: "potato-facts"}, {Name: "ARMORY_DEPLOYMENT_ID", Value: "deploy-42"},
		{Name: "ARMORY_ENVIRONMENT_NAME", Value: "prod"}, {Name: "ARMORY_REPLICA_SET_NAME", Value: "web-0123456789"}}
	g.Expect(tpl.Spec.Containers[0].Env).To(Equal(append([]corev1.EnvVar{{Name: "KEEP", Value: "k"}}, want...)), "replaces a variable of the same name")
	g.Expect(tpl.Spec.InitContainers[0].Env).To(Equal(want))
	g.Expect(w.Deployment.Spec.Template.Labels).To(HaveLen(1), "the manifest is not changed")
}

func TestVersionReplicaSet(t *testing.T) {
	g := NewWithT(t)
	state := WorkloadState{StartedAt: t0, Step: 2, StepStartedAt: t0.Add(time.Minute), Decisions: []string{"a", "b"},
		Stable: ObjectRef{Kind: KindDeployment, Name: "web"}, StableReplicas: 4, FullReplicas: 4, Role: roleCanary}
	rs := VersionReplicaSet(manifestWorkload(), identity, "web-0123456789", 2, state)
	g.Expect(rs.Name).To(Equal("web-0123456789"))
	g.Expect(rs.Namespace).To(Equal("team"))
	g.Expect(rs.Labels).NotTo(HaveKey("app"), "no Deployment of the application may adopt it")
	g.Expect(rs.Labels).To(HaveKeyWithValue(VersionLabel, "web-0123456789"))
	g.Expect(rs.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "web", VersionLabel: "web-0123456789"}))
	g.Expect(*rs.Spec.Replicas).To(BeEquivalentTo(2))
	g.Expect(rs.Spec.MinReadySeconds).To(BeEquivalentTo(3))
	g.Expect(rs.Annotations).To(HaveKeyWithValue(RolloutAnnotation, "team/deploy-42-prod"))
	back, err := ParseWorkloadState(rs.Annotations)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(back).To(Equal(state), "the state survives a round trip through the annotations")
}

func TestParseWorkloadStateErrors(t *testing.T) {
	g := NewWithT(t)
	good := WorkloadState{StartedAt: t0, Step: 1, StepStartedAt: t0}.Annotations()
	for key, bad := range map[string]string{StepAnnotation: "zero", StepStartedAtAnnotation: "yesterday", StableAnnotation: "Pod/x", FullReplicasAnnotation: "-1"} {
		a := map[string]string{}
		for k, v := range good {
			a[k] = v
		}
		a[key] = bad
		_, err := ParseWorkloadState(a)
		g.Expect(err).To(MatchError(ContainSubstring(key)))
	}
}

func TestCombineStates(t *testing.T) {
	g := NewWithT(t)
	_, ok := combineStates([]*WorkloadState{nil, nil})
	g.Expect(ok).To(BeFalse())
	e, ok := combineStates([]*WorkloadState{
		{Step: 2, StepStartedAt: t0.Add(time.Second), Decisions: []string{"a"}},
		nil,
		{Step: 3, StepStartedAt: t0.Add(3 * time.Second), Decisions: []string{"a", "b"}},
		{Step: 3, StepStartedAt: t0.Add(2 * time.Second), Decisions: []string{"c"}},
	})
	g.Expect(ok).To(BeTrue())
	g.Expect(e).To(Equal(ExecutionState{Step: 3, StepStartedAt: t0.Add(2 * time.Second), Decisions: []string{"a", "b", "c"}}))
}

func TestHandoverDeployment(t *testing.T) {
	g := NewWithT(t)
	w := manifestWorkload()
	rs := VersionReplicaSet(w, identity, "web-0123456789", 4, WorkloadState{})
	d := HandoverDeployment(w, identity, "web-0123456789", rs.Spec.Template, ptr.To[int32](6))
	g.Expect(d.Name).To(Equal("web"))
	g.Expect(d.Spec.Template).To(Equal(rs.Spec.Template), "the same template, so that its controller adopts the ReplicaSet")
	g.Expect(d.Spec.Selector).To(Equal(w.Deployment.Spec.Selector))
	g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(6))
	g.Expect(d.Labels).To(HaveKeyWithValue("tier", "front"))
	g.Expect(d.Annotations).To(HaveKeyWithValue("note", "n"))
	labels := HandoverLabels(rs)
	g.Expect(labels).To(HaveKeyWithValue("app", "web"), "the labels the Deployment's selector selects")
}

func TestObservations(t *testing.T) {
	g := NewWithT(t)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Generation: 3},
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](5)},
		Status: appsv1.ReplicaSetStatus{Replicas: 5, ReadyReplicas: 4, ObservedGeneration: 2}}
	g.Expect(ReplicaSetObservation(rs)).To(Equal(&VersionObservation{Ref: ObjectRef{Kind: KindReplicaSet, Name: "web-1"}, Version: "web-1", SpecReplicas: 5, Replicas: 5, ReadyReplicas: 4}))
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Status: appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1}}
	g.Expect(DeploymentObservation(d)).To(Equal(&VersionObservation{Ref: ObjectRef{Kind: KindDeployment, Name: "web"}, Version: "web", SpecReplicas: 1, Replicas: 1, ReadyReplicas: 1, Synced: true}))
	d.Spec.Template.Labels = map[string]string{VersionLabel: "web-2"}
	g.Expect(DeploymentObservation(d).Version).To(Equal("web-2"), "a kept Deployment names its version")
}

func TestChooseStable(t *testing.T) {
	older, newer := metav1.NewTime(t0), metav1.NewTime(t0.Add(time.Hour))
	rs := func(name string, n int32, created metav1.Time) Candidate {
		return Candidate{Ref: ObjectRef{Kind: KindReplicaSet, Name: name}, Replicas: n, Created: created}
	}
	tests := []struct {
		name       string
		candidates []Candidate
		want       string
	}{
		{"none", nil, ""},
		{"only scaled to zero", []Candidate{rs("a", 0, older)}, ""},
		{"the most replicas", []Candidate{rs("a", 3, newer), rs("b", 5, older)}, "b"},
		{"the newest on a tie", []Candidate{rs("a", 3, older), rs("b", 3, newer)}, "b"},
		{"a Deployment", []Candidate{{Ref: ObjectRef{Kind: KindDeployment, Name: "web"}, Replicas: 2}, rs("a", 0, newer)}, "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, ok := ChooseStable(tt.candidates)
			g.Expect(ok).To(Equal(tt.want != ""))
			g.Expect(got.Ref.Name).To(Equal(tt.want))
		})
	}
}

func TestIsManagedVersion(t *testing.T) {
	g := NewWithT(t)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{WorkloadLabel: "web", VersionLabel: "web-1"}}}
	g.Expect(isManagedVersion(rs, "web")).To(BeTrue())
	g.Expect(isManagedVersion(rs, "api")).To(BeFalse())
	owned := rs.DeepCopy()
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u", Controller: ptr.To(true)}}
	g.Expect(isManagedVersion(owned, "web")).To(BeFalse(), "a kept Deployment's ReplicaSet is the Deployment's")
	deleting := rs.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	g.Expect(isManagedVersion(deleting, "web")).To(BeFalse())
}

func TestObjectRef(t *testing.T) {
	g := NewWithT(t)
	for _, s := range []string{"", "ReplicaSet/web-1", "Deployment/web"} {
		r, err := parseObjectRef(s)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.String()).To(Equal(s))
	}
	for _, s := range []string{"web", "Pod/x", "ReplicaSet/"} {
		_, err := parseObjectRef(s)
		g.Expect(err).To(HaveOccurred(), s)
	}
}
