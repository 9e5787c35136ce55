package rna

import (
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// This file holds the pure rules of one stream: liveness, heartbeat interval, message size and
// how a stream's end is named. The stream itself is in session.go.

// Why a stream ended, as the cause of its context.
var (
	errHandshakeTimeout = errors.New("connecting to the hub timed out")
	errSendTimeout      = errors.New("sending to the hub timed out")
	errHubSilent        = errors.New("nothing heard from the hub for three heartbeat intervals: the stream is dead")
	errDrained          = errors.New("the hub drained the stream")
	errHubClosed        = errors.New("the hub closed the stream")
)

// silentHeartbeats is how many heartbeat intervals of silence from the Hub make a stream dead.
const silentHeartbeats = 3

// minHeartbeatInterval is the shortest heartbeat interval the agent accepts from a Welcome.
const minHeartbeatInterval = 10 * time.Millisecond

// heartbeatInterval is the interval a Welcome asks for: DefaultHeartbeatInterval when it names none,
// and never below minHeartbeatInterval.
func heartbeatInterval(w *tunnelv1.Welcome) time.Duration {
	ms := w.GetHeartbeatIntervalMs()
	if ms == 0 {
		return DefaultHeartbeatInterval
	}
	return max(time.Duration(ms)*time.Millisecond, minHeartbeatInterval)
}

// livenessCheckPeriod is how often the agent checks whether the Hub went silent: a tenth of the
// heartbeat interval, so that a dead stream is found at most a tenth of an interval late.
func livenessCheckPeriod(heartbeat time.Duration) time.Duration {
	return max(heartbeat/10, time.Millisecond)
}

// hubSilent reports whether nothing arrived from the Hub for more than three heartbeat intervals
// since lastHeard.
func hubSilent(lastHeard, now time.Time, heartbeat time.Duration) bool {
	return now.Sub(lastHeard) > silentHeartbeats*heartbeat
}

// fitMessage checks an Envelope against the Hub's max_message_bytes (0: no limit). A Response that
// is too large becomes a failed Response saying so; any other message that is too large cannot be
// sent and fitMessage returns an error.
func fitMessage(env *tunnelv1.Envelope, maxBytes int) (*tunnelv1.Envelope, error) {
	if maxBytes <= 0 {
		return env, nil
	}
	size := proto.Size(env)
	if size <= maxBytes {
		return env, nil
	}
	if resp := env.GetResponse(); resp != nil {
		return &tunnelv1.Envelope{Id: env.GetId(), SentAtUnixNano: env.GetSentAtUnixNano(), Payload: &tunnelv1.Envelope_Response{
			Response: &tunnelv1.Response{RequestId: resp.GetRequestId(), Ok: false,
				Error: fmt.Sprintf("the response has %d bytes, more than the hub's limit of %d", size, maxBytes)},
		}}, nil
	}
	return nil, fmt.Errorf("the %s message has %d bytes, more than the hub's limit of %d", payloadName(env), size, maxBytes)
}

// payloadName names the payload of an Envelope for logs and errors.
func payloadName(env *tunnelv1.Envelope) string {
	switch env.GetPayload().(type) {
	case *tunnelv1.Envelope_Hello:
		return "Hello"
	case *tunnelv1.Envelope_Welcome:
		return "Welcome"
	case *tunnelv1.Envelope_ApplyRollout:
		return "ApplyRollout"
	case *tunnelv1.Envelope_DeleteRollout:
		return "DeleteRollout"
	case *tunnelv1.Envelope_Ack:
		return "Ack"
	case *tunnelv1.Envelope_RolloutStatus:
		return "RolloutStatus"
	case *tunnelv1.Envelope_Request:
		return "Request"
	case *tunnelv1.Envelope_Response:
		return "Response"
	case *tunnelv1.Envelope_Heartbeat:
		return "Heartbeat"
	case *tunnelv1.Envelope_Drain:
		return "Drain"
	case *tunnelv1.Envelope_Inventory:
		return "Inventory"
	}
	return "empty"
}

// disconnectReason names how an attempt ended, for the reconnects metric and the logs: drained,
// silent (dead stream), closed (by the Hub), handshake-timeout, send-timeout, unauthenticated,
// permission-denied, unavailable (could not reach the Hub) or error.
func disconnectReason(outcome sessionOutcome, err error) string {
	switch {
	case outcome.drain != nil || errors.Is(err, errDrained):
		return "drained"
	case errors.Is(err, errHubSilent):
		return "silent"
	case errors.Is(err, errHubClosed) || errors.Is(err, io.EOF):
		return "closed"
	case errors.Is(err, errHandshakeTimeout):
		return "handshake-timeout"
	case errors.Is(err, errSendTimeout):
		return "send-timeout"
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Unauthenticated:
			return "unauthenticated"
		case codes.PermissionDenied:
			return "permission-denied"
		case codes.Unavailable:
			return "unavailable"
		}
	}
	return "error"
}
