package rna

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/internal/tunnelhttp"
)

// ErrNotConnected means the agent has no tunnel to the Hub at the moment.
var ErrNotConnected = errors.New("the agent is not connected to the hub")

// previewLinksTimeout bounds the wait for the Hub's links (a Hub without preview links never
// answers).
const previewLinksTimeout = 10 * time.Second

// agentRequests are the Requests the agent sent the Hub and waits an answer for.
type agentRequests struct {
	mu      sync.Mutex
	next    uint64
	pending map[string]chan *tunnelv1.Response
}

// PreviewLinks asks the Hub to sign a link for each Service, valid until its expiry, and returns
// the links in order. It fails with ErrNotConnected when no tunnel is open (try again later).
func (a *Agent) PreviewLinks(ctx context.Context, previews []tunnelhttp.PreviewLinkRequest) ([]string, error) {
	s := a.current.Load()
	if s == nil {
		return nil, ErrNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, previewLinksTimeout)
	defer cancel()
	body, err := json.Marshal(tunnelhttp.PreviewLinksRequest{Previews: previews})
	if err != nil {
		return nil, fmt.Errorf("encoding the previewLinks request: %w", err)
	}
	resp, err := s.ask(ctx, tunnelhttp.RequestKindPreviewLinks, body)
	if err != nil {
		return nil, err
	}
	var out tunnelhttp.PreviewLinksResponse
	if err := json.Unmarshal(resp, &out); err != nil {
		return nil, fmt.Errorf("decoding the hub's preview links: %w", err)
	}
	if len(out.URLs) != len(previews) {
		return nil, fmt.Errorf("the hub returned %d preview links for %d services", len(out.URLs), len(previews))
	}
	return out.URLs, nil
}

// ask sends the Hub a Request and waits for its Response.
func (s *session) ask(ctx context.Context, kind string, body []byte) ([]byte, error) {
	s.asked.mu.Lock()
	s.asked.next++
	id := "agent-" + strconv.FormatUint(s.asked.next, 10)
	if s.asked.pending == nil {
		s.asked.pending = make(map[string]chan *tunnelv1.Response)
	}
	answer := make(chan *tunnelv1.Response, 1)
	s.asked.pending[id] = answer
	s.asked.mu.Unlock()
	defer func() {
		s.asked.mu.Lock()
		delete(s.asked.pending, id)
		s.asked.mu.Unlock()
	}()
	env := &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Request{Request: &tunnelv1.Request{RequestId: id, Kind: kind, Body: body}}}
	select {
	case s.outbox <- env:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ended:
		return nil, ErrNotConnected
	}
	select {
	case resp := <-answer:
		if !resp.GetOk() {
			return nil, fmt.Errorf("the hub refused the %s request: %s", kind, resp.GetError())
		}
		return resp.GetBody(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ended:
		return nil, ErrNotConnected
	}
}

// deliver hands the Hub's Response to the request waiting for it.
func (s *session) deliver(resp *tunnelv1.Response) {
	s.asked.mu.Lock()
	answer := s.asked.pending[resp.GetRequestId()]
	delete(s.asked.pending, resp.GetRequestId())
	s.asked.mu.Unlock()
	if answer != nil {
		answer <- resp
	}
}
