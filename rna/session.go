package rna

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// Transport settings of the tunnel.
const (
	// keepaliveTime is how long the connection may stay idle before the agent pings the Hub; the
	// Hub must permit pings this often (its EnforcementPolicy.MinTime is 15s).
	keepaliveTime = 30 * time.Second
	// keepaliveTimeout is how long the agent waits for a ping's answer before it drops the
	// connection.
	keepaliveTimeout = 10 * time.Second
	// maxReceiveMessageBytes is the largest Envelope the agent accepts from the Hub.
	maxReceiveMessageBytes = 16 << 20
	// outboxSize is how many messages may wait to be sent.
	outboxSize = 128
	// maxConcurrentRequests is how many Requests of the Hub are answered at once.
	maxConcurrentRequests = 4
)

// connectOnce runs one connection attempt to its end: it dials the Hub, says Hello with the resync
// state, waits for Welcome (all within DialTimeout), then runs the stream until it fails, goes
// silent, is drained or ctx ends. It returns how the attempt went and why it ended.
func (a *Agent) connectOnce(ctx context.Context) (outcome sessionOutcome, err error) {
	hello, err := a.hello(ctx)
	if err != nil {
		return outcome, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	handshake := time.AfterFunc(a.opts.DialTimeout, func() { cancel(errHandshakeTimeout) })
	defer handshake.Stop()

	address := a.nextAddress()
	conn, err := grpc.NewClient(address,
		grpc.WithTransportCredentials(credentials.NewTLS(a.opts.TLS)),
		grpc.WithPerRPCCredentials(a.opts.Credentials),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxReceiveMessageBytes)),
		grpc.WithUserAgent("aurora-rna/"+a.opts.AgentVersion),
	)
	if err != nil {
		return outcome, fmt.Errorf("creating the connection to the hub: %w", err)
	}
	stream, err := tunnelv1.NewTunnelClient(conn).Connect(ctx)
	if err != nil {
		a.closeWithin(conn, nil)
		return outcome, fmt.Errorf("opening the tunnel: %w", causeOf(ctx, err))
	}
	s := &session{agent: a, log: a.log, stream: stream, cancel: cancel, outbox: make(chan *tunnelv1.Envelope, outboxSize)}
	defer a.closeWithin(conn, stream)

	if err := s.write(&tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Hello{Hello: hello}}); err != nil {
		return outcome, fmt.Errorf("sending hello: %w", causeOf(ctx, err))
	}
	first, err := stream.Recv()
	if err != nil {
		return outcome, fmt.Errorf("waiting for welcome: %w", causeOf(ctx, recvError(err)))
	}
	if drain := first.GetDrain(); drain != nil {
		outcome.drain = drain
		return outcome, errDrained
	}
	welcome := first.GetWelcome()
	if welcome == nil {
		return outcome, fmt.Errorf("the hub answered hello with %s, not welcome", payloadName(first))
	}
	if !handshake.Stop() {
		return outcome, errHandshakeTimeout
	}
	s.heartbeat = heartbeatInterval(welcome)
	s.maxMessageBytes = int(welcome.GetMaxMessageBytes())
	s.log = a.log.WithValues("session", welcome.GetSessionId(), "hubReplica", welcome.GetHubReplica(), "address", address)
	connectedAt := a.opts.Now()
	s.touch()
	outcome.established = true
	a.setConnected(true)
	s.log.Info("Connected to the hub", "heartbeatInterval", s.heartbeat.String(), "resyncRollouts", len(hello.GetRollouts()))

	err = s.run(ctx)
	a.setConnected(false)
	outcome.connectedFor = a.opts.Now().Sub(connectedAt)
	outcome.drain = s.drain.Load()
	return outcome, err
}

// hello builds the agent's Hello: identifier, versions and the resync state, the refs of every
// mirrored Rollout of the target cluster.
func (a *Agent) hello(ctx context.Context) (*tunnelv1.Hello, error) {
	mirrored, err := a.target.listMirroredMetadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the resync state: %w", err)
	}
	version, err := a.target.kubernetesVersion(ctx)
	if err != nil {
		return nil, err
	}
	return &tunnelv1.Hello{
		AgentIdentifier:   a.opts.AgentIdentifier,
		AgentVersion:      a.opts.AgentVersion,
		KubernetesVersion: version,
		Rollouts:          resyncState(mirrored),
	}, nil
}

