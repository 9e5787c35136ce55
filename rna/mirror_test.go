package rna

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// mirrored returns a mirrored Rollout of the target cluster.
func mirrored(namespace, name, uid, generation string, targetUID types.UID) rolloutv1alpha1.Rollout {
	return rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{
		Namespace: namespace, Name: name, UID: targetUID,
		Labels: map[string]string{rolloutv1alpha1.MirroredLabel: "true"},
		Annotations: map[string]string{rolloutv1alpha1.CloudUIDAnnotation: uid, rolloutv1alpha1.CloudGenerationAnnotation: generation,
			rolloutv1alpha1.CloudNamespaceAnnotation: "tenant-acme"},
	}}
}

func TestIsMirroredAndRefOf(t *testing.T) {
	m := mirrored("team", "web", "uid-1", "7", "t-1")
	if !isMirrored(&m) {
		t.Error("a labelled rollout with a cloud uid is mirrored")
	}
	if got, want := refOf(&m), (&tunnelv1.RolloutRef{Uid: "uid-1", Namespace: "tenant-acme", Name: "web", Generation: 7}); !refsEqual(got, want) {
		t.Errorf("refOf = %v, want %v", got, want)
	}
	noUID := mirrored("team", "web", "", "7", "t-1")
	unlabelled := mirrored("team", "web", "uid-1", "7", "t-1")
	unlabelled.Labels = nil
	for name, r := range map[string]rolloutv1alpha1.Rollout{"no cloud uid": noUID, "no label": unlabelled} {
		if isMirrored(&r) {
			t.Errorf("%s: counted as mirrored", name)
		}
	}
	for annotation, want := range map[string]int64{"12": 12, "": 0, "x": 0, "-3": -3} {
		r := mirrored("team", "web", "uid-1", annotation, "t-1")
		if got := cloudGeneration(&r); got != want {
			t.Errorf("cloudGeneration(%q) = %d, want %d", annotation, got, want)
		}
	}
}

func TestResyncState(t *testing.T) {
	unlabelled := mirrored("team", "mine", "uid-x", "1", "t-3")
	unlabelled.Labels = nil
	rollouts := []rolloutv1alpha1.Rollout{mirrored("a", "one", "uid-1", "3", "t-1"), unlabelled, mirrored("b", "two", "uid-2", "bad", "t-2")}
	got := resyncState(rollouts)
	want := []*tunnelv1.RolloutRef{
		{Uid: "uid-1", Namespace: "tenant-acme", Name: "one", Generation: 3},
		{Uid: "uid-2", Namespace: "tenant-acme", Name: "two", Generation: 0},
	}
	if len(got) != len(want) || !refsEqual(got[0], want[0]) || !refsEqual(got[1], want[1]) {
		t.Errorf("resyncState = %v, want %v", got, want)
	}
	if got := resyncState(nil); got == nil || len(got) != 0 {
		t.Errorf("resyncState(nil) = %#v, want an empty list", got)
	}
}

