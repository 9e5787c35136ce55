package rna

import (
	"time"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// backoff computes reconnect delays: capped exponential backoff with full jitter. The n-th delay
// after a reset (n counting from 0) is random in [0, min(max, initial·2ⁿ)).
type backoff struct {
	initial, max time.Duration
	// random returns a number in [0, 1).
	random func() float64
	// attempt counts the delays handed out since the last reset.
	attempt int
}

// ceiling returns the cap of the next delay: min(max, initial·2^attempt).
func (b *backoff) ceiling() time.Duration {
	c := b.initial
	for i := 0; i < b.attempt && c < b.max; i++ {
		c *= 2
	}
	return min(c, b.max)
}

// next returns the next delay and counts the attempt.
func (b *backoff) next() time.Duration {
	d := jitter(b.ceiling(), b.random)
	b.attempt++
	return d
}

// reset starts the next delay from initial again.
func (b *backoff) reset() { b.attempt = 0 }

// jitter returns a duration in [0, ceiling) drawn from random (a number in [0, 1)).
func jitter(ceiling time.Duration, random func() float64) time.Duration {
	r := random()
	if r < 0 || r >= 1 {
		r = 0
	}
	return time.Duration(float64(ceiling) * r)
}

// sessionOutcome is how one connection attempt ended, as the reconnect rules see it.
type sessionOutcome struct {
	// established is true when the Hub answered Welcome.
	established bool
	// connectedFor is how long the stream lived after Welcome.
	connectedFor time.Duration
	// drain is the Hub's Drain, when it sent one.
	drain *tunnelv1.Drain
}

// reconnectDelay applies the reconnect rules to the outcome of an attempt and returns how long to
// wait before the next one:
//   - a stream that was connected at least resetAfter resets the backoff;
//   - after a Drain the agent waits the Hub's reconnect_after plus up to half as much again of
//     jitter (so that the agents of a draining replica do not all come back at once), or, when the
//     Hub asked for no delay, a jittered initial backoff; a Drain also resets the backoff, since the
//     stream ended gracefully;
//   - otherwise the next backoff delay.
func reconnectDelay(outcome sessionOutcome, b *backoff, resetAfter time.Duration) time.Duration {
	if outcome.established && outcome.connectedFor >= resetAfter {
		b.reset()
	}
	if outcome.drain != nil {
		b.reset()
		return drainDelay(outcome.drain.GetReconnectAfterMs(), b.initial, b.random)
	}
	return b.next()
}

// drainDelay is the wait after a Drain asking for reconnectAfterMs: that long plus up to half of it
// again, or up to initial when the Hub asked for no delay.
func drainDelay(reconnectAfterMs uint32, initial time.Duration, random func() float64) time.Duration {
	after := time.Duration(reconnectAfterMs) * time.Millisecond
	if after == 0 {
		return jitter(initial, random)
	}
	return after + jitter(after/2, random)
}
