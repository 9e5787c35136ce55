package hub

import (
	"sync"
	"time"

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