func TestMirroredRollout(t *testing.T) {
	ref := &tunnelv1.RolloutRef{Uid: "uid-1", Namespace: "tenant-acme", Name: "web-staging", Generation: 4}
	valid := func(mutate func(map[string]any)) []byte {
		obj := map[string]any{
			"apiVersion": "rollout.aurora.dev/v1alpha1", "kind": "Rollout",
			"metadata": map[string]any{
				"name": "web-staging", "namespace": "tenant-acme", "uid": "cloud-uid", "resourceVersion": "9", "generation": 4,
				"labels":          map[string]any{"rollout.aurora.dev/target": "staging", rolloutv1alpha1.MirroredLabel: "no"},
				"annotations":     map[string]any{"note": "kept", rolloutv1alpha1.CloudUIDAnnotation: "forged"},
				"ownerReferences": []any{map[string]any{"apiVersion": "deploy.aurora.dev/v1alpha1", "kind": "Deployment", "name": "web", "uid": "d"}},
				"finalizers":      []any{"x/y"},
			},
			"spec":   map[string]any{"deploymentName": "web", "namespace": "web-team", "futureField": "passed on"},
			"status": map[string]any{"phase": "Succeeded"},
		}
		if mutate != nil {
			mutate(obj)
		}
		b, _ := json.Marshal(obj)
		return b
	}
	spec := func(obj map[string]any) map[string]any { return obj["spec"].(map[string]any) }
	meta := func(obj map[string]any) map[string]any { return obj["metadata"].(map[string]any) }

	got, err := mirroredRollout(ref, valid(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "rollout.aurora.dev/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{
			"name": "web-staging", "namespace": "web-team",
			"labels": map[string]any{"rollout.aurora.dev/target": "staging", rolloutv1alpha1.MirroredLabel: "true"},
			"annotations": map[string]any{"note": "kept", rolloutv1alpha1.CloudUIDAnnotation: "uid-1",
				rolloutv1alpha1.CloudNamespaceAnnotation: "tenant-acme", rolloutv1alpha1.CloudGenerationAnnotation: "4"},
		},
		"spec": map[string]any{"deploymentName": "web", "namespace": "web-team", "futureField": "passed on"},
	}
	if !reflect.DeepEqual(got.Object, want) {
		t.Errorf("mirroredRollout =\n%v\nwant\n%v", got.Object, want)
	}

	for _, tc := range []struct {
		name      string
		ref       *tunnelv1.RolloutRef
		json      []byte
		wantNS    string
		wantError string
	}{
		{"no spec.namespace goes to default", ref, valid(func(o map[string]any) { delete(spec(o), "namespace") }), "default", ""},
		{"no apiVersion, kind or name is fine", ref, valid(func(o map[string]any) {
			delete(o, "apiVersion")
			delete(o, "kind")
			delete(meta(o), "name")
		}), "web-team", ""},
		{"no labels or annotations", ref, valid(func(o map[string]any) {
			delete(meta(o), "labels")
			delete(meta(o), "annotations")
		}), "web-team", ""},
		{"nil ref", nil, valid(nil), "", "no rollout ref"},
		{"ref without uid", &tunnelv1.RolloutRef{Name: "web-staging"}, valid(nil), "", "no uid"},
		{"ref without name", &tunnelv1.RolloutRef{Uid: "u"}, valid(nil), "", "no name"},
		{"ref with an invalid name", &tunnelv1.RolloutRef{Uid: "u", Name: "Web_Staging"}, valid(nil), "", "not valid"},
		{"name differs from the ref", ref, valid(func(o map[string]any) { meta(o)["name"] = "other" }), "", "but its ref names"},
		{"another apiVersion", ref, valid(func(o map[string]any) { o["apiVersion"] = "apps/v1" }), "", "apiVersion"},
		{"another kind", ref, valid(func(o map[string]any) { o["kind"] = "Deployment" }), "", "kind"},
		{"no spec", ref, valid(func(o map[string]any) { delete(o, "spec") }), "", "no spec"},
		{"invalid namespace", ref, valid(func(o map[string]any) { spec(o)["namespace"] = "Not_A_Namespace" }), "", "spec.namespace"},
		{"not JSON", ref, []byte("{"), "", "decoding"},
		{"wrong types", ref, []byte(`{"spec":{"manifests":"not a list"}}`), "", "decoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mirroredRollout(tc.ref, tc.json)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.GetNamespace() != tc.wantNS || got.GetName() != "web-staging" || got.GetLabels()[rolloutv1alpha1.MirroredLabel] != "true" ||
				got.GetAnnotations()[rolloutv1alpha1.CloudUIDAnnotation] != "uid-1" {
				t.Errorf("got %s/%s labels %v annotations %v", got.GetNamespace(), got.GetName(), got.GetLabels(), got.GetAnnotations())
			}
		})
	}
}

