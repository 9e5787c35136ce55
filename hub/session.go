package hub

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/types"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// errSessionEnded is returned to whoever waits on a session that ended.
var errSessionEnded = errors.New("the agent's tunnel ended")

// session is one agent's live stream. Three or four goroutines serve it: the stream handler, which waits
// for the session to end and returns (so that gRPC cancels the stream, unblocking everything);
// the sender, the only one that sends; the receiver, the only one that receives; and, while
// writes wait, the cloud writer, which writes what the agent reported to the cloud Rollouts
// (pendingWrites), so that a slow API server never holds up the receiver.
//
// Backpressure: messages for the agent wait in a bounded queue (Options.SendQueueSize) that the
// sender drains. Whoever enqueues waits at most Options.SendTimeout for room; a queue still full
// then, or one send blocked that long, means the agent does not keep up, and the session is
// dropped (ResourceExhausted). Mirrored Rollouts do not go through the queue: a change only marks
// the Rollout dirty for the session, and the sender sends the cloud's current generation when it
// gets to it, so a slow agent costs one mark per Rollout, never a backlog; after a drop the agent
// reconnects and resyncs, and nothing is lost.
type session struct {
	hub           *Server
	id            string
	key           agentKey
	remoteAddress string
	connectedAt   time.Time
	log           logr.Logger

	stream tunnelv1.Tunnel_ConnectServer
	ctx    context.Context
	end    context.CancelCauseFunc

	queue      chan *tunnelv1.Envelope
	wake       chan struct{}
	senderDone chan struct{}
	lastHeard  atomic.Int64 // unix nanoseconds

	// Owned by the sender goroutine.
	nextID          uint64
	sendWatchdog    *time.Timer
	lastStatusWrite time.Time

	mu             sync.Mutex
	held           map[types.UID]rolloutRef // what the agent holds, as far as the Hub knows
	dirty          map[types.UID]string     // Rollouts to look at again: uid → name
	pendingApplies map[uint64]rolloutRef    // applies sent and not acknowledged, by Envelope id
	queries        map[string]chan *tunnelv1.Response
	nextQuery      uint64
	exchanges      map[uint64]*exchange // proxied HTTP exchanges, by stream id
	nextExchange   uint64

	// proxyQueue holds the messages of proxied exchanges: flow control bounds them, so waiting
	// for room there never drops the session.
	proxyQueue chan *tunnelv1.Envelope
	// agentRequests bounds the agent's Requests answered at once.
	agentRequests chan struct{}
	// writes holds what the agent reported and the cloud writer has yet to write.
	writes *pendingWrites
	// claimedVersion is the resourceVersion of the agent Lease this session claimed, 0 before.
	claimedVersion atomic.Uint64
}

// touch records that the agent was heard from at now.
func (s *session) touch(now time.Time) { s.lastHeard.Store(now.UnixNano()) }

// lastHeardAt is when the agent was last heard from.
func (s *session) lastHeardAt() time.Time { return time.Unix(0, s.lastHeard.Load()) }

// mark asks the sender to look at the Rollout uid (named name) again, at once.
func (s *session) mark(uid types.UID, name string) {
	s.markForLater(uid, name)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// markForLater asks the sender to look at the Rollout uid again at its next heartbeat tick.
func (s *session) markForLater(uid types.UID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirty == nil {
		s.dirty = make(map[types.UID]string)
	}
	s.dirty[uid] = name
}

// enqueue queues env for the sender, waiting at most the send timeout for room; a queue still full
// then drops the session. It fails when the session or ctx ends first.
func (s *session) enqueue(ctx context.Context, env *tunnelv1.Envelope) error {
	select {
	case s.queue <- env:
		return nil
	default:
	}
	timeout := s.hub.opts.SendTimeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case s.queue <- env:
		return nil
	case <-s.ctx.Done():
		return errSessionEnded
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		s.hub.metrics.sendQueueDrops.Inc()
		s.end(endSendQueueFull(timeout))
		return errSessionEnded
	}
}

