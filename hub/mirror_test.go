package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// mirrorFixture is a Hub with one connected agent, prod, of a fresh tenant.
type mirrorFixture struct {
	env    *env
	tenant tenant
	hub    *testHub
	agent  *testAgent
}

// newMirrorFixture connects agent prod holding held.
func newMirrorFixture(t *testing.T, held ...*tunnelv1.RolloutRef) *mirrorFixture {
	e := testEnv(t)
	f := &mirrorFixture{env: e, tenant: e.newTenant(t)}
	f.hub = e.startHub(t)
	f.agent = dialAgent(t, f.hub.addr, e.clientTLS, e.token(t, f.tenant, nil))
	f.agent.hello("prod", held...)
	f.agent.startHeartbeats(200 * time.Millisecond)
	return f
}

// create creates a Rollout of the tenant for agent.
func (f *mirrorFixture) create(t *testing.T, name, agent string) *rolloutv1alpha1.Rollout {
	t.Helper()
	r := newRollout(f.tenant.namespace, name, agent)
	if err := f.env.client.Create(context.Background(), r); err != nil {
		t.Fatalf("creating Rollout %s: %v", name, err)
	}
	return r
}

// bumpSpec changes the Rollout's spec, giving it a new generation, and returns it.
func (f *mirrorFixture) bumpSpec(t *testing.T, r *rolloutv1alpha1.Rollout) *rolloutv1alpha1.Rollout {
	t.Helper()
	r = f.get(t, r.Name)
	r.Spec.Manifests = append(r.Spec.Manifests, fmt.Sprintf("# change %d\n", len(r.Spec.Manifests)))
	if err := f.env.client.Update(context.Background(), r); err != nil {
		t.Fatalf("updating Rollout %s: %v", r.Name, err)
	}
	return r
}

// get reads a Rollout of the tenant.
func (f *mirrorFixture) get(t *testing.T, name string) *rolloutv1alpha1.Rollout {
	t.Helper()
	r := &rolloutv1alpha1.Rollout{}
	if err := f.env.client.Get(context.Background(), client.ObjectKey{Namespace: f.tenant.namespace, Name: name}, r); err != nil {
		t.Fatalf("reading Rollout %s: %v", name, err)
	}
	return r
}

// expectApply reads the agent's next message, which must apply r at generation.
func (f *mirrorFixture) expectApply(t *testing.T, r *rolloutv1alpha1.Rollout, generation int64) *tunnelv1.Envelope {
	t.Helper()
	env := f.agent.next(10 * time.Second)
	apply := env.GetApplyRollout()
	want := &tunnelv1.RolloutRef{Uid: string(r.UID), Namespace: f.tenant.namespace, Name: r.Name, Generation: generation}
	if apply == nil || apply.GetRef().String() != want.String() {
		t.Fatalf("got %v, want ApplyRollout of %v", env, want)
	}
	return env
}

// refOfRollout is the wire ref of r at generation.
func refOfRollout(r *rolloutv1alpha1.Rollout, generation int64) *tunnelv1.RolloutRef {
	return &tunnelv1.RolloutRef{Uid: string(r.UID), Namespace: r.Namespace, Name: r.Name, Generation: generation}
}

