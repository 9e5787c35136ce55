package rna

import (
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// FuzzHubMessage decodes arbitrary bytes as a tunnel Envelope from the Hub and runs what the agent
// does with an ApplyRollout or DeleteRollout before it touches its cluster: the ref check, the
// object to server-side apply, and the apply plan against an empty cluster. Nothing may panic; an
// accepted ApplyRollout becomes exactly one Rollout named by its ref, in a valid namespace, marked
// mirrored and carrying the ref's uid and generation; a ref without uid or a valid name is
// refused. Seeds: testdata/fuzz/FuzzHubMessage.
func FuzzHubMessage(f *testing.F) {
	ref := &tunnelv1.RolloutRef{Uid: "4b1c", Namespace: "aurora-acme-prod", Name: "web-staging", Generation: 3}
	for _, env := range []*tunnelv1.Envelope{
		{Id: 1, Payload: &tunnelv1.Envelope_ApplyRollout{ApplyRollout: &tunnelv1.ApplyRollout{Ref: ref, Rollout: []byte(
			`{"apiVersion":"rollout.aurora.dev/v1alpha1","kind":"Rollout","metadata":{"name":"web-staging","labels":{"a":"b"}},` +
				`"spec":{"deploymentName":"web","application":"web","target":"staging","account":"staging","namespace":"web",` +
				`"manifests":["kind: ConfigMap"],"strategy":{"canary":{"steps":[{"setWeight":{"weight":50}}]}}}}`)}}},
		{Id: 2, Payload: &tunnelv1.Envelope_ApplyRollout{ApplyRollout: &tunnelv1.ApplyRollout{Ref: ref, Rollout: []byte(`{"kind":"Secret","spec":{}}`)}}},
		{Id: 3, Payload: &tunnelv1.Envelope_ApplyRollout{ApplyRollout: &tunnelv1.ApplyRollout{Ref: &tunnelv1.RolloutRef{Uid: "x", Name: "../etc"},
			Rollout: []byte(`{"spec":{"namespace":"kube-system"}}`)}}},
		{Id: 4, Payload: &tunnelv1.Envelope_DeleteRollout{DeleteRollout: &tunnelv1.DeleteRollout{Ref: ref}}},
		{Id: 5, Payload: &tunnelv1.Envelope_Welcome{Welcome: &tunnelv1.Welcome{HeartbeatIntervalMs: 1000}}},
	} {
		raw, err := proto.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env := &tunnelv1.Envelope{}
		if err := proto.Unmarshal(data, env); err != nil {
			return
		}
		if del := env.GetDeleteRollout(); del != nil {
			checkRefVerdict(t, del.GetRef(), validateRef(del.GetRef()))
		}
		apply := env.GetApplyRollout()
		if apply == nil {
			return
		}
		ref := apply.GetRef()
		u, err := mirroredRollout(ref, apply.GetRollout())
		checkRefVerdict(t, ref, validateRef(ref))
		if err != nil {
			return
		}
		if validateRef(ref) != nil {
			t.Fatalf("an ApplyRollout with a bad ref was accepted: %+v", ref)
		}
		if u.GetName() != ref.GetName() || u.GetKind() != "Rollout" || u.GetAPIVersion() != rolloutv1alpha1.GroupVersion.String() {
			t.Fatalf("accepted %s %s/%s for ref %s", u.GetKind(), u.GetAPIVersion(), u.GetName(), ref.GetName())
		}
		if problems := validation.IsDNS1123Label(u.GetNamespace()); len(problems) > 0 {
			t.Fatalf("namespace %q: %v", u.GetNamespace(), problems)
		}
		if u.GetLabels()[rolloutv1alpha1.MirroredLabel] != mirroredLabelValue {
			t.Fatalf("not marked mirrored: %v", u.GetLabels())
		}
		a := u.GetAnnotations()
		if a[rolloutv1alpha1.CloudUIDAnnotation] != ref.GetUid() || a[rolloutv1alpha1.CloudGenerationAnnotation] != strconv.FormatInt(ref.GetGeneration(), 10) {
			t.Fatalf("annotations %v do not carry ref %+v", a, ref)
		}
		if _, ok := u.Object["status"]; ok {
			t.Fatal("the cloud's status was carried into the target")
		}
		plan := planApply(ref, types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}, nil, nil)
		if plan.skip || plan.refuse != nil || plan.replace != nil || len(plan.stale) > 0 {
			t.Fatalf("an empty cluster planned %+v", plan)
		}
	})
}

// checkRefVerdict checks that validateRef refuses exactly the refs without a uid or a valid name.
func checkRefVerdict(t *testing.T, ref *tunnelv1.RolloutRef, err error) {
	t.Helper()
	bad := ref == nil || ref.GetUid() == "" || len(validation.IsDNS1123Subdomain(ref.GetName())) > 0
	if bad != (err != nil) {
		t.Fatalf("ref %+v: refused=%v, want %v (%v)", ref, err != nil, bad, err)
	}
}