// runSender sends Welcome, resyncs the agent, then sends queued messages, mirrored Rollouts and
// heartbeats until the session ends; it sends Drain last when the end asks for it.
func (s *session) runSender(welcome *tunnelv1.Welcome) {
	defer close(s.senderDone)
	s.sendWatchdog = time.AfterFunc(time.Hour, func() {
		s.hub.metrics.sendQueueDrops.Inc()
		s.end(endSendStalled(s.hub.opts.SendTimeout))
	})
	s.sendWatchdog.Stop()
	defer s.sendWatchdog.Stop()
	ticker := time.NewTicker(s.hub.opts.HeartbeatInterval)
	defer ticker.Stop()

	if !s.transmit(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Welcome{Welcome: welcome}}) || !s.flushMirror() {
		s.sendDrainIfAsked()
		return
	}
	for {
		select {
		case <-s.ctx.Done():
			s.sendDrainIfAsked()
			return
		case env := <-s.queue:
			if !s.transmit(env) {
				return
			}
		case env := <-s.proxyQueue:
			if !s.transmit(env) {
				return
			}
		case <-s.wake:
			if !s.flushMirror() {
				s.sendDrainIfAsked()
				return
			}
		case <-ticker.C:
			if !s.tick() {
				s.sendDrainIfAsked()
				return
			}
		}
	}
}

// sendDrainIfAsked sends Drain when the session ended for a reason that asks for it.
func (s *session) sendDrainIfAsked() {
	if s.ctx.Err() == nil {
		return
	}
	cause := causeOf(s.ctx)
	if !cause.drain {
		return
	}
	drain := &tunnelv1.Drain{Reason: cause.reason, ReconnectAfterMs: uint32(cause.reconnectAfter.Milliseconds())}
	s.transmit(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Drain{Drain: drain}})
}

// tick runs once per heartbeat interval: it drops a silent agent, sends Heartbeat, asks for the
// Agent's lastHeartbeatAt to be written when due, and retries Rollouts left dirty.
func (s *session) tick() bool {
	now := s.hub.opts.Now()
	if livenessExpired(s.lastHeardAt(), now, s.hub.opts.HeartbeatInterval) {
		s.end(endHeartbeatTimeout(s.hub.opts.HeartbeatInterval))
		return false
	}
	if !s.transmit(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}}) {
		return false
	}
	if statusWriteDue(s.lastStatusWrite, now, s.hub.opts.StatusWriteInterval) {
		s.lastStatusWrite = now
		s.hub.agents.enqueue(s.key)
	}
	s.mu.Lock()
	retry := len(s.dirty) > 0
	s.mu.Unlock()
	return !retry || s.flushMirror()
}

// transmit stamps env with the next id and the send time and sends it; a send blocked past the
// send timeout drops the session. It reports whether the session may go on.
func (s *session) transmit(env *tunnelv1.Envelope) bool {
	if env.Id == 0 {
		s.stamp(env)
	}
	s.sendWatchdog.Reset(s.hub.opts.SendTimeout)
	err := s.stream.Send(env)
	s.sendWatchdog.Stop()
	if err != nil {
		s.end(endSendFailed(err))
		return false
	}
	s.hub.metrics.messageSent(payloadName(env))
	return true
}

// stamp gives env the stream's next id and the send time.
func (s *session) stamp(env *tunnelv1.Envelope) {
	s.nextID++
	env.Id = s.nextID
	env.SentAtUnixNano = s.hub.opts.Now().UnixNano()
}

// flushMirror sends the applies and deletes that the dirty Rollouts need: it compares what the
// agent holds with the cloud's current Rollouts (from the shared cache). It reports whether the
// session may go on.
func (s *session) flushMirror() bool {
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = nil
	held := make(map[types.UID]rolloutRef, len(dirty))
	for uid := range dirty {
		if ref, ok := s.held[uid]; ok {
			held[uid] = ref
		}
	}
	s.mu.Unlock()
	if len(dirty) == 0 {
		return true
	}
	cloud := make(map[types.UID]rolloutRef, len(dirty))
	objects := make(map[types.UID]*rolloutv1alpha1.Rollout, len(dirty))
	for uid, name := range dirty {
		rollout, err := s.hub.cloudRollout(s.ctx, s.key, name)
		if err != nil {
			s.log.Error(err, "Reading a Rollout from the cache failed; retrying at the next heartbeat", "rollout", name)
			s.markForLater(uid, name)
			delete(held, uid)
			continue
		}
		if rollout != nil && rollout.UID == uid {
			cloud[uid], objects[uid] = refOf(rollout), rollout
		}
	}
	plan := diffRollouts(held, cloud)
	for _, ref := range plan.Deletes {
		if s.ctx.Err() != nil || !s.sendDelete(ref) {
			return false
		}
	}
	for _, ref := range plan.Applies {
		if s.ctx.Err() != nil || !s.sendApply(ref, objects[ref.UID]) {
			return false
		}
	}
	return true
}

