package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/verify"
	"github.com/aurora-cd/aurora/internal/tlsutil"
)

// HubInventory is the InventorySource of a real Agent Hub: it calls the Hub's
// InventoryQuery.GetInventory over gRPC with TLS, sending the caller's own bearer token, so that
// the Hub checks the scope (read:infrastructure:data) and the tenant itself.
type HubInventory struct {
	conn   *grpc.ClientConn
	client tunnelv1.InventoryQueryClient
}

// NewHubInventory returns a HubInventory of the Hub at address (host:port), trusting tlsConfig's
// roots (TLS 1.2 or newer). It connects lazily, on the first query.
func NewHubInventory(address string, tlsConfig *tls.Config) (*HubInventory, error) {
	if address == "" {
		return nil, errors.New("the Hub's address is required")
	}
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(credentials.NewTLS(tlsutil.AtLeastTLS12(tlsConfig))))
	if err != nil {
		return nil, fmt.Errorf("dialing the Hub at %s: %w", address, err)
	}
	return &HubInventory{conn: conn, client: tunnelv1.NewInventoryQueryClient(conn)}, nil
}

// Inventory asks the Hub for the agent's last inventory, as the token's tenant.
func (h *HubInventory) Inventory(ctx context.Context, token, agent string) (*tunnelv1.Inventory, time.Time, error) {
	resp, err := h.client.GetInventory(ctx, &tunnelv1.GetInventoryRequest{AgentIdentifier: agent},
		grpc.PerRPCCredentials(verify.NewBearerCredentials(verify.StaticToken(token))))
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, time.Time{}, ErrNoInventory
		}
		return nil, time.Time{}, fmt.Errorf("querying the Hub's inventory of agent %s: %w", agent, err)
	}
	return resp.GetInventory(), time.Unix(0, resp.GetReceivedAtUnixNano()), nil
}

// Close closes the connection to the Hub.
func (h *HubInventory) Close() error { return h.conn.Close() }
