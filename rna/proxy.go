package rna

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/internal/tunnelhttp"
)

// previewTransport carries the agent's proxied requests to Services of its cluster. It dials a
// ready endpoint of the Service (from its EndpointSlices) directly, as kube-proxy would route the
// Service's cluster IP, so that the agent needs no cluster DNS and works wherever it can reach the
// pods.
var previewTransport = &http.Transport{
	Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, MaxIdleConnsPerHost: 8,
	IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: time.Minute, DisableCompression: true,
}

// agentExchange is one proxied HTTP exchange as the agent sees it.
type agentExchange struct {
	id     uint64
	cancel context.CancelFunc
	body   *tunnelhttp.Inbound // the request body
	window *tunnelhttp.Window  // room to send the response body
}

// exchanges are the open proxied exchanges of a session.
type exchanges struct {
	mu   sync.Mutex
	open map[uint64]*agentExchange
}

// handleProxy acts on a proxied exchange's message from the Hub.
func (s *session) handleProxy(ctx context.Context, env *tunnelv1.Envelope) {
	switch p := env.GetPayload().(type) {
	case *tunnelv1.Envelope_HttpRequest:
		s.openExchange(ctx, p.HttpRequest)
	case *tunnelv1.Envelope_HttpBody:
		if x := s.exchange(p.HttpBody.GetStreamId()); x != nil {
			if err := x.body.Push(p.HttpBody.GetData(), p.HttpBody.GetEnd()); err != nil {
				s.endExchange(ctx, x, err.Error())
			}
		}
	case *tunnelv1.Envelope_HttpWindow:
		if x := s.exchange(p.HttpWindow.GetStreamId()); x != nil {
			x.window.Grant(int(p.HttpWindow.GetIncrement()))
		}
	case *tunnelv1.Envelope_HttpCancel:
		if x := s.exchange(p.HttpCancel.GetStreamId()); x != nil {
			s.endExchange(ctx, x, "")
		}
	}
}

// exchange returns the open exchange id names, or nil.
func (s *session) exchange(id uint64) *agentExchange {
	s.proxied.mu.Lock()
	defer s.proxied.mu.Unlock()
	return s.proxied.open[id]
}

// endExchange forgets an exchange and stops its work; a non-empty reason tells the Hub.
func (s *session) endExchange(ctx context.Context, x *agentExchange, reason string) {
	s.proxied.mu.Lock()
	_, open := s.proxied.open[x.id]
	delete(s.proxied.open, x.id)
	s.proxied.mu.Unlock()
	x.cancel()
	x.window.End()
	x.body.Fail(errors.New("the exchange ended"))
	if open && reason != "" {
		s.enqueue(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpCancel{HttpCancel: &tunnelv1.HttpCancel{StreamId: x.id, Reason: reason}}})
	}
}

// openExchange starts a proxied exchange in its own goroutine, or refuses it.
func (s *session) openExchange(ctx context.Context, req *tunnelv1.HttpRequest) {
	id := req.GetStreamId()
	xctx, cancel := context.WithCancel(ctx)
	x := &agentExchange{id: id, cancel: cancel, window: tunnelhttp.NewWindow()}
	x.body = tunnelhttp.NewInbound(tunnelhttp.MaxRequestBodyBytes, func(n int) {
		s.enqueue(xctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpWindow{HttpWindow: &tunnelv1.HttpWindow{StreamId: id, Increment: uint32(n)}}})
	})
	if req.GetEndOfBody() {
		_ = x.body.Push(nil, true)
	}
	s.proxied.mu.Lock()
	if s.proxied.open == nil {
		s.proxied.open = make(map[uint64]*agentExchange)
	}
	_, duplicate := s.proxied.open[id]
	full := len(s.proxied.open) >= tunnelhttp.MaxConcurrentExchanges
	if !duplicate && !full {
		s.proxied.open[id] = x
	}
	s.proxied.mu.Unlock()
	if duplicate || full {
		cancel()
		reason := "too many proxied requests at once"
		if duplicate {
			reason = "the stream id is in use"
		}
		s.enqueue(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpCancel{HttpCancel: &tunnelv1.HttpCancel{StreamId: id, Reason: reason}}})
		return
	}
	s.parts.Go(func() {
		if err := s.serveExchange(xctx, x, req); err != nil {
			s.log.V(1).Info("A proxied request failed", "namespace", req.GetNamespace(), "service", req.GetService(), "error", err.Error())
			s.endExchange(ctx, x, err.Error())
			return
		}
		s.endExchange(ctx, x, "")
	})
}