// sendDelete sends DeleteRollout for ref and forgets that the agent holds it.
func (s *session) sendDelete(ref rolloutRef) bool {
	s.mu.Lock()
	delete(s.held, ref.UID)
	s.mu.Unlock()
	return s.transmit(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_DeleteRollout{DeleteRollout: &tunnelv1.DeleteRollout{Ref: ref.toProto()}}})
}

// sendApply sends ApplyRollout for the cloud Rollout at ref's generation and records that the
// agent holds it, and which Envelope id its Ack will name. A Rollout too large for one message is
// logged and skipped: it cannot be mirrored until it shrinks.
func (s *session) sendApply(ref rolloutRef, rollout *rolloutv1alpha1.Rollout) bool {
	body, err := rolloutJSON(rollout)
	if err != nil {
		s.log.Error(err, "Encoding a Rollout failed; it is not mirrored", "rollout", ref.Name)
		return true
	}
	env := &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_ApplyRollout{ApplyRollout: &tunnelv1.ApplyRollout{Ref: ref.toProto(), Rollout: body}}}
	s.stamp(env)
	if size := proto.Size(env); size > s.hub.opts.MaxMessageBytes {
		s.log.Error(errors.New("message too large"), "A Rollout is too large to mirror; it is skipped",
			"rollout", ref.Name, "bytes", size, "maxMessageBytes", s.hub.opts.MaxMessageBytes)
		return true
	}
	s.mu.Lock()
	if s.held == nil {
		s.held = make(map[types.UID]rolloutRef)
	}
	if s.pendingApplies == nil {
		s.pendingApplies = make(map[uint64]rolloutRef)
	}
	s.held[ref.UID] = ref
	s.pendingApplies[env.Id] = ref
	s.mu.Unlock()
	return s.transmit(env)
}

// runReceiver reads the agent's messages until the stream ends.
func (s *session) runReceiver() {
	for {
		env, err := s.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.end(endAgentClosed)
			} else {
				s.end(endReceiveFailed(err))
			}
			return
		}
		s.touch(s.hub.opts.Now())
		s.hub.metrics.messageReceived(payloadName(env))
		if cause := s.handle(env); cause != nil {
			s.end(cause)
			return
		}
	}
}

// handle acts on one message of the agent; a non-nil cause ends the session.
func (s *session) handle(env *tunnelv1.Envelope) *endCause {
	switch payload := env.GetPayload().(type) {
	case *tunnelv1.Envelope_Heartbeat:
	case *tunnelv1.Envelope_Ack:
		s.handleAck(payload.Ack)
	case *tunnelv1.Envelope_RolloutStatus:
		s.handleStatus(env.GetId(), payload.RolloutStatus)
	case *tunnelv1.Envelope_Inventory:
		s.hub.inventories.store(s.key, payload.Inventory, s.hub.opts.Now())
	case *tunnelv1.Envelope_Response:
		s.deliver(payload.Response)
	case *tunnelv1.Envelope_HttpResponse, *tunnelv1.Envelope_HttpBody, *tunnelv1.Envelope_HttpWindow, *tunnelv1.Envelope_HttpCancel:
		s.handleProxy(env)
	case *tunnelv1.Envelope_Request:
		s.startAgentRequest(payload.Request)
	case *tunnelv1.Envelope_Hello:
		return endProtocolError("Hello is only the first message of a stream")
	default:
		s.log.V(1).Info("Ignoring a message the hub does not expect from an agent", "type", payloadName(env))
	}
	return nil
}

// handleAck hands the generation an acknowledged apply carried to the cloud writer, for the cloud
// Rollout's status.appliedGeneration. Acks of other messages need nothing.
func (s *session) handleAck(ack *tunnelv1.Ack) {
	s.mu.Lock()
	ref, ok := s.pendingApplies[ack.GetAckId()]
	delete(s.pendingApplies, ack.GetAckId())
	s.mu.Unlock()
	if !ok {
		return
	}
	if !ack.GetOk() {
		s.log.Info("The agent could not apply a Rollout", "rollout", ref.Name, "generation", ref.Generation, "error", ack.GetError())
		return
	}
	s.writes.addApplied(ref)
}

