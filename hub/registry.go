package hub

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"time"
)

// errRegistryClosed refuses a session once the Hub is shutting down.
var errRegistryClosed = errors.New("the hub replica is shutting down")

// ConnectedAgent describes one live tunnel of this Hub replica.
type ConnectedAgent struct {
	// Namespace is the tenant namespace of the agent (from its token).
	Namespace string
	// Agent is the agent identifier.
	Agent string
	// SessionID identifies the stream, as in Welcome.
	SessionID string
	// ConnectedAt is when the stream was accepted.
	ConnectedAt time.Time
	// RemoteAddress is the address the tunnel came from.
	RemoteAddress string
}

// registry holds the live session of each agent and the connection record its Agent's status
// should show. It is the single source of truth of the Agent status writer: writes always show the
// latest record, so an ended stream can never overwrite the registration of its successor.
type registry struct {
	mu      sync.RWMutex
	closed  bool
	entries map[agentKey]*registryEntry
}

// registryEntry is what the registry knows of one agent.
type registryEntry struct {
	session *session
	record  connectionRecord
	written writtenState
}

// newRegistry returns an empty registry.
func newRegistry() *registry {
	return &registry{entries: make(map[agentKey]*registryEntry)}
}

// connect makes s the live session of its agent and returns the session it replaces, if any. It
// fails once the registry is closed.
func (r *registry) connect(s *session, rec connectionRecord) (*session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errRegistryClosed
	}
	entry := r.entries[s.key]
	if entry == nil {
		entry = &registryEntry{}
		r.entries[s.key] = entry
	}
	old := entry.session
	entry.session, entry.record = s, rec
	return old, nil
}

// disconnect records the end of s at the given time, for the given reason, if s is still its
// agent's live session, and reports whether it was.
func (r *registry) disconnect(s *session, at time.Time, reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	entry := r.entries[s.key]
	if entry == nil || entry.session != s {
		return false
	}
	entry.session = nil
	entry.record.Connected = false
	entry.record.DisconnectedAt = at
	entry.record.DisconnectReason = reason
	entry.record.LastHeartbeatAt = s.lastHeardAt()
	return true
}

// session returns the live session of key, or nil.
func (r *registry) session(key agentKey) *session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if entry := r.entries[key]; entry != nil {
		return entry.session
	}
	return nil
}

// snapshot returns the record of key, with the live session's last heartbeat, and what was last
// written of it.
func (r *registry) snapshot(key agentKey) (connectionRecord, writtenState, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	entry := r.entries[key]
	if entry == nil {
		return connectionRecord{}, writtenState{}, false
	}
	rec := entry.record
	if entry.session != nil {
		rec.LastHeartbeatAt = entry.session.lastHeardAt()
	}
	return rec, entry.written, true
}

// markWritten records that rec was written to key's Agent. An agent whose ended tunnel is written
// is forgotten, unless a newer session arrived meanwhile.
func (r *registry) markWritten(key agentKey, rec connectionRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	entry := r.entries[key]
	if entry == nil || entry.record.SessionID != rec.SessionID {
		return
	}
	entry.written = writtenState{SessionID: rec.SessionID, Connected: rec.Connected, Heartbeat: apiTime(rec.LastHeartbeatAt)}
	if entry.session == nil && !entry.record.Connected && !rec.Connected {
		delete(r.entries, key)
	}
}

// pending returns the agents whose record is not written yet.
func (r *registry) pending() []agentKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var keys []agentKey
	for key, entry := range r.entries {
		if planAgentWrite(entry.record, entry.written) == writeConnection {
			keys = append(keys, key)
		}
	}
	return keys
}

// close refuses further sessions and returns the live ones.
func (r *registry) close() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	sessions := make([]*session, 0, len(r.entries))
	for _, entry := range r.entries {
		if entry.session != nil {
			sessions = append(sessions, entry.session)
		}
	}
	return sessions
}

// connected describes the live sessions, sorted by namespace and agent.
func (r *registry) connected() []ConnectedAgent {
	r.mu.RLock()
	agents := make([]ConnectedAgent, 0, len(r.entries))
	for key, entry := range r.entries {
		if s := entry.session; s != nil {
			agents = append(agents, ConnectedAgent{Namespace: key.namespace, Agent: key.agent, SessionID: s.id,
				ConnectedAt: s.connectedAt, RemoteAddress: s.remoteAddress})
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(agents, func(a, b ConnectedAgent) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Agent, b.Agent))
	})
	return agents
}
