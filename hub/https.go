package hub

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/aurora-cd/aurora/internal/tunnelhttp"
)

// Paths of the Hub's HTTPS endpoint.
const (
	// previewPrefix starts the path of a preview link: /preview/<token>/<path of the Service>.
	previewPrefix = "/preview/"
	// peerPreviewPrefix is the same, forwarded by another replica.
	peerPreviewPrefix = "/peer/v1/preview/"
	// peerQueryPath answers a Query forwarded by another replica.
	peerQueryPath = "/peer/v1/query"
	// peerInventoryPath answers a read of this replica's inventory cache by another replica.
	peerInventoryPath = "/peer/v1/inventory"
	// peerReleasePath ends this replica's stream of an agent that another replica took over.
	peerReleasePath = "/peer/v1/release"
)

// httpsShutdownTimeout bounds the graceful end of the HTTPS endpoint.
const httpsShutdownTimeout = 5 * time.Second

// ServeHTTPS serves the replica's HTTPS endpoint on l until ctx ends: preview links for people
// (/preview/<token>/…, authenticated by the link's signature) and the calls of other replicas
// (/peer/v1/…, authenticated by their client certificate, the service identity). It uses
// Options.TLS, asking for (not requiring) a client certificate verified against
// Options.PeerClientCAs.
func (s *Server) ServeHTTPS(ctx context.Context, l net.Listener) error {
	cfg := s.opts.TLS.Clone()
	if s.opts.PeerClientCAs != nil {
		cfg.ClientCAs = s.opts.PeerClientCAs
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	cfg.NextProtos = []string{"h2", "http/1.1"}
	srv := &http.Server{Handler: s.HTTPSHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: nil, MaxHeaderBytes: tunnelhttp.MaxHeaderBytes}
	s.httpsMu.Lock()
	s.https = append(s.https, srv)
	s.httpsMu.Unlock()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(l, cfg)) }()
	select {
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("hub: serving HTTPS: %w", err)
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpsShutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		return nil
	}
}

// HTTPSHandler routes the HTTPS endpoint's requests (see ServeHTTPS).
func (s *Server) HTTPSHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(previewPrefix, func(w http.ResponseWriter, r *http.Request) { s.servePreview(w, r, previewPrefix, true) })
	mux.Handle(peerPreviewPrefix, s.peerOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.servePreview(w, r, peerPreviewPrefix, false)
	})))
	mux.Handle(peerQueryPath, s.peerOnly(http.HandlerFunc(s.servePeerQuery)))
	mux.Handle(peerReleasePath, s.peerOnly(http.HandlerFunc(s.servePeerRelease)))
	mux.Handle(peerInventoryPath, s.peerOnly(http.HandlerFunc(s.servePeerInventory)))
	return mux
}

// peerOnly lets through only requests whose verified client certificate names the peer identity.
func (s *Server) peerOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPeer(r.TLS, s.opts.PeerIdentity) {
			writeHTTPError(w, http.StatusForbidden, "this path is for other hub replicas, identified by their client certificate")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isPeer reports whether a connection's verified client certificate has the peer identity as its
// common name.
func isPeer(state *tls.ConnectionState, identity string) bool {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return false
	}
	return state.VerifiedChains[0][0].Subject.CommonName == identity
}

// writeHTTPError answers a plain-text error.
func writeHTTPError(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, message)
}

// servePreview serves a preview link: it checks the token, then proxies the request to the
// Service through the agent's tunnel when this replica holds it, or (forward) to the replica that
// does.
func (s *Server) servePreview(w http.ResponseWriter, r *http.Request, prefix string, forward bool) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
	token, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	if len(s.opts.PreviewKey) == 0 {
		writeHTTPError(w, http.StatusNotFound, "preview links are not enabled")
		return
	}
	target, err := verifyPreview(s.opts.PreviewKey, token, s.opts.Now())
	switch {
	case errors.Is(err, ErrPreviewExpired):
		s.metrics.previewRequests.WithLabelValues("expired").Inc()
		writeHTTPError(w, http.StatusGone, "this preview link expired")
		return
	case err != nil:
		s.metrics.previewRequests.WithLabelValues("refused").Inc()
		writeHTTPError(w, http.StatusForbidden, "this preview link is not valid")
		return
	}
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	// The Service may answer before it read the whole request body (a streaming echo): keep
	// reading the body while the response is written, as HTTP/2 does anyway.
	_ = http.NewResponseController(w).EnableFullDuplex()
	key := agentKey{namespace: target.Tenant, agent: target.Agent}
	if sess := s.registry.session(key); sess != nil {
		s.metrics.previewRequests.WithLabelValues("proxied").Inc()
		s.proxyThrough(w, r, sess, target, path)
		return
	}
	if forward && s.leases != nil && s.peerClient != nil {
		if replica, address, err := s.leases.holder(r.Context(), key); err == nil && replica != s.opts.Replica && address != "" {
			s.metrics.previewRequests.WithLabelValues("forwarded").Inc()
			s.forwardPreview(w, r, address, token, path)
			return
		}
	}
	s.metrics.previewRequests.WithLabelValues("unavailable").Inc()
	writeHTTPError(w, http.StatusBadGateway, "the agent of this preview is not connected")
}

