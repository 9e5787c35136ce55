package server

import (
	"net/http"
)

// recorder remembers what a response was, for the access log.
type recorder struct {
	http.ResponseWriter
	status    int
	bytes     int64
	principal string
	tenant    string
	route     string
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessLog logs one structured line per request: method, path (never the query, which may carry
// secrets), status, size, duration, caller. Headers are never logged, so tokens are not either.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.opts.Log.Error(nil, "Handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				if rec.status == 0 {
					writeError(rec, newError(http.StatusInternalServerError, CodeInternal, "internal error; the server log has the details"))
				}
			}
			took := s.opts.Now().Sub(start)
			s.metrics.observe(rec.route, r.Method, rec.status, took)
			s.opts.Log.Info("Request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes,
				"duration", took.String(), "principal", rec.principal, "tenant", rec.tenant, "remote", r.RemoteAddr)
		}()
		next.ServeHTTP(rec, r)
	})
}