// closeWithin half-closes the stream (when there is one) and closes the connection, giving up
// after SendTimeout: closing must never hang the reconnect loop on a dead connection.
func (a *Agent) closeWithin(conn *grpc.ClientConn, stream grpc.ClientStream) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if stream != nil {
			_ = stream.CloseSend()
		}
		if err := conn.Close(); err != nil {
			a.log.V(1).Info("Closing the connection to the hub failed", "error", err.Error())
		}
	}()
	timer := time.NewTimer(a.opts.SendTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		a.log.Info("Closing the connection to the hub timed out; abandoning it", "timeout", a.opts.SendTimeout.String())
	}
}

// causeOf returns why ctx ended when it did (a timeout, a dead stream, a drain), else err.
func causeOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// recvError names the Hub's orderly end of the stream.
func recvError(err error) error {
	if errors.Is(err, io.EOF) {
		return errHubClosed
	}
	return err
}

// session is one established stream: it receives and dispatches the Hub's messages, sends through
// one writer, heartbeats, watches the Hub's liveness, and streams statuses and inventory.
type session struct {
	agent  *Agent
	log    logr.Logger
	stream grpc.BidiStreamingClient[tunnelv1.Envelope, tunnelv1.Envelope]
	// cancel ends the stream with a cause.
	cancel context.CancelCauseFunc
	// outbox holds the messages waiting for the writer.
	outbox chan *tunnelv1.Envelope
	// heartbeat is the interval of the Welcome.
	heartbeat time.Duration
	// maxMessageBytes is the Hub's limit, 0 for none.
	maxMessageBytes int
	// nextID is the id of the last Envelope sent; only the writer touches it.
	nextID uint64
	// lastHeard is when the last message arrived from the Hub, in Unix nanoseconds.
	lastHeard atomic.Int64
	// drain is the Hub's Drain, once received.
	drain atomic.Pointer[tunnelv1.Drain]
	// work holds the ApplyRollout and DeleteRollout messages in applyLanes queues: the messages of one
	// cloud Rollout always go to the same lane, so they are handled in order, while the lanes apply
	// different Rollouts side by side.
	work [applyLanes]fifo[*tunnelv1.Envelope]
	// requests bounds the Requests answered at once.
	requests chan struct{}
	// parts counts the goroutines of the session.
	parts sync.WaitGroup
	// proxied are the open proxied HTTP exchanges.
	proxied exchanges
	// asked are the agent's Requests waiting for the Hub's Response.
	asked agentRequests
	// ended is closed when the session ends.
	ended chan struct{}
	// sentStatuses maps the id of each RolloutStatus sent to its Rollout's cloud uid, until the Hub
	// acknowledges it.
	sentStatuses sync.Map
}

// statusRetryDelay is how long the agent waits before it sends again a status the Hub could not take
// (its write to the cloud failed, while the API server restarts for instance).
const statusRetryDelay = 2 * time.Second

// run runs the established stream until one of its parts fails or ctx ends, and returns the cause.
func (s *session) run(ctx context.Context) error {
	s.requests = make(chan struct{}, maxConcurrentRequests)
	s.ended = make(chan struct{})
	for i := range s.work {
		s.work[i].init()
	}
	s.agent.current.Store(s)
	defer func() {
		s.agent.current.CompareAndSwap(s, nil)
		close(s.ended)
	}()
	for _, part := range []func(context.Context){s.receive, s.writeLoop, s.keepAlive, s.sendStatuses, s.sendInventory} {
		s.parts.Go(func() { part(ctx) })
	}
	for i := range s.work {
		s.parts.Go(func() { s.handleWork(ctx, &s.work[i]) })
	}
	<-ctx.Done()
	s.parts.Wait()
	return context.Cause(ctx)
}

// touch records that the Hub was just heard.
func (s *session) touch() { s.lastHeard.Store(s.agent.opts.Now().UnixNano()) }

