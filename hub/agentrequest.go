package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/internal/tunnelhttp"
)

// maxPreviewsPerRequest bounds the links one request of an agent may ask for.
const maxPreviewsPerRequest = 64

// maxAgentRequests bounds the Requests of one agent answered at once; more are refused.
const maxAgentRequests = 4

// errPreviewsDisabled answers a request for links when the Hub has no preview key.
var errPreviewsDisabled = errors.New("preview links are not enabled on this hub (no preview key and URL)")

// startAgentRequest answers a Request of the agent in its own goroutine, or refuses it at once when
// the agent has too many waiting.
func (s *session) startAgentRequest(req *tunnelv1.Request) {
	select {
	case s.agentRequests <- struct{}{}:
	default:
		go func() {
			_ = s.enqueue(s.ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Response{Response: &tunnelv1.Response{
				RequestId: req.GetRequestId(), Error: fmt.Sprintf("too many requests at once (at most %d)", maxAgentRequests)}}})
		}()
		return
	}
	go func() {
		defer func() { <-s.agentRequests }()
		s.answerAgentRequest(req)
	}()
}

// answerAgentRequest answers a Request of the agent.
func (s *session) answerAgentRequest(req *tunnelv1.Request) {
	resp := &tunnelv1.Response{RequestId: req.GetRequestId()}
	body, err := s.agentRequest(req)
	if err != nil {
		resp.Error = err.Error()
	} else {
		resp.Ok, resp.Body = true, body
	}
	_ = s.enqueue(s.ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_Response{Response: resp}})
}

// agentRequest computes the answer to a Request of the agent.
func (s *session) agentRequest(req *tunnelv1.Request) ([]byte, error) {
	if req.GetKind() != tunnelhttp.RequestKindPreviewLinks {
		return nil, fmt.Errorf("unknown request kind %q", req.GetKind())
	}
	var in tunnelhttp.PreviewLinksRequest
	if err := json.Unmarshal(req.GetBody(), &in); err != nil {
		return nil, fmt.Errorf("decoding the previewLinks request: %w", err)
	}
	urls, err := previewLinks(s.hub.opts, s.key, in, s.hub.opts.Now())
	if err != nil {
		return nil, err
	}
	return json.Marshal(tunnelhttp.PreviewLinksResponse{URLs: urls})
}

// previewLinks signs a link per requested Service of the agent key, for the tenant of the agent's
// token: the names must be valid, the expiry in the future and at most a day away.
func previewLinks(opts Options, key agentKey, in tunnelhttp.PreviewLinksRequest, now interface{ Unix() int64 }) ([]string, error) {
	if len(opts.PreviewKey) == 0 {
		return nil, errPreviewsDisabled
	}
	if len(in.Previews) == 0 || len(in.Previews) > maxPreviewsPerRequest {
		return nil, fmt.Errorf("previews: between 1 and %d expected, got %d", maxPreviewsPerRequest, len(in.Previews))
	}
	urls := make([]string, 0, len(in.Previews))
	for i, p := range in.Previews {
		if problems := append(validation.IsDNS1123Label(p.Namespace), validation.IsDNS1123Label(p.Service)...); len(problems) > 0 {
			return nil, fmt.Errorf("previews[%d]: namespace %q and service %q must be DNS labels: %s", i, p.Namespace, p.Service, strings.Join(problems, "; "))
		}
		ttl := p.ExpiresAt.Unix() - now.Unix()
		if ttl <= 0 || ttl > int64(tunnelhttp.MaxPreviewTTL.Seconds()) {
			return nil, fmt.Errorf("previews[%d].expiresAt: between now and %s from now expected, got %s", i, tunnelhttp.MaxPreviewTTL, p.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
		}
		token := signPreview(opts.PreviewKey, PreviewTarget{Tenant: key.namespace, Agent: key.agent,
			Namespace: p.Namespace, Service: p.Service, ExpiresAt: p.ExpiresAt.Unix()})
		urls = append(urls, opts.PreviewBaseURL+"/preview/"+token+"/")
	}
	return urls, nil
}
