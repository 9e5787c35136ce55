package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/auth/principal"
	"github.com/aurora-cd/aurora/auth/verify"
)

// maxVersionLength bounds the versions an agent reports, as stored in its Agent's status.
const maxVersionLength = 256

// minSessionLifetime is the shortest time a session lives before its token's expiry drains it, so
// that a token accepted within the verifier's leeway does not make the agent reconnect in a loop.
const minSessionLifetime = time.Minute

// tunnelService serves the Tunnel service of a Server.
type tunnelService struct {
	tunnelv1.UnimplementedTunnelServer
	hub *Server
}

// Connect serves one agent's tunnel.
func (t *tunnelService) Connect(stream tunnelv1.Tunnel_ConnectServer) error {
	return t.hub.serveTunnel(stream)
}

// serveTunnel runs one agent's stream: it checks Hello against the token, makes the stream the
// agent's live session (draining any older one), registers the Agent, resyncs and mirrors until the
// session ends, then records the end.
func (s *Server) serveTunnel(stream tunnelv1.Tunnel_ConnectServer) error {
	claims, ok := verify.FromContext(stream.Context())
	if !ok {
		return status.Error(codes.Unauthenticated, "the stream carries no verified token")
	}
	hello, err := s.receiveHello(stream)
	if err == nil {
		err = checkHello(hello, claims.Principal)
	}
	if err != nil {
		s.metrics.refusals.WithLabelValues(status.Code(err).String()).Inc()
		s.log.V(1).Info("Refused a tunnel", "namespace", claims.Principal.Namespace(), "clientID", claims.Principal.ClientID,
			"agent", hello.GetAgentIdentifier(), "reason", status.Convert(err).Message())
		return err
	}
	sess := s.newSession(stream, agentKey{namespace: claims.Principal.Namespace(), agent: hello.GetAgentIdentifier()}, hello)
	defer sess.end(nil)
	acknowledged, err := s.openSession(sess, claims.Principal.ClientID, hello)
	if err != nil {
		return err
	}
	defer s.metrics.sessionsOpen.Dec()
	if expiry := claims.Expiry; expiry != nil {
		lifetime := max(expiry.Time().Sub(s.opts.Now()), minSessionLifetime)
		expire := time.AfterFunc(lifetime, func() { sess.end(endTokenExpiry) })
		defer expire.Stop()
	}
	go sess.runReceiver()
	go sess.runSender(&tunnelv1.Welcome{
		SessionId: sess.id, HubReplica: s.opts.Replica,
		HeartbeatIntervalMs: uint32(s.opts.HeartbeatInterval.Milliseconds()),
		MaxMessageBytes:     uint32(s.opts.MaxMessageBytes),
	})
	s.recordHeldGenerations(sess, acknowledged)
	<-sess.ctx.Done()
	sess.failExchanges()
	return s.closeSession(sess)
}

// openSession makes sess its agent's live session, ends the one it replaces, marks the Rollouts to
// resync and asks for the Agent to be registered. It returns the generations the agent holds that
// the cloud does not show as applied.
func (s *Server) openSession(sess *session, clientID string, hello *tunnelv1.Hello) ([]rolloutRef, error) {
	record := connectionRecord{
		SessionID: sess.id, Connected: true, ConnectedAt: sess.connectedAt, LastHeartbeatAt: sess.connectedAt,
		AgentVersion:      truncate(hello.GetAgentVersion(), maxVersionLength),
		KubernetesVersion: truncate(hello.GetKubernetesVersion(), maxVersionLength),
		ClientID:          clientID, RemoteAddress: sess.remoteAddress,
	}
	old, err := s.registry.connect(sess, record)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if old != nil {
		old.end(endReplaced(DefaultReplacedReconnectDelay))
	}
	if err := s.claimLease(sess); err != nil {
		sess.log.Error(err, "Claiming the agent's lease failed")
		sess.end(&endCause{code: codes.Unavailable, metric: "lease_error", reason: "the hub could not claim the agent's lease"})
		s.registry.disconnect(sess, s.opts.Now(), "the hub could not claim the agent's lease")
		return nil, status.Error(codes.Unavailable, "the hub replica could not claim the agent's lease; connect again")
	}
	acknowledged, err := s.markForResync(sess)
	if err != nil {
		sess.end(&endCause{code: codes.Unavailable, metric: "resync_error", reason: "the hub could not read the agent's Rollouts"})
		sess.log.Error(err, "Listing the agent's Rollouts for resync failed")
	}
	s.metrics.connects.Inc()
	s.metrics.sessionsOpen.Inc()
	s.agents.enqueue(sess.key)
	sess.log.Info("Agent connected", "clientID", record.ClientID, "remoteAddress", record.RemoteAddress,
		"agentVersion", record.AgentVersion, "resyncRollouts", len(hello.GetRollouts()), "replaced", old != nil)
	return acknowledged, nil
}

// closeSession waits (at most the send timeout) for the sender of an ended session to finish, so
// that a Drain gets out, then records the end: the Agent is marked disconnected after the grace
// unless a newer session of the agent is live by then.
func (s *Server) closeSession(sess *session) error {
	wait := time.NewTimer(s.opts.SendTimeout)
	select {
	case <-sess.senderDone:
	case <-wait.C:
	}
	wait.Stop()
	cause := causeOf(sess.ctx)
	if s.registry.disconnect(sess, s.opts.Now(), cause.reason) {
		s.agents.enqueueAfter(sess.key, s.opts.DisconnectGrace)
	}
	s.metrics.disconnects.WithLabelValues(cause.metric).Inc()
	sess.log.Info("Agent disconnected", "reason", cause.reason,
		"connectedFor", s.opts.Now().Sub(sess.connectedAt).Round(time.Millisecond).String())
	return cause.status()
}

