package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// endCause says why a session ended: the status the stream ends with, the reason counted in
// metrics and shown in the Agent's Ready condition, and whether the agent is sent Drain first.
type endCause struct {
	// code is the gRPC status of the stream's end; codes.OK ends it cleanly.
	code codes.Code
	// metric names the reason in the disconnects metric.
	metric string
	// reason says why, for people; never a secret.
	reason string
	// drain sends the agent Drain before the stream ends.
	drain bool
	// reconnectAfter is the Drain's reconnect delay.
	reconnectAfter time.Duration
}

// Error returns the reason.
func (c *endCause) Error() string { return c.reason }

// status returns the error the stream handler returns for this end: nil for a clean end.
func (c *endCause) status() error {
	if c.code == codes.OK {
		return nil
	}
	return status.Error(c.code, c.reason)
}

// Causes of a session's end.
var (
	endAgentClosed = &endCause{code: codes.OK, metric: "agent_closed", reason: "the agent closed the stream"}
	endAgentGone   = &endCause{code: codes.Canceled, metric: "agent_gone", reason: "the stream was cancelled or its connection lost"}
	endTokenExpiry = &endCause{code: codes.OK, metric: "token_expired", drain: true,
		reason: "the agent's token expired; reconnect with a fresh one"}
)

// endHeartbeatTimeout ends a session that heard nothing for MissedHeartbeats intervals.
func endHeartbeatTimeout(interval time.Duration) *endCause {
	return &endCause{code: codes.Unavailable, metric: "heartbeat_timeout",
		reason: fmt.Sprintf("nothing heard from the agent for %d heartbeat intervals of %s", MissedHeartbeats, interval)}
}

// endSendQueueFull ends a session whose send queue stayed full past the send timeout.
func endSendQueueFull(timeout time.Duration) *endCause {
	return &endCause{code: codes.ResourceExhausted, metric: "send_queue_full",
		reason: fmt.Sprintf("the agent reads too slowly: its send queue stayed full for %s; reconnect and resync", timeout)}
}

// endSendStalled ends a session whose one send stayed blocked past the send timeout.
func endSendStalled(timeout time.Duration) *endCause {
	return &endCause{code: codes.ResourceExhausted, metric: "send_stalled",
		reason: fmt.Sprintf("the agent reads too slowly: a send stayed blocked for %s; reconnect and resync", timeout)}
}

// endSendFailed ends a session whose stream failed to send.
func endSendFailed(err error) *endCause {
	return &endCause{code: codes.Unavailable, metric: "send_error", reason: "sending failed: " + status.Convert(err).Message()}
}

// endReceiveFailed ends a session whose stream failed to receive.
func endReceiveFailed(err error) *endCause {
	return &endCause{code: codes.Unavailable, metric: "receive_error", reason: "receiving failed: " + status.Convert(err).Message()}
}

// endProtocolError ends a session whose agent broke the conversation.
func endProtocolError(reason string) *endCause {
	return &endCause{code: codes.InvalidArgument, metric: "protocol_error", reason: reason}
}

// endReplaced ends a session replaced by a newer stream of the same agent.
func endReplaced(reconnectAfter time.Duration) *endCause {
	return &endCause{code: codes.OK, metric: "replaced", drain: true, reconnectAfter: reconnectAfter,
		reason: "a newer stream of the same agent replaced this one"}
}

// endShutdown ends a session because the Hub replica shuts down.
func endShutdown(reconnectAfter time.Duration) *endCause {
	return &endCause{code: codes.OK, metric: "shutdown", drain: true, reconnectAfter: reconnectAfter,
		reason: "the hub replica is shutting down; reconnect, to another replica"}
}

// causeOf returns why ctx, a session's context, ended; endAgentGone when the stream's own context
// ended first.
func causeOf(ctx context.Context) *endCause {
	var cause *endCause
	if errors.As(context.Cause(ctx), &cause) {
		return cause
	}
	return endAgentGone
}

// endTakenOver ends a session whose agent's Lease another stream (on another replica, or a newer
// one here) now holds.
func endTakenOver(holder string) *endCause {
	return &endCause{code: codes.Aborted, metric: "taken_over", drain: true, reconnectAfter: DefaultReplacedReconnectDelay,
		reason: fmt.Sprintf("hub replica %s holds the agent's tunnel now", holder)}
}

// endLeaseLost ends the sessions of a replica that could not renew its Lease in time: another
// replica may hold its agents by now.
var endLeaseLost = &endCause{code: codes.Unavailable, metric: "lease_lost", drain: true,
	reason: "the hub replica could not renew its lease; reconnect to another replica"}
