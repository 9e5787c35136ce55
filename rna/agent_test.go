package rna

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// These tests run the agent against a real target API server and the in-test hub over TLS.

const waitLong = 10 * time.Second

func applyEnvelope(t *testing.T, uid string, generation int64, r *rolloutv1alpha1.Rollout) *tunnelv1.Envelope {
	t.Helper()
	return &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_ApplyRollout{ApplyRollout: &tunnelv1.ApplyRollout{
		Ref:     &tunnelv1.RolloutRef{Uid: uid, Namespace: "tenant-acme", Name: r.Name, Generation: generation},
		Rollout: mustJSON(t, r),
	}}}
}

func deleteEnvelope(uid, name string) *tunnelv1.Envelope {
	return &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_DeleteRollout{DeleteRollout: &tunnelv1.DeleteRollout{
		Ref: &tunnelv1.RolloutRef{Uid: uid, Namespace: "tenant-acme", Name: name, Generation: 1},
	}}}
}

// expectAck sends env and waits for its Ack, checking ok.
func expectAck(t *testing.T, hs *hubStream, env *tunnelv1.Envelope, wantOK bool) *tunnelv1.Ack {
	t.Helper()
	id := hs.mustSend(t, env)
	ack := hs.waitFor(t, waitLong, "ack", ackOf(id)).GetAck()
	if ack.GetOk() != wantOK {
		t.Fatalf("ack of %s %d: ok=%v (error %q), want ok=%v", payloadName(env), id, ack.GetOk(), ack.GetError(), wantOK)
	}
	return ack
}

func getRollout(t *testing.T, env *testEnv, namespace, name string) *rolloutv1alpha1.Rollout {
	t.Helper()
	var r rolloutv1alpha1.Rollout
	if err := env.cluster.Client.Get(context.Background(), types.NamespacedName{Namespace: namespace, Name: name}, &r); err != nil {
		t.Fatalf("reading rollout %s/%s: %v", namespace, name, err)
	}
	return &r
}

func TestHelloCarriesResyncState(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	ctx := context.Background()
	held := cloudRollout("held-rollout", "", 10)
	held.ObjectMeta = metav1.ObjectMeta{Name: "held-rollout", Namespace: "default",
		Labels: map[string]string{rolloutv1alpha1.MirroredLabel: "true"},
		Annotations: map[string]string{rolloutv1alpha1.CloudUIDAnnotation: "uid-held", rolloutv1alpha1.CloudGenerationAnnotation: "4",
			rolloutv1alpha1.CloudNamespaceAnnotation: "tenant-acme"}}
	usersOwn := cloudRollout("users-own", "", 10)
	usersOwn.ObjectMeta = metav1.ObjectMeta{Name: "users-own", Namespace: "default"}
	for _, r := range []*rolloutv1alpha1.Rollout{held, usersOwn} {
		if err := env.cluster.Client.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	agent, _ := env.newAgent(t, env.hub.addr)
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)

	hello := hs.hello
	if hello.GetAgentIdentifier() != "staging" || hello.GetAgentVersion() != "v0.0.0-test" {
		t.Errorf("hello names agent %q version %q", hello.GetAgentIdentifier(), hello.GetAgentVersion())
	}
	if !strings.HasPrefix(hello.GetKubernetesVersion(), "v1.") {
		t.Errorf("hello.kubernetes_version = %q, want v1.x", hello.GetKubernetesVersion())
	}
	want := []*tunnelv1.RolloutRef{{Uid: "uid-held", Namespace: "tenant-acme", Name: "held-rollout", Generation: 4}}
	if !slices.EqualFunc(hello.GetRollouts(), want, refsEqual) {
		t.Errorf("hello.rollouts = %v, want %v", hello.GetRollouts(), want)
	}
	if !env.tokens.valid(hs.token) {
		t.Errorf("the stream carried token %q, which the token endpoint did not issue", hs.token)
	}
	eventually(t, waitLong, "agent connected", func() error { return agent.TunnelConnected(nil) })
}

func refsEqual(a, b *tunnelv1.RolloutRef) bool {
	return a.GetUid() == b.GetUid() && a.GetNamespace() == b.GetNamespace() && a.GetName() == b.GetName() && a.GetGeneration() == b.GetGeneration()
}

