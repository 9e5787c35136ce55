package hub

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
)

// inventoryQueryService answers the REST API's InventoryQuery from the inventory cache. The token
// interceptor has checked read:infrastructure:data; the tenant is the token's, never the request's.
type inventoryQueryService struct {
	tunnelv1.UnimplementedInventoryQueryServer
	hub *Server
}

// GetInventory returns the last Inventory that the agent of the caller's tenant sent the Hub (this
// replica, or the replica that holds the agent's tunnel).
func (q *inventoryQueryService) GetInventory(ctx context.Context, req *tunnelv1.GetInventoryRequest) (*tunnelv1.GetInventoryResponse, error) {
	claims, ok := verify.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no verified token")
	}
	agent := req.GetAgentIdentifier()
	if agent == "" {
		return nil, status.Error(codes.InvalidArgument, "agent_identifier is required")
	}
	// Another replica may hold the agent's tunnel: CachedInventory asks it.
	inv, receivedAt, err := q.hub.CachedInventory(ctx, claims.Principal.Namespace(), agent)
	if errors.Is(err, ErrNoInventory) {
		return nil, status.Errorf(codes.NotFound, "no inventory of agent %q of the caller's tenant", agent)
	}
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "reading the inventory of agent %q: %v", agent, err)
	}
	return &tunnelv1.GetInventoryResponse{Inventory: inv, ReceivedAtUnixNano: receivedAt.UnixNano()}, nil
}

// isInventoryQueryMethod reports whether a full gRPC method name belongs to InventoryQuery.
func isInventoryQueryMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/"+tunnelv1.InventoryQuery_ServiceDesc.ServiceName+"/")
}
