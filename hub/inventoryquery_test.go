package hub

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	iamv1alpha1 "github.com/aurora-cd/aurora/api/iam/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
)

// TestInventoryQuery checks the REST API's way into the inventory cache: GetInventory over TLS
// answers the agent's last Inventory to a token of its tenant with read:infrastructure:data, and
// refuses every other token.
func TestInventoryQuery(t *testing.T) {
	t.Parallel()
	f := newMirrorFixture(t)
	f.agent.send(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Inventory{Inventory: &tunnelv1.Inventory{
		ObservedAtUnixNano: 42, Namespaces: []string{"default", "web"}}}})
	other := f.env.newTenant(t)

	conn, err := grpc.NewClient(f.hub.addr, grpc.WithTransportCredentials(credentials.NewTLS(f.env.clientTLS)))
	if err != nil {
		t.Fatalf("dialing the hub: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	query := tunnelv1.NewInventoryQueryClient(conn)
	get := func(token, agent string) (*tunnelv1.GetInventoryResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var opts []grpc.CallOption
		if token != "" {
			opts = append(opts, grpc.PerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(token))))
		}
		return query.GetInventory(ctx, &tunnelv1.GetInventoryRequest{AgentIdentifier: agent}, opts...)
	}

	reader := f.env.token(t, f.tenant, nil, iamv1alpha1.ScopeInfrastructureRead)
	eventually(t, 10*time.Second, func() error {
		resp, err := get(reader, "prod")
		if err != nil {
			return err
		}
		if got := resp.GetInventory().GetNamespaces(); len(got) != 2 || resp.GetReceivedAtUnixNano() == 0 || resp.GetInventory().GetObservedAtUnixNano() != 42 {
			return fmt.Errorf("inventory = %v", resp)
		}
		return nil
	})

	for _, tc := range []struct {
		name  string
		token string
		agent string
		want  codes.Code
	}{
		{"no token", "", "prod", codes.Unauthenticated},
		{"an agent's token (api:agentHub:full only)", f.env.token(t, f.tenant, nil), "prod", codes.PermissionDenied},
		{"another tenant's reader", f.env.token(t, other, nil, iamv1alpha1.ScopeInfrastructureRead), "prod", codes.NotFound},
		{"an agent that sent nothing", reader, "staging", codes.NotFound},
		{"no agent named", reader, "", codes.InvalidArgument},
	} {
		_, err := get(tc.token, tc.agent)
		if got := status.Code(err); got != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}
