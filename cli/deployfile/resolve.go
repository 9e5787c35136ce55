// Package deployfile prepares a deploy.yml for the API on the client side: it reads the file (a
// path or an http(s) URL), resolves manifests[].path (a file, a directory of YAML files or a URL)
// into inline manifests, applies --add-context and --targetFilters, maps the API's field paths to
// lines of the file, and writes deploy file templates.
package deployfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxBytes bounds a deploy file with its manifests resolved, as the API does (4 MiB).
const MaxBytes = 4 << 20

// Loader reads deploy files and manifests from local paths and http(s) URLs.
type Loader struct {
	// HTTP fetches URLs; http.DefaultClient when nil.
	HTTP *http.Client
}

// File is a parsed deploy file.
type File struct {
	// Name is how the file was given (a path or a URL), for messages.
	Name string
	// Source is the file's text as read.
	Source []byte
	// Root is the document node of the YAML.
	Root *yaml.Node
	// base is the directory or URL that relative manifest paths are relative to.
	base string
}

// Options change a deploy file before it is submitted.
type Options struct {
	// Context entries are merged into contextOverrides (--add-context k=v).
	Context map[string]string
	// Targets, when any, replace targetFilters (-t/--targetFilters).
	Targets []string
}

// isURL reports whether ref is an http or https URL.
func isURL(ref string) bool {
	return strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://")
}

// Read reads and parses the deploy file at ref, a path or an http(s) URL. Syntax errors carry
// their line.
func (l Loader) Read(ctx context.Context, ref string) (*File, error) {
	var data []byte
	var err error
	var base string
	if isURL(ref) {
		data, err = l.fetch(ctx, ref)
		base = ref
	} else {
		data, err = readLimited(ref)
		base = filepath.Dir(ref)
	}
	if err != nil {
		return nil, err
	}
	return Parse(ref, data, base)
}

// Parse parses deploy file data named name; relative manifest paths are relative to base (a
// directory or a URL).
func Parse(name string, data []byte, base string) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, data, err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty; expected a deploy file (application, targets, manifests, strategies)", name)
	}
	if top := root.Content[0]; top.Kind != yaml.MappingNode {
		return nil, &FieldError{File: name, Line: top.Line, Column: top.Column, Message: "expected a mapping (application, targets, manifests, strategies) at the top level"}
	}
	return &File{Name: name, Source: data, Root: &root, base: base}, nil
}

// top is the top-level mapping.
func (f *File) top() *yaml.Node { return f.Root.Content[0] }

// Resolve reads every manifests[i].path into manifests[i].inline (a directory gives all its
// .yaml and .yml files, in name order, as one multi-document string) and applies opts. Errors name
// the field and its line.
func (l Loader) Resolve(ctx context.Context, f *File, opts Options) error {
	if manifests := mappingValue(f.top(), "manifests"); manifests != nil && manifests.Kind == yaml.SequenceNode {
		for i, m := range manifests.Content {
			if m.Kind != yaml.MappingNode {
				continue
			}
			keyIdx := mappingIndex(m, "path")
			if keyIdx < 0 {
				continue
			}
			key, val := m.Content[keyIdx], m.Content[keyIdx+1]
			field := fmt.Sprintf("manifests[%d].path", i)
			fail := func(msg string) error {
				return &FieldError{File: f.Name, Line: val.Line, Column: val.Column, Field: field, Message: msg}
			}
			if val.Kind != yaml.ScalarNode || val.Value == "" {
				return fail("expected a file, a directory or an http(s) URL")
			}
			if mappingIndex(m, "inline") >= 0 {
				return fail("set path or inline, not both")
			}
			text, err := l.manifests(ctx, f.base, val.Value)
			if err != nil {
				return fail(err.Error())
			}
			key.Value = "inline"
			*val = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text, Style: yaml.LiteralStyle, Line: val.Line, Column: val.Column}
		}
	}
	if len(opts.Context) > 0 {
		ctxNode := mappingValue(f.top(), "contextOverrides")
		if ctxNode == nil || ctxNode.Kind != yaml.MappingNode {
			ctxNode = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			setMappingValue(f.top(), "contextOverrides", ctxNode)
		}
		keys := make([]string, 0, len(opts.Context))
		for k := range opts.Context {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			setMappingValue(ctxNode, k, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: opts.Context[k]})
		}
	}
	if len(opts.Targets) > 0 {
		filters := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, t := range opts.Targets {
			filters.Content = append(filters.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "includeTarget"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: t}}})
		}
		setMappingValue(f.top(), "targetFilters", filters)
	}
	return nil
}

// Marshal renders the (resolved) deploy file as YAML.
func (f *File) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f.Root); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", f.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", f.Name, err)
	}
	out := b.Bytes()
	if len(out) > MaxBytes {
		return nil, fmt.Errorf("%s with its manifests is %d bytes; the API takes at most %d", f.Name, len(out), MaxBytes)
	}
	return out, nil
}

// manifests reads the manifests at ref, relative to base.
func (l Loader) manifests(ctx context.Context, base, ref string) (string, error) {
	switch {
	case isURL(ref):
		data, err := l.fetch(ctx, ref)
		return string(data), err
	case isURL(base):
		b, err := url.Parse(base)
		if err != nil {
			return "", err
		}
		r, err := url.Parse(ref)
		if err != nil {
			return "", fmt.Errorf("%q: %w", ref, err)
		}
		data, err := l.fetch(ctx, b.ResolveReference(r).String())
		return string(data), err
	}
	p := ref
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", ref, unwrapPathError(err))
	}
	if !st.IsDir() {
		data, err := readLimited(p)
		return string(data), err
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return "", fmt.Errorf("reading directory %s: %w", ref, err)
	}
	var docs []string
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		data, err := readLimited(filepath.Join(p, e.Name()))
		if err != nil {
			return "", err
		}
		docs = append(docs, strings.TrimSuffix(strings.TrimPrefix(string(data), "---\n"), "\n"))
	}
	if len(docs) == 0 {
		return "", fmt.Errorf("directory %s holds no .yaml or .yml file", ref)
	}
	return strings.Join(docs, "\n---\n") + "\n", nil
}

// fetch GETs an http(s) URL.
func (l Loader) fetch(ctx context.Context, u string) ([]byte, error) {
	hc := l.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", u, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", u, MaxBytes)
	}
	return data, nil
}

// readLimited reads a local file of at most MaxBytes.
func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, unwrapPathError(err))
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, MaxBytes)
	}
	return data, nil
}

// unwrapPathError drops the path an *fs.PathError repeats.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// mappingIndex is the index in m.Content of key's key node, or -1.
func mappingIndex(m *yaml.Node, key string) int {
	if m == nil || m.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// mappingValue is the value of key in mapping m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if i := mappingIndex(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

// setMappingValue sets key to v in mapping m.
func setMappingValue(m *yaml.Node, key string, v *yaml.Node) {
	if i := mappingIndex(m, key); i >= 0 {
		m.Content[i+1] = v
		return
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}
