package rna

import (
	"context"
	"hash/maphash"
	"sync"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// applyLanes is how many mirrored Rollouts an agent applies or deletes at once.
const applyLanes = 4

// applyLane returns the lane of an ApplyRollout or DeleteRollout: a hash of its cloud Rollout's
// uid, so that every message of one Rollout goes to the same lane and is handled in order.
func applyLane(env *tunnelv1.Envelope) int {
	var uid string
	switch p := env.GetPayload().(type) {
	case *tunnelv1.Envelope_ApplyRollout:
		uid = p.ApplyRollout.GetRef().GetUid()
	case *tunnelv1.Envelope_DeleteRollout:
		uid = p.DeleteRollout.GetRef().GetUid()
	}
	return int(maphash.String(laneSeed, uid) % applyLanes)
}

// laneSeed seeds the lane hash: the lanes only need to agree within one process.
var laneSeed = maphash.MakeSeed()

// fifo is an unbounded first-in first-out queue. The receiver pushes without ever blocking, so that
// it keeps reading (and hearing heartbeats) while a slow apply is being handled.
type fifo[T any] struct {
	mu    sync.Mutex
	items []T
	// signal has one element when items may be non-empty.
	signal chan struct{}
}

// init prepares an empty queue.
func (q *fifo[T]) init() { q.signal = make(chan struct{}, 1) }

// push appends an item.
func (q *fifo[T]) push(item T) {
	q.mu.Lock()
	q.items = append(q.items, item)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop removes and returns the oldest item, waiting for one; false when ctx ends first.
func (q *fifo[T]) pop(ctx context.Context) (T, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			item := q.items[0]
			var zero T
			q.items[0] = zero
			q.items = q.items[1:]
			q.mu.Unlock()
			return item, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			var zero T
			return zero, false
		case <-q.signal:
		}
	}
}
