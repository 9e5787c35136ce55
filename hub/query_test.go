package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

func TestInventoryAndQuery(t *testing.T) {
	t.Parallel()
	f := newMirrorFixture(t)
	ns := f.tenant.namespace

	if _, _, ok := f.hub.Inventory(ns, "prod"); ok {
		t.Fatal("an inventory before any was sent")
	}
	f.agent.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Inventory{Inventory: &tunnelv1.Inventory{
		ObservedAtUnixNano: 42, Namespaces: []string{"default", "web"},
		Workloads: []*tunnelv1.Workload{{Kind: "Deployment", Namespace: "web", Name: "web", Replicas: 3, ReadyReplicas: 3, Ready: true}},
	}}})
	eventually(t, 10*time.Second, func() error {
		inventory, receivedAt, ok := f.hub.Inventory(ns, "prod")
		if !ok {
			return errors.New("no inventory yet")
		}
		if !slices.Equal(inventory.GetNamespaces(), []string{"default", "web"}) || len(inventory.GetWorkloads()) != 1 || receivedAt.IsZero() {
			return fmt.Errorf("inventory = %v at %v", inventory, receivedAt)
		}
		return nil
	})
	if _, _, ok := f.hub.Inventory(ns, "staging"); ok {
		t.Error("an inventory of an agent that sent none")
	}
	if _, _, ok := f.hub.Inventory("aurora-other-prod", "prod"); ok {
		t.Error("an inventory of another tenant's agent")
	}

	type result struct {
		body []byte
		err  error
	}
	query := func(ctx context.Context, agent string) chan result {
		done := make(chan result, 1)
		go func() {
			body, err := f.hub.Query(ctx, ns, agent, "inventory", []byte(`{"namespace":"web"}`))
			done <- result{body, err}
		}()
		return done
	}

	answered := query(context.Background(), "prod")
	request := f.agent.next(10 * time.Second).GetRequest()
	if request == nil || request.GetKind() != "inventory" || string(request.GetBody()) != `{"namespace":"web"}` || request.GetRequestId() == "" {
		t.Fatalf("the agent got %v, want a Request", request)
	}
	f.agent.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Response{Response: &tunnelv1.Response{
		RequestId: request.GetRequestId(), Ok: true, Body: []byte(`{"workloads":1}`)}}})
	if r := <-answered; r.err != nil || string(r.body) != `{"workloads":1}` {
		t.Errorf("Query = %s, %v", r.body, r.err)
	}

	failed := query(context.Background(), "prod")
	request = f.agent.next(10 * time.Second).GetRequest()
	f.agent.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Response{Response: &tunnelv1.Response{
		RequestId: request.GetRequestId(), Ok: false, Error: "no such namespace"}}})
	if r := <-failed; !errors.Is(r.err, ErrQueryFailed) {
		t.Errorf("a failed query returned %s, %v; want ErrQueryFailed", r.body, r.err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	unanswered := query(ctx, "prod")
	f.agent.next(10 * time.Second) // The Request, left unanswered.
	if r := <-unanswered; !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("an unanswered query returned %v, want DeadlineExceeded", r.err)
	}

	// A request too large for one message fails without costing the agent its tunnel.
	if _, err := f.hub.Query(context.Background(), ns, "prod", "inventory", make([]byte, DefaultMaxMessageBytes)); err == nil ||
		errors.Is(err, ErrAgentNotConnected) {
		t.Errorf("an oversized query returned %v, want a size error", err)
	}
	if got := f.hub.ConnectedAgents(); len(got) != 1 {
		t.Errorf("after an oversized query, ConnectedAgents = %+v", got)
	}

	if r := <-query(context.Background(), "staging"); !errors.Is(r.err, ErrAgentNotConnected) {
		t.Errorf("a query of an absent agent returned %v, want ErrAgentNotConnected", r.err)
	}
}
