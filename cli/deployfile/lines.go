package deployfile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is a problem of a deploy file at a place in it.
type FieldError struct {
	// File names the deploy file.
	File string `json:"file"`
	// Line and Column are 1-based; 0 when unknown.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Field is the field path, e.g. targets.prod.strategy; empty for syntax errors.
	Field string `json:"field,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// Error renders file:line:column: field: message, as compilers do.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parse error of data into a *FieldError with its line: the first line at
// which the file, read up to there, fails with the same error (the parser's own line numbers are
// missing for some errors and late for others).
func syntaxError(name string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if first := firstFailingLine(data, msg); first > 0 {
		line = first
	}
	return &FieldError{File: name, Line: line, Message: "invalid YAML: " + msg}
}

// maxLinesToSearch bounds the search for a syntax error's line.
const maxLinesToSearch = 5000

// firstFailingLine is the smallest k such that the first k lines of data fail to parse with msg;
// 0 when none does.
func firstFailingLine(data []byte, msg string) int {
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > maxLinesToSearch {
		return 0
	}
	var prefix strings.Builder
	for k, l := range lines {
		prefix.WriteString(l)
		var n yaml.Node
		err := yaml.Unmarshal([]byte(prefix.String()), &n)
		if err == nil {
			continue
		}
		got := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			got = m[2]
		}
		if got == msg {
			return k + 1
		}
	}
	return 0
}

// pathToken is one step of a field path: a map key or a list index.
type pathToken struct {
	key     string
	index   int
	isIndex bool
}

// parseFieldPath splits a field path (targets.prod.strategy, strategies.canary.canary.steps[2].pause,
// manifests[0].inline) into tokens. A leading "spec." (the Deployment resource's) is dropped.
func parseFieldPath(p string) ([]pathToken, error) {
	p = strings.TrimPrefix(p, "spec.")
	var out []pathToken
	for _, part := range strings.Split(p, ".") {
		key := part
		var idx []int
		for {
			open := strings.LastIndex(key, "[")
			if open < 0 || !strings.HasSuffix(key, "]") {
				break
			}
			n, err := strconv.Atoi(key[open+1 : len(key)-1])
			if err != nil {
				break
			}
			idx = append([]int{n}, idx...)
			key = key[:open]
		}
		if key == "" && len(idx) == 0 {
			return nil, fmt.Errorf("field path %q: empty segment", p)
		}
		if key != "" {
			out = append(out, pathToken{key: key})
		}
		for _, n := range idx {
			out = append(out, pathToken{index: n, isIndex: true})
		}
	}
	return out, nil
}

// Locate finds the place of a field path in the file: the line and column of the field's key (or
// list item), or of the deepest enclosing field that exists when the path does not (a missing
// required field, or manifests[0].inline of a path that was resolved). exact says whether the
// whole path was found.
func (f *File) Locate(fieldPath string) (line, column int, exact bool) {
	toks, err := parseFieldPath(fieldPath)
	if err != nil {
		return 0, 0, false
	}
	top := f.top()
	line, column = top.Line, top.Column
	node := top
	for i := 0; i < len(toks); {
		t := toks[i]
		switch {
		case t.isIndex:
			if node.Kind != yaml.SequenceNode || t.index < 0 || t.index >= len(node.Content) {
				return line, column, false
			}
			node = node.Content[t.index]
			line, column = node.Line, node.Column
			i++
		default:
			if node.Kind != yaml.MappingNode {
				return line, column, false
			}
			// A key may itself hold dots (a target named prod.eu): try the longest run of key
			// tokens first.
			found := false
			for j := len(toks); j > i; j-- {
				if !allKeys(toks[i:j]) {
					continue
				}
				key := joinKeys(toks[i:j])
				if k := mappingIndex(node, key); k >= 0 {
					line, column = node.Content[k].Line, node.Content[k].Column
					node = node.Content[k+1]
					i = j
					found = true
					break
				}
			}
			if !found {
				return line, column, false
			}
		}
	}
	return line, column, true
}

func allKeys(ts []pathToken) bool {
	for _, t := range ts {
		if t.isIndex {
			return false
		}
	}
	return true
}

func joinKeys(ts []pathToken) string {
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = t.key
	}
	return strings.Join(keys, ".")
}

// FieldErrorAt is the *FieldError of a field path and a message, placed in the file.
func (f *File) FieldErrorAt(fieldPath, message string) *FieldError {
	e := &FieldError{File: f.Name, Field: strings.TrimPrefix(fieldPath, "spec."), Message: message}
	if fieldPath != "" {
		e.Line, e.Column, _ = f.Locate(fieldPath)
	}
	return e
}
