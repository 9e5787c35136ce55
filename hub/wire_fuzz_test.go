package hub

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/principal"
)

// FuzzAgentMessage decodes arbitrary bytes as a tunnel Envelope from an agent and runs what the Hub
// does with each payload before it touches the API server: the Hello check and the index of the
// Rollouts the agent holds, the decoding of a RolloutStatus, and the naming of payloads. Nothing
// may panic; a Hello is accepted only for the agent the token may act as, with a valid name; the
// index holds no ref without a uid; a decoded status names a Rollout of the agent's own tenant and
// an observation time, and anything else is a refusal (the agent's fault), never a Hub failure.
// Seeds: testdata/fuzz/FuzzAgentMessage.
func FuzzAgentMessage(f *testing.F) {
	for _, env := range fuzzSeedEnvelopes() {
		raw, err := proto.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	key := agentKey{namespace: "aurora-acme-prod", agent: "staging"}
	p := principal.Principal{Type: principal.Machine, Organization: "acme", Environment: "prod",
		Scopes: []string{string(iamv1alpha1.ScopeAgentHubFull)}, Agents: []string{"staging"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		env := &tunnelv1.Envelope{}
		if err := proto.Unmarshal(data, env); err != nil {
			return
		}
		if payloadName(env) == "" {
			t.Fatal("a payload without a name")
		}
		switch {
		case env.GetHello() != nil:
			hello := env.GetHello()
			err := checkHello(hello, p)
			id := hello.GetAgentIdentifier()
			if err == nil && (id != "staging" || len(validation.IsDNS1123Subdomain(id)) > 0) {
				t.Fatalf("Hello of agent %q accepted for a token bound to staging", id)
			}
			for uid, ref := range heldRollouts(hello.GetRollouts()) {
				if uid == "" || ref.UID != uid {
					t.Fatalf("held Rollouts indexed %q as %q", ref.UID, uid)
				}
			}
		case env.GetRolloutStatus() != nil:
			got, err := decodeRolloutStatus(key, env.GetRolloutStatus())
			if err != nil {
				if !isRefusal(err) {
					t.Fatalf("a bad status is not a refusal: %v", err)
				}
				if strings.TrimSpace(err.Error()) == "" {
					t.Fatal("a refusal without a reason")
				}
				return
			}
			if got.ref.UID == "" || got.ref.Name == "" || (got.ref.Namespace != "" && got.ref.Namespace != key.namespace) {
				t.Fatalf("accepted a status of %+v for tenant %s", got.ref, key.namespace)
			}
			if got.observedAt.UnixNano() <= 0 {
				t.Fatalf("accepted a status without an observation time")
			}
		}
	})
}

// fuzzSeedEnvelopes are valid and borderline agent messages.
func fuzzSeedEnvelopes() []*tunnelv1.Envelope {
	ref := &tunnelv1.RolloutRef{Uid: "4b1c", Namespace: "aurora-acme-prod", Name: "web-staging", Generation: 3}
	return []*tunnelv1.Envelope{
		{Id: 1, Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{AgentIdentifier: "staging", AgentVersion: "v1",
			Rollouts: []*tunnelv1.RolloutRef{ref, {Uid: "", Name: "x"}, {Uid: "4b1c", Generation: 1}}}}},
		{Id: 2, Payload: &tunnelv1.Envelope_Hello{Hello: &tunnelv1.Hello{AgentIdentifier: "prod"}}},
		{Id: 3, Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{Ref: ref,
			Status: []byte(`{"phase":"Progressing","weight":25,"appliedGeneration":3}`), ObservedAtUnixNano: 1_700_000_000_000_000_000}}},
		{Id: 4, Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: &tunnelv1.RolloutStatus{
			Ref: &tunnelv1.RolloutRef{Uid: "u", Namespace: "aurora-globex-prod", Name: "other"}, Status: []byte(`{}`), ObservedAtUnixNano: 1}}},
		{Id: 5, Payload: &tunnelv1.Envelope_Ack{Ack: &tunnelv1.Ack{AckId: 9, Ok: false, Error: "refused"}}},
		{Id: 6, Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}},
	}
}