// receive reads the Hub's messages and dispatches them until the stream fails.
func (s *session) receive(ctx context.Context) {
	for {
		env, err := s.stream.Recv()
		if err != nil {
			s.cancel(fmt.Errorf("receiving from the hub: %w", recvError(err)))
			return
		}
		s.touch()
		switch p := env.GetPayload().(type) {
		case *tunnelv1.Envelope_Heartbeat:
		case *tunnelv1.Envelope_ApplyRollout, *tunnelv1.Envelope_DeleteRollout:
			s.work[applyLane(env)].push(env)
		case *tunnelv1.Envelope_Request:
			s.answerAsync(ctx, env.GetId(), p.Request)
		case *tunnelv1.Envelope_Response:
			s.deliver(p.Response)
		case *tunnelv1.Envelope_HttpRequest, *tunnelv1.Envelope_HttpBody, *tunnelv1.Envelope_HttpWindow, *tunnelv1.Envelope_HttpCancel:
			s.handleProxy(ctx, env)
		case *tunnelv1.Envelope_Drain:
			s.drain.Store(p.Drain)
			s.cancel(errDrained)
			return
		case *tunnelv1.Envelope_Ack:
			uid, wasStatus := s.sentStatuses.LoadAndDelete(p.Ack.GetAckId())
			if !p.Ack.GetOk() {
				s.log.Info("The hub refused a message", "ackId", p.Ack.GetAckId(), "error", p.Ack.GetError())
				if wasStatus {
					// Send that status again later: nothing else would, once the Rollout stops changing.
					time.AfterFunc(statusRetryDelay, func() { s.agent.statuses.markDueByUID(ctx, uid.(string)) })
				}
			}
		default:
			s.log.Info("Ignoring an unexpected message from the hub", "id", env.GetId(), "type", payloadName(env))
		}
	}
}

// enqueue hands a message to the writer; false when the stream ended first.
func (s *session) enqueue(ctx context.Context, env *tunnelv1.Envelope) bool {
	select {
	case s.outbox <- env:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeLoop sends the outbox's messages one at a time until the stream ends.
func (s *session) writeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case env := <-s.outbox:
			if err := s.write(env); err != nil {
				if errors.Is(err, errMessageTooLarge) {
					s.log.Error(err, "Dropping a message the hub would refuse")
					continue
				}
				if !errors.Is(err, io.EOF) {
					s.cancel(fmt.Errorf("sending to the hub: %w", causeOf(ctx, err)))
				}
				// On io.EOF the stream is over and receive reports why.
				return
			}
		}
	}
}

// errMessageTooLarge marks a message larger than the Hub accepts.
var errMessageTooLarge = errors.New("message too large")

// write numbers, stamps and sends one message within SendTimeout; when the timeout passes it ends
// the stream, which unblocks Send even on a connection that no longer moves.
func (s *session) write(env *tunnelv1.Envelope) error {
	s.nextID++
	env.Id = s.nextID
	env.SentAtUnixNano = s.agent.opts.Now().UnixNano()
	if status := env.GetRolloutStatus(); status != nil {
		s.sentStatuses.Store(env.Id, status.GetRef().GetUid())
	}
	env, err := fitMessage(env, s.maxMessageBytes)
	if err != nil {
		return fmt.Errorf("%w: %w", errMessageTooLarge, err)
	}
	timer := time.AfterFunc(s.agent.opts.SendTimeout, func() { s.cancel(errSendTimeout) })
	err = s.stream.Send(env)
	if !timer.Stop() {
		return errSendTimeout
	}
	if err != nil {
		return err
	}
	switch env.GetPayload().(type) {
	case *tunnelv1.Envelope_RolloutStatus:
		s.agent.metrics.statusesSent.Inc()
	case *tunnelv1.Envelope_Inventory:
		s.agent.metrics.inventoriesSent.Inc()
	}
	return nil
}

