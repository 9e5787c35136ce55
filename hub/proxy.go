package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	tunnelv1 "github.com/aurora-cd/aurora/api/tunnel/v1"
	"github.com/aurora-cd/aurora/internal/tunnelhttp"
)

// responseHeadTimeout bounds the wait for the head of a proxied response (an agent too old to
// proxy never answers).
const responseHeadTimeout = time.Minute

// errTooManyExchanges refuses an exchange when the tunnel carries the most it may at once.
var errTooManyExchanges = fmt.Errorf("the agent's tunnel carries %d proxied requests already", tunnelhttp.MaxConcurrentExchanges)

// exchange is one proxied HTTP exchange of a session, as the Hub sees it: it sends the request,
// receives the response head and body.
type exchange struct {
	id      uint64
	session *session
	head    chan *tunnelv1.HttpResponse
	body    *tunnelhttp.Inbound // the response body
	window  *tunnelhttp.Window  // room to send the request body
	failed  chan struct{}
	once    sync.Once
	reason  string
}

// fail ends the exchange with reason: waits and reads fail.
func (x *exchange) fail(reason string) {
	x.once.Do(func() {
		x.reason = reason
		close(x.failed)
		x.window.End()
		x.body.Fail(fmt.Errorf("the proxied request ended: %s", reason))
	})
}

// openExchange registers a new exchange.
func (s *session) openExchange() (*exchange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.exchanges) >= tunnelhttp.MaxConcurrentExchanges {
		return nil, errTooManyExchanges
	}
	if s.exchanges == nil {
		s.exchanges = make(map[uint64]*exchange)
	}
	s.nextExchange++
	x := &exchange{id: s.nextExchange, session: s, head: make(chan *tunnelv1.HttpResponse, 1),
		window: tunnelhttp.NewWindow(), failed: make(chan struct{})}
	x.body = tunnelhttp.NewInbound(tunnelhttp.MaxResponseBodyBytes, func(n int) {
		_ = s.enqueueProxy(s.ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpWindow{
			HttpWindow: &tunnelv1.HttpWindow{StreamId: x.id, Increment: uint32(n)}}})
	})
	s.exchanges[x.id] = x
	return x, nil
}

// closeExchange forgets an exchange and, when it did not finish, tells the agent to cancel it.
func (s *session) closeExchange(x *exchange, cancel string) {
	s.mu.Lock()
	_, open := s.exchanges[x.id]
	delete(s.exchanges, x.id)
	s.mu.Unlock()
	x.fail(cancel)
	if open && cancel != "" {
		_ = s.enqueueProxy(context.Background(), &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpCancel{
			HttpCancel: &tunnelv1.HttpCancel{StreamId: x.id, Reason: cancel}}})
	}
}

// exchangeOf returns the open exchange id names, or nil.
func (s *session) exchangeOf(id uint64) *exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchanges[id]
}

// failExchanges fails every open exchange: the tunnel ended.
func (s *session) failExchanges() {
	s.mu.Lock()
	open := s.exchanges
	s.exchanges = nil
	s.mu.Unlock()
	for _, x := range open {
		x.fail("the agent's tunnel ended")
	}
}