func TestApplyAndDeleteRollout(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	agent, registry := env.newAgent(t, env.hub.addr)
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)
	ctx := context.Background()
	const name, targetNS = "potato-facts-staging", "potato-team"

	// A new Rollout is applied in the namespace its spec names, which is created.
	expectAck(t, hs, applyEnvelope(t, "uid-1", 1, cloudRollout(name, targetNS, 25)), true)
	got := getRollout(t, env, targetNS, name)
	var ns corev1.Namespace
	if err := env.cluster.Client.Get(ctx, types.NamespacedName{Name: targetNS}, &ns); err != nil {
		t.Errorf("namespace %s: %v", targetNS, err)
	}
	if got.Labels[rolloutv1alpha1.MirroredLabel] != "true" || got.Labels[rolloutv1alpha1.DeploymentLabel] != "potato-facts" {
		t.Errorf("labels = %v", got.Labels)
	}
	for k, v := range map[string]string{
		rolloutv1alpha1.CloudUIDAnnotation: "uid-1", rolloutv1alpha1.CloudGenerationAnnotation: "1",
		rolloutv1alpha1.CloudNamespaceAnnotation: "tenant-acme", "example.aurora.dev/note": "kept",
	} {
		if got.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, got.Annotations[k], v)
		}
	}
	if len(got.OwnerReferences) != 0 || len(got.Finalizers) != 0 || got.Status.Phase != "" {
		t.Errorf("cloud-only fields were carried over: owners %v finalizers %v phase %q", got.OwnerReferences, got.Finalizers, got.Status.Phase)
	}
	if w := got.Spec.Strategy.Canary.Steps[0].SetWeight.Weight; w != 25 {
		t.Errorf("weight = %d, want 25", w)
	}
	if !slices.ContainsFunc(got.ManagedFields, func(f metav1.ManagedFieldsEntry) bool {
		return f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply
	}) {
		t.Errorf("no server-side apply by %s in managedFields %v", FieldManager, got.ManagedFields)
	}

	// The same uid and generation again is acknowledged, not applied.
	expectAck(t, hs, applyEnvelope(t, "uid-1", 1, cloudRollout(name, targetNS, 25)), true)
	if again := getRollout(t, env, targetNS, name); again.ResourceVersion != got.ResourceVersion {
		t.Errorf("a duplicate apply changed resourceVersion %s to %s", got.ResourceVersion, again.ResourceVersion)
	}

	// A newer generation updates it; an older one afterwards is a duplicate.
	expectAck(t, hs, applyEnvelope(t, "uid-1", 2, cloudRollout(name, targetNS, 50)), true)
	expectAck(t, hs, applyEnvelope(t, "uid-1", 1, cloudRollout(name, targetNS, 25)), true)
	updated := getRollout(t, env, targetNS, name)
	if w := updated.Spec.Strategy.Canary.Steps[0].SetWeight.Weight; w != 50 || updated.Annotations[rolloutv1alpha1.CloudGenerationAnnotation] != "2" {
		t.Errorf("after generation 2: weight %d, generation annotation %q", w, updated.Annotations[rolloutv1alpha1.CloudGenerationAnnotation])
	}
	if applied, dup := counterValue(t, registry, metricApplies, "result", "applied"), counterValue(t, registry, metricApplies, "result", "duplicate"); applied != 2 || dup != 2 {
		t.Errorf("applies: applied %v duplicate %v, want 2 and 2", applied, dup)
	}

	// DeleteRollout removes it; deleting what is absent is acknowledged too.
	expectAck(t, hs, deleteEnvelope("uid-1", name), true)
	var gone rolloutv1alpha1.Rollout
	if err := env.cluster.Client.Get(ctx, types.NamespacedName{Namespace: targetNS, Name: name}, &gone); !apierrors.IsNotFound(err) {
		t.Errorf("after DeleteRollout: %v, want NotFound", err)
	}
	expectAck(t, hs, deleteEnvelope("uid-1", name), true)
	if deleted, absent := counterValue(t, registry, metricDeletes, "result", "deleted"), counterValue(t, registry, metricDeletes, "result", "absent"); deleted != 1 || absent != 1 {
		t.Errorf("deletes: deleted %v absent %v, want 1 and 1", deleted, absent)
	}
}

