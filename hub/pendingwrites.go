package hub

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// maxPendingRollouts bounds how many Rollouts of one session may wait for a cloud write at once. A
// status of another Rollout beyond it is refused (the agent sends it again later).
const maxPendingRollouts = 1024

// pendingWrite is what waits to be written to one cloud Rollout's status: the newest status the
// agent reported (and the id of the message to acknowledge once written) and the highest
// generation the agent acknowledged applying.
type pendingWrite struct {
	ref      rolloutRef
	status   *reportedStatus
	statusID uint64
	applied  int64
}

// pendingWrites coalesces a session's cloud writes per Rollout, so that the receiver never waits
// for the API server: it only records what arrived, and one writer at a time writes the latest of
// each Rollout in arrival order. A status that a newer one of the same Rollout replaces before it
// is written needs no write of its own: the newer one carries the whole status. The writer runs
// only while writes wait (startWriter starts it; it ends when take finds nothing), so an idle
// tunnel costs no goroutine for it.
type pendingWrites struct {
	mu      sync.Mutex
	byUID   map[types.UID]*pendingWrite
	order   []types.UID
	writing bool
	// startWriter starts a writer that calls take until it reports nothing waits.
	startWriter func()
}

// newPendingWrites returns an empty set of pending writes whose writer startWriter starts.
func newPendingWrites(startWriter func()) *pendingWrites {
	return &pendingWrites{byUID: make(map[types.UID]*pendingWrite), startWriter: startWriter}
}

// addStatus records a status reported in message id. It returns the id of a message that needs no
// write any more (the status it replaced, or this one when a newer observation already waits), 0
// when none, and full when the Rollout would be one too many to wait.
func (p *pendingWrites) addStatus(id uint64, report reportedStatus) (superseded uint64, full bool) {
	p.mu.Lock()
	defer p.wakeWriter()
	defer p.mu.Unlock()
	w, ok := p.entry(report.ref)
	if !ok {
		return 0, true
	}
	switch {
	case w.status == nil:
	case report.observedAt.Before(w.status.observedAt):
		return id, false
	default:
		superseded = w.statusID
	}
	w.status, w.statusID = &report, id
	return superseded, false
}

// addApplied records that the agent acknowledged applying ref's generation.
func (p *pendingWrites) addApplied(ref rolloutRef) {
	p.mu.Lock()
	defer p.wakeWriter()
	defer p.mu.Unlock()
	w := p.entryUnbounded(ref)
	w.applied = max(w.applied, ref.Generation)
}

// entry returns the pending write of ref, adding it when there is room.
func (p *pendingWrites) entry(ref rolloutRef) (*pendingWrite, bool) {
	if w, ok := p.byUID[ref.UID]; ok {
		return w, true
	}
	if len(p.byUID) >= maxPendingRollouts {
		return nil, false
	}
	return p.entryUnbounded(ref), true
}

// entryUnbounded returns the pending write of ref, adding it in any case.
func (p *pendingWrites) entryUnbounded(ref rolloutRef) *pendingWrite {
	if w, ok := p.byUID[ref.UID]; ok {
		return w
	}
	w := &pendingWrite{ref: ref}
	p.byUID[ref.UID] = w
	p.order = append(p.order, ref.UID)
	return w
}

// wakeWriter starts the writer when writes wait and none runs.
func (p *pendingWrites) wakeWriter() {
	p.mu.Lock()
	start := !p.writing && len(p.order) > 0
	p.writing = p.writing || start
	p.mu.Unlock()
	if start {
		p.startWriter()
	}
}

// take removes and returns the write that waited longest. False means none waits, and the writer
// that called it must end: the next write starts a new one.
func (p *pendingWrites) take() (pendingWrite, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.order) == 0 {
		p.writing = false
		return pendingWrite{}, false
	}
	uid := p.order[0]
	p.order[0] = ""
	p.order = p.order[1:]
	w := p.byUID[uid]
	delete(p.byUID, uid)
	return *w, true
}
