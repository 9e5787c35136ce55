package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// inventoryCache keeps the last Inventory of each agent, in memory. An agent's inventory outlives
// its tunnel: the last one known stays readable while the agent is away.
type inventoryCache struct {
	mu      sync.RWMutex
	entries map[agentKey]inventoryEntry
}

// inventoryEntry is one agent's last Inventory and when the Hub received it.
type inventoryEntry struct {
	inventory  *tunnelv1.Inventory
	receivedAt time.Time
}

// newInventoryCache returns an empty cache.
func newInventoryCache() *inventoryCache {
	return &inventoryCache{entries: make(map[agentKey]inventoryEntry)}
}

// store keeps inventory as key's, received at receivedAt.
func (c *inventoryCache) store(key agentKey, inventory *tunnelv1.Inventory, receivedAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = inventoryEntry{inventory: inventory, receivedAt: receivedAt}
}

// load returns key's last Inventory.
func (c *inventoryCache) load(key agentKey) (inventoryEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	entry, ok := c.entries[key]
	return entry, ok
}

// Inventory returns a copy of the last Inventory the agent of the tenant namespace sent to this
// replica, when the Hub received it, and whether there is one.
func (s *Server) Inventory(namespace, agent string) (*tunnelv1.Inventory, time.Time, bool) {
	entry, ok := s.inventories.load(agentKey{namespace: namespace, agent: agent})
	if !ok {
		return nil, time.Time{}, false
	}
	return proto.CloneOf(entry.inventory), entry.receivedAt, true
}

// ErrNoInventory means no replica has an Inventory of the agent yet.
var ErrNoInventory = errors.New("no inventory of the agent yet")

// CachedInventory returns the last Inventory of the agent of the tenant namespace and when it was
// received: this replica's, or, when another live replica holds the agent's tunnel, that replica's
// (asked over HTTPS, identified by this replica's client certificate). It fails with
// ErrNoInventory when there is none.
func (s *Server) CachedInventory(ctx context.Context, namespace, agent string) (*tunnelv1.Inventory, time.Time, error) {
	key := agentKey{namespace: namespace, agent: agent}
	if s.registry.session(key) == nil && s.leases != nil && s.peerClient != nil {
		if replica, address, err := s.leases.holder(ctx, key); err == nil && replica != s.opts.Replica && address != "" {
			var answer peerInventory
			if err := s.peerPost(ctx, address, peerInventoryPath, peerQuery{Namespace: namespace, Agent: agent}, &answer); err != nil {
				return nil, time.Time{}, fmt.Errorf("reading the inventory of agent %s from hub replica %s: %w", key, replica, err)
			}
			if answer.Inventory == nil {
				return nil, time.Time{}, fmt.Errorf("agent %s: %w", key, ErrNoInventory)
			}
			inv := &tunnelv1.Inventory{}
			if err := protojson.Unmarshal(answer.Inventory, inv); err != nil {
				return nil, time.Time{}, fmt.Errorf("decoding the inventory of agent %s from hub replica %s: %w", key, replica, err)
			}
			return inv, answer.ReceivedAt, nil
		}
	}
	inv, at, ok := s.Inventory(namespace, agent)
	if !ok {
		return nil, time.Time{}, fmt.Errorf("agent %s: %w", key, ErrNoInventory)
	}
	return inv, at, nil
}

// peerInventory answers a forwarded inventory read.
type peerInventory struct {
	// Inventory is the protojson of the Inventory; empty when there is none.
	Inventory  json.RawMessage `json:"inventory,omitempty"`
	ReceivedAt time.Time       `json:"receivedAt"`
}

// servePeerInventory answers another replica's read of this replica's inventory cache.
func (s *Server) servePeerInventory(w http.ResponseWriter, r *http.Request) {
	var q peerQuery
	if r.Method != http.MethodPost || json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&q) != nil {
		writeHTTPError(w, http.StatusBadRequest, "POST of {namespace, agent} expected")
		return
	}
	var answer peerInventory
	if inv, at, ok := s.Inventory(q.Namespace, q.Agent); ok {
		raw, err := protojson.Marshal(inv)
		if err != nil {
			writeHTTPError(w, http.StatusInternalServerError, "encoding the inventory failed")
			return
		}
		answer = peerInventory{Inventory: raw, ReceivedAt: at}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}
