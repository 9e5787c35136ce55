package hub

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// envelopeHeaderBytes is room for the id and send time stamped on an Envelope when it is sent.
const envelopeHeaderBytes = 32

// Errors of Query.
var (
	// ErrAgentNotConnected means this Hub replica holds no tunnel of the agent.
	ErrAgentNotConnected = errors.New("the agent is not connected to this hub replica")
	// ErrQueryFailed means the agent answered the Request with ok=false; the error says why.
	ErrQueryFailed = errors.New("the agent could not answer the query")
)

// Query sends the connected agent of the tenant namespace a Request of kind with body (JSON) and
// returns the body of its Response. It waits until ctx ends, or Options.QueryTimeout when ctx has
// no deadline. It fails with ErrAgentNotConnected when this replica holds no tunnel of the agent
// (or the tunnel ends meanwhile), with ErrQueryFailed when the agent answers ok=false, and with
// ctx's error on timeout.
//
// When another replica holds the agent's tunnel (its Lease says so), the query is forwarded to that
// replica over TLS, identified by this replica's client certificate.
func (s *Server) Query(ctx context.Context, namespace, agent, kind string, body []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.QueryTimeout)
		defer cancel()
	}
	key := agentKey{namespace: namespace, agent: agent}
	if s.registry.session(key) == nil && s.leases != nil && s.peerClient != nil {
		replica, address, err := s.leases.holder(ctx, key)
		if err == nil && replica != s.opts.Replica && address != "" {
			return s.forwardQuery(ctx, address, key, kind, body)
		}
	}
	return s.queryLocal(ctx, namespace, agent, kind, body)
}

// forwardQuery asks the replica at address to run the query on its tunnel of key's agent.
func (s *Server) forwardQuery(ctx context.Context, address string, key agentKey, kind string, body []byte) ([]byte, error) {
	var answer peerAnswer
	if err := s.peerPost(ctx, address, peerQueryPath, peerQuery{Namespace: key.namespace, Agent: key.agent, Kind: kind, Body: body}, &answer); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("querying agent %s (%s): %w", key, kind, ctx.Err())
		}
		return nil, fmt.Errorf("querying agent %s through another hub replica: %w: %w", key, ErrAgentNotConnected, err)
	}
	switch answer.Code {
	case "":
		return answer.Body, nil
	case "not_connected":
		return nil, fmt.Errorf("%s: %w", answer.Error, ErrAgentNotConnected)
	case "failed":
		return nil, fmt.Errorf("%s: %w", answer.Error, ErrQueryFailed)
	default:
		return nil, fmt.Errorf("querying agent %s (%s) through another hub replica: %s: %w", key, kind, answer.Error, context.DeadlineExceeded)
	}
}

// queryLocal runs Query on this replica's tunnel of the agent.
func (s *Server) queryLocal(ctx context.Context, namespace, agent, kind string, body []byte) ([]byte, error) {
	key := agentKey{namespace: namespace, agent: agent}
	sess := s.registry.session(key)
	if sess == nil {
		return nil, fmt.Errorf("querying agent %s: %w", key, ErrAgentNotConnected)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.QueryTimeout)
		defer cancel()
	}
	id, answer := sess.addQuery()
	defer sess.removeQuery(id)
	env := &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Request{Request: &tunnelv1.Request{RequestId: id, Kind: kind, Body: body}}}
	if size := proto.Size(env) + envelopeHeaderBytes; size > s.opts.MaxMessageBytes {
		return nil, fmt.Errorf("querying agent %s: a request of %d bytes exceeds the %d-byte message limit", key, size, s.opts.MaxMessageBytes)
	}
	if err := sess.enqueue(ctx, env); err != nil {
		if errors.Is(err, errSessionEnded) {
			return nil, fmt.Errorf("querying agent %s: %w", key, ErrAgentNotConnected)
		}
		return nil, fmt.Errorf("querying agent %s: %w", key, err)
	}
	select {
	case resp := <-answer:
		if !resp.GetOk() {
			return nil, fmt.Errorf("querying agent %s (%s): %w: %s", key, kind, ErrQueryFailed, resp.GetError())
		}
		return resp.GetBody(), nil
	case <-sess.ctx.Done():
		return nil, fmt.Errorf("querying agent %s: %w", key, ErrAgentNotConnected)
	case <-ctx.Done():
		return nil, fmt.Errorf("querying agent %s (%s): %w", key, kind, ctx.Err())
	}
}