// keepAlive sends a Heartbeat every interval and ends the stream when the Hub has been silent for
// three intervals: a blackholed connection delivers nothing and closes nothing, so silence is the
// only sign of it.
func (s *session) keepAlive(ctx context.Context) {
	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	check := time.NewTicker(livenessCheckPeriod(s.heartbeat))
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			select {
			case s.outbox <- &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Heartbeat{Heartbeat: &tunnelv1.Heartbeat{}}}:
			default: // the outbox is full, so the Hub hears from us anyway
			}
		case <-check.C:
			lastHeard := time.Unix(0, s.lastHeard.Load())
			if hubSilent(lastHeard, s.agent.opts.Now(), s.heartbeat) {
				s.agent.metrics.deadStreams.Inc()
				s.log.Info("The hub went silent; dropping the stream", "lastHeard", lastHeard.UTC().Format(time.RFC3339Nano),
					"heartbeatInterval", s.heartbeat.String())
				s.cancel(errHubSilent)
				return
			}
		}
	}
}

// handleWork applies and deletes the mirrored Rollouts of one lane in the order the Hub sent them
// and acknowledges each.
func (s *session) handleWork(ctx context.Context, work *fifo[*tunnelv1.Envelope]) {
	for {
		env, ok := work.pop(ctx)
		if !ok {
			return
		}
		var err error
		switch p := env.GetPayload().(type) {
		case *tunnelv1.Envelope_ApplyRollout:
			err = s.applyRollout(ctx, p.ApplyRollout)
		case *tunnelv1.Envelope_DeleteRollout:
			err = s.deleteRollout(ctx, p.DeleteRollout)
		}
		if ctx.Err() != nil {
			return // the Hub resends what was not acknowledged after the next Hello
		}
		if !s.enqueue(ctx, ackFor(env.GetId(), err)) {
			return
		}
	}
}

func (s *session) applyRollout(ctx context.Context, msg *tunnelv1.ApplyRollout) error {
	ref := msg.GetRef()
	log := s.log.WithValues("cloudUID", ref.GetUid(), "cloudNamespace", ref.GetNamespace(), "rollout", ref.GetName(), "generation", ref.GetGeneration())
	result, err := s.agent.target.applyRollout(ctx, msg)
	s.agent.metrics.applies.WithLabelValues(string(result)).Inc()
	switch {
	case err != nil:
		log.Error(err, "Applying a rollout failed")
	case result == applyDuplicate:
		log.V(1).Info("Rollout already held at this generation; not applying it again")
	default:
		log.Info("Applied rollout")
	}
	return err
}

func (s *session) deleteRollout(ctx context.Context, msg *tunnelv1.DeleteRollout) error {
	ref := msg.GetRef()
	log := s.log.WithValues("cloudUID", ref.GetUid(), "cloudNamespace", ref.GetNamespace(), "rollout", ref.GetName())
	result, err := s.agent.target.removeRollout(ctx, msg)
	s.agent.metrics.deletes.WithLabelValues(string(result)).Inc()
	switch {
	case err != nil:
		log.Error(err, "Deleting a rollout failed")
	case result == deleteAbsent:
		log.V(1).Info("Rollout to delete is not held")
	default:
		log.Info("Deleted rollout")
	}
	return err
}

// sendStatuses sends the status of every mirrored Rollout once, then each status that changes.
func (s *session) sendStatuses(ctx context.Context) {
	due := s.agent.statuses.due
	s.agent.statuses.markAllDue(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-due.ready():
		}
		for _, key := range due.take() {
			r, ok := s.agent.statuses.get(ctx, key)
			if !ok {
				continue
			}
			report, err := statusReport(r, s.agent.opts.Now())
			if err != nil {
				s.log.Error(err, "Encoding a rollout status failed")
				continue
			}
			if !s.enqueue(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_RolloutStatus{RolloutStatus: report}}) {
				due.mark(key) // not sent: send it on the next stream
				return
			}
		}
	}
}

// sendInventory sends the inventory at once and then every InventoryInterval.
func (s *session) sendInventory(ctx context.Context) {
	ticker := time.NewTicker(s.agent.opts.InventoryInterval)
	defer ticker.Stop()
	for {
		inv, err := s.agent.target.inventory(ctx, s.agent.opts.Now)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error(err, "Taking the inventory failed")
		case err == nil:
			if !s.enqueue(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Inventory{Inventory: inv}}) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
