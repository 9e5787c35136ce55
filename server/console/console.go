package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// Cache policies of the answers.
const (
	// cacheImmutable is for versioned assets: their URL changes whenever their content does.
	cacheImmutable = "public, max-age=31536000, immutable"
	// cacheRevalidate is for index.html and config.json: always asked again, answered 304 by ETag.
	cacheRevalidate = "no-cache"
)

// Handler serves the Console under cfg.BasePath: the app at BasePath, config.json beside it and the
// versioned assets under BasePath/static/<version>/. Mount it at BasePath without stripping the
// prefix. It panics when cfg is invalid or the embedded files are broken; use New to get the error.
func Handler(cfg Config) http.Handler {
	h, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// New is Handler that returns an error, naming the field, when cfg is invalid.
func New(cfg Config) (http.Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	root, err := fs.Sub(web, "web")
	if err != nil {
		return nil, fmt.Errorf("opening the embedded app: %w", err)
	}
	assets, version, err := loadAssets(root)
	if err != nil {
		return nil, err
	}
	staticPrefix := cfg.BasePath + "static/" + version + "/"
	index, err := renderIndex(root, staticPrefix)
	if err != nil {
		return nil, err
	}
	conf, err := json.Marshal(cfg.client())
	if err != nil {
		return nil, fmt.Errorf("encoding config.json: %w", err)
	}
	return &handler{
		basePath:     cfg.BasePath,
		staticPrefix: staticPrefix,
		csp:          contentSecurityPolicy(cfg),
		index:        index,
		config:       asset{body: conf, contentType: contentTypes[".json"], etag: etagOf(conf)},
		assets:       assets,
		modified:     time.Now().UTC(),
	}, nil
}

type handler struct {
	basePath, staticPrefix, csp string
	index, config               asset
	assets                      map[string]asset
	modified                    time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header(), h.csp, r.TLS != nil)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the Console answers GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	a, cache, ok := h.route(r.URL.Path)
	if !ok {
		if r.URL.Path+"/" == h.basePath {
			http.Redirect(w, r, h.basePath, http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", h.modified, bytes.NewReader(a.body))
}

// route finds what a path names and how long browsers may keep it.
func (h *handler) route(p string) (asset, string, bool) {
	switch p {
	case h.basePath, h.basePath + "index.html":
		return h.index, cacheRevalidate, true
	case h.basePath + "config.json":
		return h.config, cacheRevalidate, true
	}
	if rest, ok := strings.CutPrefix(p, h.staticPrefix); ok {
		if a, ok := h.assets[rest]; ok {
			return a, cacheImmutable, true
		}
	}
	return asset{}, "", false
}
