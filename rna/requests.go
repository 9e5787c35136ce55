package rna

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
)

// answerAsync answers a Request of the Hub in its own goroutine (at most maxConcurrentRequests at
// once), so that a slow query never holds up the stream.
func (s *session) answerAsync(ctx context.Context, envelopeID uint64, req *tunnelv1.Request) {
	s.parts.Go(func() {
		select {
		case s.requests <- struct{}{}:
			defer func() { <-s.requests }()
		case <-ctx.Done():
			return
		}
		resp := s.answer(ctx, req)
		result := "ok"
		if !resp.GetOk() {
			result = "failed"
			s.log.Info("Answering a request of the hub failed", "requestId", req.GetRequestId(), "kind", req.GetKind(),
				"envelopeId", envelopeID, "error", resp.GetError())
		}
		s.agent.metrics.requests.WithLabelValues(requestKindLabel(req.GetKind()), result).Inc()
		s.enqueue(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Response{Response: resp}})
	})
}

// answer computes the Response to a Request.
func (s *session) answer(ctx context.Context, req *tunnelv1.Request) *tunnelv1.Response {
	switch req.GetKind() {
	case RequestKindInventory:
		inv, err := s.agent.target.inventory(ctx, s.agent.opts.Now)
		if err != nil {
			return failedResponse(req, err)
		}
		body, err := protojson.Marshal(inv)
		if err != nil {
			return failedResponse(req, fmt.Errorf("encoding the inventory: %w", err))
		}
		return &tunnelv1.Response{RequestId: req.GetRequestId(), Ok: true, Body: body}
	}
	return failedResponse(req, fmt.Errorf("unknown request kind %q", req.GetKind()))
}

// failedResponse answers req with ok=false and err's text.
func failedResponse(req *tunnelv1.Request, err error) *tunnelv1.Response {
	return &tunnelv1.Response{RequestId: req.GetRequestId(), Ok: false, Error: err.Error()}
}

// requestKindLabel bounds the kind label of the requests metric to the known kinds.
func requestKindLabel(kind string) string {
	if kind == RequestKindInventory {
		return kind
	}
	return "unknown"
}