// receiveHello waits at most the hello timeout for the stream's first message, which must be
// Hello.
func (s *Server) receiveHello(stream tunnelv1.Tunnel_ConnectServer) (*tunnelv1.Hello, error) {
	type received struct {
		env *tunnelv1.Envelope
		err error
	}
	first := make(chan received, 1)
	go func() {
		env, err := stream.Recv()
		first <- received{env, err}
	}()
	timer := time.NewTimer(s.opts.HelloTimeout)
	defer timer.Stop()
	select {
	case r := <-first:
		switch {
		case errors.Is(r.err, io.EOF):
			return nil, status.Error(codes.InvalidArgument, "the stream ended before Hello")
		case r.err != nil:
			return nil, status.Convert(r.err).Err()
		}
		s.metrics.messageReceived(payloadName(r.env))
		hello := r.env.GetHello()
		if hello == nil {
			return nil, status.Errorf(codes.InvalidArgument, "the first message must be Hello, not %s", payloadName(r.env))
		}
		return hello, nil
	case <-timer.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "no Hello within %s", s.opts.HelloTimeout)
	case <-stream.Context().Done():
		return nil, status.FromContextError(stream.Context().Err()).Err()
	}
}

// checkHello checks the agent identifier of Hello: a valid Agent name and label value, which the
// token's principal may act as.
func checkHello(hello *tunnelv1.Hello, p principal.Principal) error {
	id := hello.GetAgentIdentifier()
	if id == "" {
		return status.Error(codes.InvalidArgument, "Hello names no agent_identifier")
	}
	if problems := append(validation.IsDNS1123Subdomain(id), validation.IsValidLabelValue(id)...); len(problems) > 0 {
		return status.Errorf(codes.InvalidArgument, "agent_identifier %q cannot name an Agent: %s", id, strings.Join(problems, "; "))
	}
	if !p.MayActAsAgent(id) {
		return status.Errorf(codes.PermissionDenied, "the token may not act as agent %q", id)
	}
	return nil
}

// newSession returns the session of a stream whose Hello was accepted, holding what the agent
// reported it holds.
func (s *Server) newSession(stream tunnelv1.Tunnel_ConnectServer, key agentKey, hello *tunnelv1.Hello) *session {
	ctx, end := context.WithCancelCause(stream.Context())
	sess := &session{
		hub: s, id: newSessionID(), key: key, connectedAt: s.opts.Now(),
		stream: stream, ctx: ctx, end: end,
		queue: make(chan *tunnelv1.Envelope, s.opts.SendQueueSize), proxyQueue: make(chan *tunnelv1.Envelope, s.opts.SendQueueSize),
		agentRequests: make(chan struct{}, maxAgentRequests), wake: make(chan struct{}, 1), senderDone: make(chan struct{}),
		held: heldRollouts(hello.GetRollouts()),
	}
	sess.writes = newPendingWrites(func() { go sess.writeToCloud() })
	if p, ok := peer.FromContext(stream.Context()); ok && p.Addr != nil {
		sess.remoteAddress = p.Addr.String()
	}
	sess.touch(sess.connectedAt)
	// The first lastHeartbeatAt write comes at a random point of the first interval, so that the
	// writes of agents that connected together spread out.
	sess.lastStatusWrite = sess.connectedAt.Add(-randomDuration(s.opts.StatusWriteInterval))
	sess.log = s.log.WithValues("namespace", key.namespace, "agent", key.agent, "session", sess.id)
	return sess
}

// markForResync marks every Rollout the agent holds and every cloud Rollout labelled for it, so
// that the sender's first flush diffs the two. It returns the generations the agent holds that the
// cloud does not show as applied yet (an Ack lost with an earlier stream).
func (s *Server) markForResync(sess *session) ([]rolloutRef, error) {
	var cloud rolloutv1alpha1.RolloutList
	if err := s.cache.List(sess.ctx, &cloud, client.InNamespace(sess.key.namespace),
		client.MatchingFields{agentIndex: sess.key.agent}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the Rollouts of agent %s: %w", sess.key, err)
	}
	for i := range cloud.Items {
		sess.mark(cloud.Items[i].UID, cloud.Items[i].Name)
	}
	sess.mu.Lock()
	held := make(map[types.UID]rolloutRef, len(sess.held))
	for uid, ref := range sess.held {
		held[uid] = ref
	}
	sess.mu.Unlock()
	for uid, ref := range held {
		sess.mark(uid, ref.Name)
	}
	return unrecordedApplies(held, cloud.Items), nil
}

// unrecordedApplies returns, for each cloud Rollout the agent holds at one of the cloud's
// generations, that generation when the cloud's status.appliedGeneration is lower: the agent
// applied it, but its Ack was lost with an earlier stream. A generation newer than the cloud's
// (only a restored cloud shows one) records nothing.
func unrecordedApplies(held map[types.UID]rolloutRef, cloud []rolloutv1alpha1.Rollout) []rolloutRef {
	var applied []rolloutRef
	for i := range cloud {
		have, ok := held[cloud[i].UID]
		if !ok || have.Generation > cloud[i].Generation {
			continue
		}
		ref := refOf(&cloud[i])
		ref.Generation = have.Generation
		if ref.Generation > cloud[i].Status.AppliedGeneration {
			applied = append(applied, ref)
		}
	}
	slices.SortFunc(applied, compareRefs)
	return applied
}

// recordHeldGenerations records in the cloud the generations an agent reported holding in Hello
// that were not recorded as applied.
func (s *Server) recordHeldGenerations(sess *session, applied []rolloutRef) {
	for _, ref := range applied {
		sess.writes.addApplied(ref)
	}
}

// newSessionID returns a random session id.
func newSessionID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails.
	return hex.EncodeToString(b)
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