func TestMirrorsRolloutChanges(t *testing.T) {
	t.Parallel()
	f := newMirrorFixture(t)
	f.create(t, "for-staging", "staging")
	r := f.create(t, "web-prod", "prod")
	env := f.expectApply(t, r, 1)

	var sent map[string]any
	if err := json.Unmarshal(env.GetApplyRollout().GetRollout(), &sent); err != nil {
		t.Fatalf("the Rollout JSON: %v", err)
	}
	wantMetadata := map[string]any{"name": "web-prod", "labels": map[string]any{
		deployv1alpha1.AgentLabel: "prod", rolloutv1alpha1.TargetLabel: "prod"}}
	if sent["apiVersion"] != "rollout.aurora.dev/v1alpha1" || sent["kind"] != "Rollout" || !reflect.DeepEqual(sent["metadata"], wantMetadata) {
		t.Errorf("the Rollout JSON = %s", env.GetApplyRollout().GetRollout())
	}
	for _, absent := range []string{"status", "uid", "resourceVersion", "managedFields"} {
		if strings.Contains(string(env.GetApplyRollout().GetRollout()), `"`+absent+`"`) {
			t.Errorf("the Rollout JSON carries %s: %s", absent, env.GetApplyRollout().GetRollout())
		}
	}
	var spec rolloutv1alpha1.Rollout
	if err := json.Unmarshal(env.GetApplyRollout().GetRollout(), &spec); err != nil || !reflect.DeepEqual(spec.Spec, r.Spec) {
		t.Errorf("the carried spec = %+v (%v), want %+v", spec.Spec, err, r.Spec)
	}

	// A status-only change is not mirrored.
	current := f.get(t, r.Name)
	current.Status.Message = "written in the cloud"
	if err := f.env.client.Status().Update(context.Background(), current); err != nil {
		t.Fatal(err)
	}
	f.agent.expectQuiet(500 * time.Millisecond)

	f.bumpSpec(t, r)
	f.expectApply(t, r, 2)

	if err := f.env.client.Delete(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	del := f.agent.next(10 * time.Second).GetDeleteRollout()
	if del == nil || del.GetRef().GetUid() != string(r.UID) || del.GetRef().GetName() != r.Name || del.GetRef().GetGeneration() != 2 {
		t.Fatalf("got %v, want DeleteRollout of %s", del, r.Name)
	}

	// Relabelling a Rollout for another agent deletes it from this one.
	moved := f.create(t, "moved", "prod")
	f.expectApply(t, moved, 1)
	moved = f.get(t, moved.Name)
	moved.Labels[deployv1alpha1.AgentLabel] = "staging"
	if err := f.env.client.Update(context.Background(), moved); err != nil {
		t.Fatal(err)
	}
	if del := f.agent.next(10 * time.Second).GetDeleteRollout(); del == nil || del.GetRef().GetUid() != string(moved.UID) {
		t.Fatalf("got %v, want DeleteRollout of the relabelled Rollout", del)
	}
	f.agent.expectQuiet(300 * time.Millisecond)
}

func TestResyncSendsExactlyWhatTheAgentNeeds(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	tn := e.newTenant(t)
	f := &mirrorFixture{env: e, tenant: tn}
	stale := f.create(t, "stale", "prod")
	stale = f.bumpSpec(t, stale) // generation 2
	current := f.create(t, "current", "prod")
	missing := f.create(t, "missing", "prod")
	f.create(t, "elsewhere", "staging")
	extra := &tunnelv1.RolloutRef{Uid: "0f1e2d3c-gone", Namespace: tn.namespace, Name: "extra", Generation: 3}

	f.hub = e.startHub(t)
	f.agent = dialAgent(t, f.hub.addr, e.clientTLS, e.token(t, tn, nil))
	f.agent.hello("prod", refOfRollout(stale, 1), refOfRollout(current, 1), extra)
	f.agent.startHeartbeats(200 * time.Millisecond)

	var got []string
	for range 3 {
		env := f.agent.next(10 * time.Second)
		switch {
		case env.GetDeleteRollout() != nil:
			got = append(got, "delete "+env.GetDeleteRollout().GetRef().String())
		case env.GetApplyRollout() != nil:
			got = append(got, "apply "+env.GetApplyRollout().GetRef().String())
			f.agent.ack(env.GetId(), true, "")
		default:
			t.Fatalf("unexpected %v", env)
		}
	}
	want := []string{
		"delete " + extra.String(),
		"apply " + refOfRollout(missing, 1).String(),
		"apply " + refOfRollout(stale, 2).String(),
	}
	if !slices.Equal(got, want) {
		t.Errorf("resync sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	f.agent.expectQuiet(500 * time.Millisecond)
	// What the agent held is recorded as applied, as are the applies it acknowledged.
	for name, want := range map[string]int64{current.Name: 1, stale.Name: 2, missing.Name: 1} {
		eventually(t, 10*time.Second, func() error {
			if got := f.get(t, name).Status.AppliedGeneration; got != want {
				return fmt.Errorf("Rollout %s: appliedGeneration %d, want %d", name, got, want)
			}
			return nil
		})
	}

	// Reconnecting up to date costs nothing; a new generation meanwhile costs one apply.
	f.agent.close()
	f.bumpSpec(t, current)
	again := dialAgent(t, f.hub.addr, e.clientTLS, e.token(t, tn, nil))
	again.hello("prod", refOfRollout(stale, 2), refOfRollout(current, 1), refOfRollout(missing, 1))
	again.startHeartbeats(200 * time.Millisecond)
	if apply := again.next(10 * time.Second).GetApplyRollout(); apply == nil || apply.GetRef().String() != refOfRollout(current, 2).String() {
		t.Fatalf("got %v, want the apply of generation 2 of %s", apply, current.Name)
	}
	again.expectQuiet(500 * time.Millisecond)
}

func TestAcksAndStatusesAreWrittenToTheCloud(t *testing.T) {
	t.Parallel()
	f := newMirrorFixture(t)
	r := f.create(t, "web-prod", "prod")
	apply := f.expectApply(t, r, 1)
	f.agent.ack(apply.GetId(), true, "")
	eventually(t, 10*time.Second, func() error {
		if got := f.get(t, r.Name).Status.AppliedGeneration; got != 1 {
			return fmt.Errorf("appliedGeneration = %d", got)
		}
		return nil
	})

	// A failed apply records nothing.
	f.bumpSpec(t, r)
	apply = f.expectApply(t, r, 2)
	f.agent.ack(apply.GetId(), false, "the target cluster refused it")
	f.agent.expectQuiet(300 * time.Millisecond)
	if got := f.get(t, r.Name).Status.AppliedGeneration; got != 1 {
		t.Errorf("appliedGeneration after a failed apply = %d, want 1", got)
	}

	base := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	report := func(ref *tunnelv1.RolloutRef, observedAt time.Time, status rolloutv1alpha1.RolloutStatus) *tunnelv1.Ack {
		t.Helper()
		body, err := json.Marshal(status)
		if err != nil {
			t.Fatal(err)
		}
		id := f.agent.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{
			Ref: ref, Status: body, ObservedAtUnixNano: observedAt.UnixNano()}}})
		env := f.agent.next(10 * time.Second)
		if env.GetAck() == nil || env.GetAck().GetAckId() != id {
			t.Fatalf("got %v, want the Ack of %d", env, id)
		}
		return env.GetAck()
	}
	progressing := rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseProgressing, CurrentStep: 1, TotalSteps: 1,
		AppliedGeneration: 1, ObservedGeneration: 1, Message: "setting weight"}
	if ack := report(refOfRollout(r, 1), base.Add(2*time.Second), progressing); !ack.GetOk() {
		t.Fatalf("status refused: %v", ack)
	}
	got := f.get(t, r.Name).Status
	if got.Phase != rolloutv1alpha1.PhaseProgressing || got.Message != "setting weight" || got.AppliedGeneration != 1 ||
		got.ObservedAt == nil || !got.ObservedAt.Equal(&metav1.MicroTime{Time: base.Add(2 * time.Second)}) {
		t.Errorf("status after the report = %+v", got)
	}

	// An older observation is acknowledged and dropped.
	if ack := report(refOfRollout(r, 1), base.Add(time.Second), rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseFailed}); !ack.GetOk() {
		t.Fatalf("an old status was refused: %v", ack)
	}
	if phase := f.get(t, r.Name).Status.Phase; phase != rolloutv1alpha1.PhaseProgressing {
		t.Errorf("an older observation overwrote the status: phase %s", phase)
	}

	// A newer one is written, and never lowers appliedGeneration.
	if ack := report(refOfRollout(r, 1), base.Add(3*time.Second), rolloutv1alpha1.RolloutStatus{Phase: rolloutv1alpha1.PhaseSucceeded}); !ack.GetOk() {
		t.Fatalf("status refused: %v", ack)
	}
	if got := f.get(t, r.Name).Status; got.Phase != rolloutv1alpha1.PhaseSucceeded || got.AppliedGeneration != 1 {
		t.Errorf("status after the newer report = %+v", got)
	}

	// A status naming another uid, or another agent's Rollout, is refused.
	wrongUID := refOfRollout(r, 1)
	wrongUID.Uid = "not-the-uid"
	if ack := report(wrongUID, base.Add(4*time.Second), progressing); ack.GetOk() || !strings.Contains(ack.GetError(), "uid") {
		t.Errorf("a wrong uid got %v", ack)
	}
	theirs := f.create(t, "theirs", "staging")
	if ack := report(refOfRollout(theirs, 1), base.Add(4*time.Second), progressing); ack.GetOk() {
		t.Errorf("another agent's Rollout got %v", ack)
	}
	if got := f.get(t, r.Name).Status.Phase; got != rolloutv1alpha1.PhaseSucceeded {
		t.Errorf("a refused status changed the Rollout: phase %s", got)
	}
	if got := f.get(t, theirs.Name).Status.Phase; got != "" {
		t.Errorf("a refused status changed another agent's Rollout: phase %s", got)
	}
}