// serveExchange sends the request to the Service and streams the response back.
func (s *session) serveExchange(ctx context.Context, x *agentExchange, req *tunnelv1.HttpRequest) error {
	endpoint, err := s.agent.target.previewEndpoint(ctx, req.GetNamespace(), req.GetService(), s.agent.opts.Now())
	if err != nil {
		return err
	}
	if len(req.GetPath()) == 0 || req.GetPath()[0] != '/' {
		return fmt.Errorf("path %q must start with /", req.GetPath())
	}
	out, err := http.NewRequestWithContext(ctx, req.GetMethod(), "http://"+endpoint+req.GetPath(), x.body)
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	out.Header = tunnelhttp.FromProto(req.GetHeaders())
	if req.GetEndOfBody() {
		out.Body, out.ContentLength = http.NoBody, 0
	}
	resp, err := previewTransport.RoundTrip(out)
	if err != nil {
		return fmt.Errorf("calling service %s/%s: %w", req.GetNamespace(), req.GetService(), err)
	}
	defer resp.Body.Close()
	head := &tunnelv1.HttpResponse{StreamId: x.id, Status: int32(resp.StatusCode), Headers: tunnelhttp.ToProto(resp.Header)}
	if !s.enqueue(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpResponse{HttpResponse: head}}) {
		return ctx.Err()
	}
	return tunnelhttp.SendBody(ctx, resp.Body, x.window, tunnelhttp.MaxResponseBodyBytes, func(data []byte, end bool) error {
		if !s.enqueue(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpBody{HttpBody: &tunnelv1.HttpBody{StreamId: x.id, Data: data, End: end}}}) {
			return ctx.Err()
		}
		return nil
	})
}

// errNoPreview refuses a proxied request to a Service that no live preview of a mirrored Rollout
// lists: the agent reaches only the Services its Rollouts exposed, whatever the Hub asks.
var errNoPreview = errors.New("no live preview of a mirrored rollout exposes this service")

// previewEndpoint returns host:port of a ready endpoint of a Service that a live preview of a
// mirrored Rollout exposes; the Service must have a single port.
func (t *targetCluster) previewEndpoint(ctx context.Context, namespace, service string, now time.Time) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	mirrored, err := t.listMirrored(ctx)
	if err != nil {
		return "", err
	}
	if !previewLive(mirrored, namespace, service, now) {
		return "", fmt.Errorf("service %s/%s: %w", namespace, service, errNoPreview)
	}
	svc := &corev1.Service{}
	if err := t.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: service}, svc); err != nil {
		return "", fmt.Errorf("reading service %s/%s: %w", namespace, service, err)
	}
	if len(svc.Spec.Ports) != 1 {
		return "", fmt.Errorf("service %s/%s has %d ports; a preview needs exactly one", namespace, service, len(svc.Spec.Ports))
	}
	var slices discoveryv1.EndpointSliceList
	if err := t.client.List(ctx, &slices, client.InNamespace(namespace), client.MatchingLabels{discoveryv1.LabelServiceName: service}); err != nil {
		return "", fmt.Errorf("listing the endpoints of service %s/%s: %w", namespace, service, err)
	}
	if address := readyEndpoint(slices.Items, svc.Spec.Ports[0]); address != "" {
		return address, nil
	}
	return "", fmt.Errorf("service %s/%s has no ready endpoint", namespace, service)
}

// previewLive reports whether a mirrored Rollout lists a preview of the Service that has not
// expired at now.
func previewLive(mirrored []rolloutv1alpha1.Rollout, namespace, service string, now time.Time) bool {
	for i := range mirrored {
		for _, p := range mirrored[i].Status.Previews {
			if p.Service == service && previewNamespace(p, &mirrored[i]) == namespace && now.Before(p.ExpiresAt.Time) {
				return true
			}
		}
	}
	return false
}

// previewNamespace is the namespace of a preview's Service: its own, else the Rollout's
// application namespace, else the mirrored Rollout's.
func previewNamespace(p deployv1alpha1.PreviewLink, r *rolloutv1alpha1.Rollout) string {
	switch {
	case p.Namespace != "":
		return p.Namespace
	case r.Spec.Namespace != "":
		return r.Spec.Namespace
	}
	return r.Namespace
}

// readyEndpoint returns host:port of the first ready endpoint of the slices for the Service port.
func readyEndpoint(slices []discoveryv1.EndpointSlice, port corev1.ServicePort) string {
	for _, slice := range slices {
		var number int32
		for _, p := range slice.Ports {
			if p.Port != nil && (p.Name == nil && port.Name == "" || p.Name != nil && *p.Name == port.Name) {
				number = *p.Port
				break
			}
		}
		if number == 0 {
			continue
		}
		for _, e := range slice.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			if len(e.Addresses) > 0 {
				return net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(number)))
			}
		}
	}
	return ""
}