// handleStatus hands a reported status to the cloud writer, which acknowledges it once written. A
// status that cannot be decoded is refused at once; one that a newer status of the same Rollout
// replaces before it is written is acknowledged at once, since the newer one is written in its
// stead.
func (s *session) handleStatus(id uint64, msg *tunnelv1.RolloutStatus) {
	report, err := decodeRolloutStatus(s.key, msg)
	if err != nil {
		s.acknowledgeStatus(id, msg.GetRef().GetName(), err)
		return
	}
	superseded, full := s.writes.addStatus(id, report)
	switch {
	case full:
		s.acknowledgeStatus(id, report.ref.Name, errWritesBacklogged)
	case superseded != 0:
		s.acknowledgeStatus(superseded, report.ref.Name, nil)
	}
}

// errWritesBacklogged refuses a status while too many Rollouts of the session wait to be written.
var errWritesBacklogged = errors.New("too many Rollout statuses wait to be written")

// writeToCloud writes what the agent reported to the cloud Rollouts, one Rollout at a time and
// always the latest of each, and acknowledges each status once written; it ends when nothing waits
// (pendingWrites starts it again) or the session ends. What waits when the session ends is
// dropped: the agent sends every status again on its next stream and the Hello of that stream names
// the generations it holds.
func (s *session) writeToCloud() {
	for s.ctx.Err() == nil {
		pending, ok := s.writes.take()
		if !ok {
			return
		}
		err := s.hub.rollouts.writePending(s.ctx, s.key, pending)
		if pending.status != nil {
			s.acknowledgeStatus(pending.statusID, pending.ref.Name, err)
			continue
		}
		if err != nil && s.ctx.Err() == nil {
			if isRefusal(err) {
				s.log.V(1).Info("Not recording an applied generation", "rollout", pending.ref.Name, "reason", err.Error())
				continue
			}
			s.log.Error(err, "Recording an applied generation failed", "rollout", pending.ref.Name, "generation", pending.applied)
		}
	}
}

// acknowledgeStatus acknowledges the status message id about Rollout name: ok when err is nil (it
// was written or was not newer than the cloud's), not ok with the reason otherwise.
func (s *session) acknowledgeStatus(id uint64, name string, err error) {
	ack := &tunnelv1.Ack{AckId: id, Ok: err == nil}
	switch {
	case err == nil:
	case isRefusal(err):
		ack.Error = err.Error()
		s.log.V(1).Info("Refusing a Rollout status", "rollout", name, "reason", ack.Error)
	case errors.Is(err, errWritesBacklogged):
		ack.Error = "the hub has too many statuses to write; send it again later"
	default:
		ack.Error = "the hub could not write the status; send it again later"
		if s.ctx.Err() == nil {
			s.log.Error(err, "Writing a Rollout status failed", "rollout", name)
		}
	}
	_ = s.enqueue(s.ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Ack{Ack: ack}})
}

// addQuery registers a pending Request and returns its id and the channel its Response arrives on.
func (s *session) addQuery() (string, chan *tunnelv1.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextQuery++
	id := s.id + "-" + strconv.FormatUint(s.nextQuery, 10)
	if s.queries == nil {
		s.queries = make(map[string]chan *tunnelv1.Response)
	}
	ch := make(chan *tunnelv1.Response, 1)
	s.queries[id] = ch
	return id, ch
}

// removeQuery forgets a pending Request.
func (s *session) removeQuery(id string) {
	s.mu.Lock()
	delete(s.queries, id)
	s.mu.Unlock()
}

// deliver hands a Response to the Query waiting for it; a Response nobody waits for is dropped.
func (s *session) deliver(resp *tunnelv1.Response) {
	s.mu.Lock()
	ch, ok := s.queries[resp.GetRequestId()]
	delete(s.queries, resp.GetRequestId())
	s.mu.Unlock()
	if !ok {
		s.log.V(1).Info("Dropping a Response nobody waits for", "requestID", resp.GetRequestId())
		return
	}
	ch <- resp
}

// livenessExpired reports whether an agent last heard at lastHeard is silent for more than
// MissedHeartbeats intervals at now.
func livenessExpired(lastHeard, now time.Time, interval time.Duration) bool {
	return now.Sub(lastHeard) > MissedHeartbeats*interval
}

// statusWriteDue reports whether an Agent's lastHeartbeatAt, last asked to be written at last, is
// due again at now.
func statusWriteDue(last, now time.Time, every time.Duration) bool {
	return now.Sub(last) >= every
}
