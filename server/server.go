package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aurora-cd/aurora/auth/principal"
)

// Server is the REST API: the routes of docs/api.md over HTTPS, each with a bearer token of the
// auth service, acting in the caller's tenant namespace.
type Server struct {
	opts    Options
	table   []route
	handler http.Handler
	metrics *metrics
}

// caller is who makes a request: the verified principal, its tenant namespace and its raw token
// (only ever forwarded to the Hub, never logged).
type caller struct {
	principal.Principal
	// namespace is the tenant namespace of the principal.
	namespace string
	// token is the raw bearer token.
	token string
}

// handlerFunc serves one route for an authenticated caller (nil for public routes). A returned
// error is answered as JSON: an *Error as it says, anything else as 500.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// New returns an API server.
func New(opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, metrics: m}
	s.table = s.routes()
	mux := http.NewServeMux()
	for _, rt := range s.table {
		mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	if opts.Console != nil {
		mux.Handle("/console/", opts.Console)
		mux.Handle("GET /{$}", http.RedirectHandler("/console/", http.StatusFound))
	}
	mux.HandleFunc("/", s.notFoundOrNotAllowed)
	s.handler = s.accessLog(mux)
	return s, nil
}

// Handler is the API's HTTP handler (access log included).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves HTTPS on l until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.opts.TLS == nil {
		_ = l.Close()
		return errors.New("server: Options.TLS is required to serve")
	}
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.opts.TLS.Clone(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          log.New(logWriter{s}, "", 0),
	}
	errs := make(chan error, 1)
	go func() { errs <- srv.ServeTLS(l, "", "") }()
	s.opts.Log.Info("Serving the REST API", "address", l.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving the REST API: %w", err)
		}
		return nil
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// logWriter sends net/http's own error log (TLS handshake errors, ...) to the logger.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.opts.Log.V(1).Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

// wrap authenticates and authorizes a request for rt, bounds its body, and answers its error.
func (s *Server) wrap(rt route) http.Handler {
	limit := rt.bodyLimit
	if limit == 0 {
		limit = MaxBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := w.(*recorder); ok {
			rec.route = rt.pattern
		}
		if r.ContentLength > limit {
			writeError(w, tooLarge(limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var c *caller
		if !rt.public {
			var err *Error
			c, err = s.authenticate(r)
			if err == nil {
				err = authorize(c, rt.scopes)
			}
			if err != nil {
				if err.Status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="aurora", error="invalid_token"`)
				}
				writeError(w, err)
				return
			}
			if rec, ok := w.(*recorder); ok {
				rec.principal = c.Name
				rec.tenant = c.namespace
			}
		}
		if err := rt.handle(w, r, c); err != nil {
			e := asError(err)
			if e.Status >= http.StatusInternalServerError {
				s.opts.Log.Error(err, "Request failed", "method", r.Method, "route", rt.pattern)
			}
			writeError(w, e)
		}
	})
}

func tooLarge(limit int64) *Error {
	return newError(http.StatusRequestEntityTooLarge, CodeTooLarge, "the request body exceeds the limit of %d bytes", limit)
}

// notFoundOrNotAllowed answers a path no route serves with 404, and a path served for other
// methods with 405 and Allow.
func (s *Server) notFoundOrNotAllowed(w http.ResponseWriter, r *http.Request) {
	if methods := allowedMethods(s.table, r.URL.Path); len(methods) > 0 {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		writeError(w, newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(methods, ", ")))
		return
	}
	writeError(w, notFound("no route %s %s", r.Method, r.URL.Path))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz answers 200 when the cloud cluster answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if err := s.Ready(r.Context()); err != nil {
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "not ready: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
