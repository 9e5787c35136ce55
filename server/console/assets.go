package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// web holds the app: index.html and everything under css/ and js/.
//
//go:embed web
var web embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes are the media types of the files the app is made of.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
}

// loadAssets reads every embedded file but index.html and returns them by path relative to web/,
// with the version: a hash over all of them, which becomes part of their URLs so browsers may
// cache them for ever.
func loadAssets(fsys fs.FS) (map[string]asset, string, error) {
	assets := map[string]asset{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "index.html" {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("embedded file %s: no media type known for %q", p, path.Ext(p))
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading embedded file %s: %w", p, err)
		}
		assets[p] = asset{body: body, contentType: ct, etag: etagOf(body)}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	names := make([]string, 0, len(assets))
	for p := range assets {
		names = append(names, p)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		fmt.Fprintf(h, "%s\x00%s\x00", p, assets[p].etag)
	}
	return assets, hex.EncodeToString(h.Sum(nil))[:16], nil
}

// renderIndex puts the URL of the versioned assets into index.html.
func renderIndex(fsys fs.FS, staticBase string) (asset, error) {
	tmpl, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return asset{}, fmt.Errorf("reading the embedded index.html: %w", err)
	}
	body := []byte(strings.ReplaceAll(string(tmpl), "{{static}}", staticBase))
	return asset{body: body, contentType: contentTypes[".html"], etag: etagOf(body)}, nil
}

// etagOf is a strong entity tag of body.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}