func TestApplyRefusesAndReplaces(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	agent, registry := env.newAgent(t, env.hub.addr)
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)
	ctx := context.Background()

	// A Rollout the user made is never overwritten.
	usersOwn := cloudRollout("users-own", "", 10)
	usersOwn.ObjectMeta = metav1.ObjectMeta{Name: "users-own", Namespace: "default"}
	if err := env.cluster.Client.Create(ctx, usersOwn); err != nil {
		t.Fatal(err)
	}
	ack := expectAck(t, hs, applyEnvelope(t, "uid-2", 1, cloudRollout("users-own", "", 90)), false)
	if !strings.Contains(ack.GetError(), "not mirrored") {
		t.Errorf("ack error = %q", ack.GetError())
	}
	if r := getRollout(t, env, "default", "users-own"); r.Spec.Strategy.Canary.Steps[0].SetWeight.Weight != 10 || isMirrored(r) {
		t.Errorf("the user's rollout was changed: %+v", r.ObjectMeta)
	}

	// Undecodable JSON is refused with a reason.
	bad := applyEnvelope(t, "uid-3", 1, cloudRollout("broken", "", 10))
	bad.GetApplyRollout().Rollout = []byte(`{"spec": [`)
	if ack := expectAck(t, hs, bad, false); !strings.Contains(ack.GetError(), "decoding") {
		t.Errorf("ack error = %q", ack.GetError())
	}
	if failed := counterValue(t, registry, metricApplies, "result", "failed"); failed != 2 {
		t.Errorf("failed applies = %v, want 2", failed)
	}

	// A recreated cloud Rollout (same name, new uid) replaces the mirrored one.
	expectAck(t, hs, applyEnvelope(t, "uid-old", 3, cloudRollout("recreated", "", 10)), true)
	old := getRollout(t, env, "default", "recreated")
	expectAck(t, hs, applyEnvelope(t, "uid-new", 1, cloudRollout("recreated", "", 20)), true)
	replaced := getRollout(t, env, "default", "recreated")
	if replaced.UID == old.UID || replaced.Annotations[rolloutv1alpha1.CloudUIDAnnotation] != "uid-new" ||
		replaced.Annotations[rolloutv1alpha1.CloudGenerationAnnotation] != "1" {
		t.Errorf("not replaced: uid %s→%s, annotations %v", old.UID, replaced.UID, replaced.Annotations)
	}

	// A new generation that moves to another namespace leaves nothing behind.
	expectAck(t, hs, applyEnvelope(t, "uid-new", 2, cloudRollout("recreated", "moved-here", 20)), true)
	getRollout(t, env, "moved-here", "recreated")
	var gone rolloutv1alpha1.Rollout
	if err := env.cluster.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: "recreated"}, &gone); !apierrors.IsNotFound(err) {
		t.Errorf("the rollout left in its old namespace: %v", err)
	}
}

// statusOf decodes the status of a RolloutStatus message.
func statusOf(t *testing.T, env *tunnelv1.Envelope) rolloutv1alpha1.RolloutStatus {
	t.Helper()
	var s rolloutv1alpha1.RolloutStatus
	if err := json.Unmarshal(env.GetRolloutStatus().GetStatus(), &s); err != nil {
		t.Fatalf("decoding the status: %v", err)
	}
	return s
}

func TestStatusReachesHub(t *testing.T) {
	env := newTestEnv(t, 200*time.Millisecond)
	agent, registry := env.newAgent(t, env.hub.addr)
	run(t, agent)
	hs := env.hub.nextStream(t, waitLong)
	ctx := context.Background()

	expectAck(t, hs, applyEnvelope(t, "uid-s", 3, cloudRollout("status-demo", "", 25)), true)
	mirrored := getRollout(t, env, "default", "status-demo")
	mirrored.Status = rolloutv1alpha1.RolloutStatus{
		ObservedGeneration: mirrored.Generation, Phase: rolloutv1alpha1.PhaseProgressing, CurrentStep: 1, TotalSteps: 2, Weight: 25,
		Message: "canary at 25%",
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Progressing", Message: "canary",
			ObservedGeneration: mirrored.Generation, LastTransitionTime: metav1.Now()}},
	}
	writtenAt := time.Now()
	if err := env.cluster.Client.Status().Update(ctx, mirrored); err != nil {
		t.Fatal(err)
	}
	isProgressing := func(e *tunnelv1.Envelope) bool {
		return e.GetRolloutStatus().GetRef().GetUid() == "uid-s" && strings.Contains(string(e.GetRolloutStatus().GetStatus()), `"phase":"Progressing"`)
	}
	report := hs.waitFor(t, waitLong, "RolloutStatus with phase Progressing", isProgressing)
	t.Logf("status reached the hub %s after it was written", time.Since(writtenAt).Round(time.Millisecond))
	if ref := report.GetRolloutStatus().GetRef(); !refsEqual(ref, &tunnelv1.RolloutRef{Uid: "uid-s", Namespace: "tenant-acme", Name: "status-demo", Generation: 3}) {
		t.Errorf("ref = %v", ref)
	}
	s := statusOf(t, report)
	if s.ObservedGeneration != 3 || s.Conditions[0].ObservedGeneration != 3 || s.AppliedGeneration != 3 || s.ObservedAt == nil ||
		s.Message != "canary at 25%" || report.GetRolloutStatus().GetObservedAtUnixNano() == 0 {
		t.Errorf("status = %+v, observed at %d", s, report.GetRolloutStatus().GetObservedAtUnixNano())
	}

	// After a reconnect the current status of every mirrored Rollout is sent once.
	hs.close()
	hs2 := env.hub.nextStream(t, waitLong)
	hs2.waitFor(t, waitLong, "RolloutStatus after the reconnect", isProgressing)
	time.Sleep(500 * time.Millisecond)
	if n := hs2.count(func(e *tunnelv1.Envelope) bool { return e.GetRolloutStatus() != nil }); n != 1 {
		t.Errorf("after the reconnect the agent sent %d statuses, want 1", n)
	}
	if sent := counterValue(t, registry, metricStatusesSent); sent < 3 {
		t.Errorf("statuses sent = %v, want at least 3 (initial, progressing, resync)", sent)
	}
}
