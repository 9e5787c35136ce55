package server

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3 description of the routes (docs/api.md in machine form).
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the embedded OpenAPI 3 document.
func OpenAPIDocument() []byte { return openAPIDocument }

// openAPI is GET /openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
	return nil
}