// proxyThrough proxies r to the target Service through sess.
func (s *Server) proxyThrough(w http.ResponseWriter, r *http.Request, sess *session, target PreviewTarget, path string) {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.Header.Del("Cookie")
		},
		Transport: roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			return sess.roundTrip(req, target.Namespace, target.Service, path)
		}),
		ModifyResponse: stripPreviewResponseHeaders,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			s.log.V(1).Info("A preview request failed", "namespace", target.Tenant, "agent", target.Agent, "service", target.Service, "error", err.Error())
			writeHTTPError(w, http.StatusBadGateway, "the preview's Service did not answer through the agent")
		},
		FlushInterval: -1,
	}
	proxy.ServeHTTP(w, r)
}

// forwardPreview proxies a preview request to the replica at address.
func (s *Server) forwardPreview(w http.ResponseWriter, r *http.Request, address, token, path string) {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.URL = &url.URL{Scheme: "https", Host: address, Path: peerPreviewPrefix + token, RawQuery: ""}
			p, q, _ := strings.Cut(path, "?")
			pr.Out.URL.RawPath = peerPreviewPrefix + token + p
			pr.Out.URL.Path, _ = url.PathUnescape(pr.Out.URL.RawPath)
			pr.Out.URL.RawQuery = q
			pr.Out.Host = address
		},
		Transport: s.peerClient.Transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			s.log.V(1).Info("Forwarding a preview request failed", "address", address, "error", err.Error())
			writeHTTPError(w, http.StatusBadGateway, "the hub replica holding the agent did not answer")
		},
		FlushInterval: -1,
	}
	proxy.ServeHTTP(w, r)
}

// previewResponseHeadersStripped are the headers of a preview's answer that could reach beyond its
// link: every preview shares the Hub's origin, so a Service's cookie or a service worker scoped to
// the whole origin would touch other tenants' links (and, on a shared host, other Aurora services'
// cookies).
var previewResponseHeadersStripped = []string{"Set-Cookie", "Set-Cookie2", "Service-Worker-Allowed", "Clear-Site-Data"}

// stripPreviewResponseHeaders removes previewResponseHeadersStripped from a preview's answer.
func stripPreviewResponseHeaders(res *http.Response) error {
	for _, h := range previewResponseHeadersStripped {
		res.Header.Del(h)
	}
	return nil
}

// roundTripperFunc is a function as an http.RoundTripper.
type roundTripperFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// peerQuery is a Query forwarded by another replica.
type peerQuery struct {
	Namespace string `json:"namespace"`
	Agent     string `json:"agent"`
	Kind      string `json:"kind"`
	Body      []byte `json:"body,omitempty"`
}

// peerAnswer is the answer to a peerQuery.
type peerAnswer struct {
	Body  []byte `json:"body,omitempty"`
	Error string `json:"error,omitempty"`
	// Code is "not_connected", "failed" or "timeout" with Error.
	Code string `json:"code,omitempty"`
}

// maxPeerBody bounds a forwarded query's request body.
const maxPeerBody = 8 << 20

// servePeerQuery answers a Query forwarded by another replica, from the tunnels of this one only.
func (s *Server) servePeerQuery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeHTTPError(w, http.StatusMethodNotAllowed, "POST expected")
		return
	}
	var q peerQuery
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPeerBody)).Decode(&q); err != nil {
		writeHTTPError(w, http.StatusBadRequest, "decoding the query: "+err.Error())
		return
	}
	body, err := s.queryLocal(r.Context(), q.Namespace, q.Agent, q.Kind, q.Body)
	answer := peerAnswer{Body: body}
	switch {
	case err == nil:
	case errors.Is(err, ErrAgentNotConnected):
		answer.Code, answer.Error = "not_connected", err.Error()
	case errors.Is(err, ErrQueryFailed):
		answer.Code, answer.Error = "failed", err.Error()
	default:
		answer.Code, answer.Error = "timeout", err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

// peerRelease asks a replica to end its stream of an agent another replica now holds.
type peerRelease struct {
	Namespace string `json:"namespace"`
	Agent     string `json:"agent"`
	// Holder is the replica that claimed the agent.
	Holder string `json:"holder"`
}

// servePeerRelease ends this replica's stream of the agent, waiting (at most the send timeout) for
// its sender to stop, so that the new holder mirrors alone from then on.
func (s *Server) servePeerRelease(w http.ResponseWriter, r *http.Request) {
	var rel peerRelease
	if r.Method != http.MethodPost || json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&rel) != nil {
		writeHTTPError(w, http.StatusBadRequest, "POST of {namespace, agent, holder} expected")
		return
	}
	if sess := s.registry.session(agentKey{namespace: rel.Namespace, agent: rel.Agent}); sess != nil {
		sess.end(endTakenOver(rel.Holder))
		timer := time.NewTimer(s.opts.SendTimeout)
		select {
		case <-sess.senderDone:
		case <-timer.C:
		case <-r.Context().Done():
		}
		timer.Stop()
	}
	w.WriteHeader(http.StatusNoContent)
}

// peerPost posts body as JSON to path of the replica at address and decodes the answer into out
// (when not nil).
func (s *Server) peerPost(ctx context.Context, address, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+address+path, strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.peerClient.Do(req)
	if err != nil {
		return fmt.Errorf("calling hub replica at %s: %w", address, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hub replica at %s answered %s", address, resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the answer of hub replica at %s: %w", address, err)
	}
	return nil
}