func TestPlanApply(t *testing.T) {
	target := types.NamespacedName{Namespace: "team", Name: "web"}
	ref := &tunnelv1.RolloutRef{Uid: "uid-1", Name: "web", Generation: 5}
	userMade := &rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", UID: "t-user"}}
	here := func(uid, gen string) rolloutv1alpha1.Rollout { return mirrored("team", "web", uid, gen, "t-here") }
	elsewhere := mirrored("old-team", "web", "uid-1", "4", "t-old")
	ptr := func(r rolloutv1alpha1.Rollout) *rolloutv1alpha1.Rollout { return &r }

	for _, tc := range []struct {
		name     string
		sameUID  []rolloutv1alpha1.Rollout
		atTarget *rolloutv1alpha1.Rollout
		want     applyPlan
	}{
		{"nothing held: apply", nil, nil, applyPlan{}},
		{"older generation held: apply", []rolloutv1alpha1.Rollout{here("uid-1", "4")}, ptr(here("uid-1", "4")), applyPlan{}},
		{"same generation held: skip", []rolloutv1alpha1.Rollout{here("uid-1", "5")}, ptr(here("uid-1", "5")), applyPlan{skip: true}},
		{"newer generation held: skip", []rolloutv1alpha1.Rollout{here("uid-1", "6")}, ptr(here("uid-1", "6")), applyPlan{skip: true}},
		{"unreadable generation held: apply", []rolloutv1alpha1.Rollout{here("uid-1", "x")}, ptr(here("uid-1", "x")), applyPlan{}},
		{"user's rollout at target: refuse", nil, userMade, applyPlan{refuse: errors.New("not mirrored")}},
		{"another cloud uid at target: replace", nil, ptr(here("uid-0", "9")),
			applyPlan{replace: &objectRef{NamespacedName: target, UID: "t-here"}}},
		{"moved namespace: apply, then delete the old one", []rolloutv1alpha1.Rollout{elsewhere}, nil,
			applyPlan{stale: []objectRef{{NamespacedName: types.NamespacedName{Namespace: "old-team", Name: "web"}, UID: "t-old"}}}},
		{"moved onto a replaced one", []rolloutv1alpha1.Rollout{elsewhere}, ptr(here("uid-0", "1")),
			applyPlan{replace: &objectRef{NamespacedName: target, UID: "t-here"},
				stale: []objectRef{{NamespacedName: types.NamespacedName{Namespace: "old-team", Name: "web"}, UID: "t-old"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planApply(ref, target, tc.sameUID, tc.atTarget)
			if (got.refuse == nil) != (tc.want.refuse == nil) ||
				(got.refuse != nil && !strings.Contains(got.refuse.Error(), tc.want.refuse.Error())) {
				t.Errorf("refuse = %v, want %v", got.refuse, tc.want.refuse)
			}
			got.refuse, tc.want.refuse = nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWithCloudUID(t *testing.T) {
	unlabelled := mirrored("c", "x", "uid-1", "1", "t-3")
	unlabelled.Labels = nil
	all := []rolloutv1alpha1.Rollout{mirrored("a", "x", "uid-1", "1", "t-1"), mirrored("b", "y", "uid-2", "1", "t-2"), unlabelled}
	got := withCloudUID(all, "uid-1")
	if len(got) != 1 || got[0].UID != "t-1" {
		t.Errorf("withCloudUID = %v", got)
	}
}

func TestAckFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want *tunnelv1.Ack
	}{
		{"ok", nil, &tunnelv1.Ack{AckId: 7, Ok: true}},
		{"failure", errors.New("applying: forbidden"), &tunnelv1.Ack{AckId: 7, Ok: false, Error: "applying: forbidden"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ackFor(7, tc.err).GetAck()
			if got.GetAckId() != tc.want.GetAckId() || got.GetOk() != tc.want.GetOk() || got.GetError() != tc.want.GetError() {
				t.Errorf("ack = %v, want %v", got, tc.want)
			}
		})
	}
}