// enqueueProxy queues a message of a proxied exchange; it waits for room as long as ctx and the
// session live (flow control bounds what waits), and never drops the session.
func (s *session) enqueueProxy(ctx context.Context, env *tunnelv1.Envelope) error {
	select {
	case s.proxyQueue <- env:
		return nil
	case <-s.ctx.Done():
		return errSessionEnded
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handleProxy acts on a proxied exchange's message from the agent.
func (s *session) handleProxy(env *tunnelv1.Envelope) {
	switch p := env.GetPayload().(type) {
	case *tunnelv1.Envelope_HttpResponse:
		if x := s.exchangeOf(p.HttpResponse.GetStreamId()); x != nil {
			select {
			case x.head <- p.HttpResponse:
			default: // A second head is a protocol error of the exchange.
				s.closeExchange(x, "the agent sent a second response head")
			}
		}
	case *tunnelv1.Envelope_HttpBody:
		if x := s.exchangeOf(p.HttpBody.GetStreamId()); x != nil {
			if err := x.body.Push(p.HttpBody.GetData(), p.HttpBody.GetEnd()); err != nil {
				s.closeExchange(x, err.Error())
			}
		}
	case *tunnelv1.Envelope_HttpWindow:
		if x := s.exchangeOf(p.HttpWindow.GetStreamId()); x != nil {
			x.window.Grant(int(p.HttpWindow.GetIncrement()))
		}
	case *tunnelv1.Envelope_HttpCancel:
		if x := s.exchangeOf(p.HttpCancel.GetStreamId()); x != nil {
			s.mu.Lock()
			delete(s.exchanges, x.id)
			s.mu.Unlock()
			x.fail("the agent cancelled: " + p.HttpCancel.GetReason())
		}
	}
}

// roundTrip proxies req to a Service of the agent's cluster through the tunnel and returns the
// response, whose body streams from the agent. Ending req's context cancels the exchange.
func (s *session) roundTrip(req *http.Request, namespace, service, path string) (*http.Response, error) {
	ctx := req.Context()
	x, err := s.openExchange()
	if err != nil {
		return nil, err
	}
	headers := tunnelhttp.ToProto(req.Header)
	if tunnelhttp.Size(headers) > tunnelhttp.MaxHeaderBytes {
		s.closeExchange(x, "")
		return nil, fmt.Errorf("the request's headers exceed %d bytes", tunnelhttp.MaxHeaderBytes)
	}
	hasBody := req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0
	open := &tunnelv1.HttpRequest{StreamId: x.id, Namespace: namespace, Service: service, Method: req.Method,
		Path: path, Headers: headers, EndOfBody: !hasBody}
	if err := s.enqueueProxy(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpRequest{HttpRequest: open}}); err != nil {
		s.closeExchange(x, "")
		return nil, fmt.Errorf("sending the request to the agent: %w", err)
	}
	if hasBody {
		go func() {
			err := tunnelhttp.SendBody(ctx, req.Body, x.window, tunnelhttp.MaxRequestBodyBytes, func(data []byte, end bool) error {
				return s.enqueueProxy(ctx, &tunnelv1.Envelope{Payload: &tunnelv1.Envelope_HttpBody{
					HttpBody: &tunnelv1.HttpBody{StreamId: x.id, Data: data, End: end}}})
			})
			if err != nil {
				s.closeExchange(x, "sending the request body failed: "+err.Error())
			}
		}()
	}
	headTimer := time.NewTimer(responseHeadTimeout)
	defer headTimer.Stop()
	select {
	case <-headTimer.C:
		s.closeExchange(x, "no response within "+responseHeadTimeout.String())
		return nil, fmt.Errorf("the agent sent no response within %s", responseHeadTimeout)
	case head := <-x.head:
		resp := &http.Response{
			StatusCode: int(head.GetStatus()), Status: fmt.Sprintf("%d %s", head.GetStatus(), http.StatusText(int(head.GetStatus()))),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: tunnelhttp.FromProto(head.GetHeaders()),
			ContentLength: -1, Request: req,
		}
		if head.GetEndOfBody() {
			s.closeExchange(x, "")
			resp.Body = http.NoBody
			return resp, nil
		}
		resp.Body = &exchangeBody{x: x}
		go func() {
			select {
			case <-ctx.Done():
				s.closeExchange(x, "the client went away")
			case <-x.failed:
			}
		}()
		return resp, nil
	case <-x.failed:
		s.closeExchange(x, "")
		return nil, errors.New(x.reason)
	case <-ctx.Done():
		s.closeExchange(x, "the client went away")
		return nil, ctx.Err()
	case <-s.ctx.Done():
		s.closeExchange(x, "")
		return nil, errSessionEnded
	}
}

// exchangeBody is a proxied response body; closing it before its end cancels the exchange.
type exchangeBody struct {
	x    *exchange
	done bool
}

// Read reads the response body.
func (b *exchangeBody) Read(p []byte) (int, error) {
	n, err := b.x.body.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		b.x.session.closeExchange(b.x, "")
	}
	return n, err
}

// Close ends the exchange, cancelling it at the agent when the body was not read to its end.
func (b *exchangeBody) Close() error {
	if !b.done {
		b.done = true
		b.x.session.closeExchange(b.x, "the client closed the response")
	}
	return nil
}
