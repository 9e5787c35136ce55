package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/controllers/deployment"
)

// DecodeDeployFile reads a deploy.yml (YAML or JSON) strictly into a Deployment spec. Every unknown
// field, wrong type and duplicate key is reported as a Detail whose field path is relative to the
// file's top level (targets.prod.strategy, manifests[0].inline); the spec is nil when there is any.
func DecodeDeployFile(body []byte) (*deployv1alpha1.DeploymentSpec, []Detail) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, []Detail{{Message: "the deploy file is empty; expected a YAML or JSON object with application, targets and manifests"}}
	}
	doc, err := yaml.YAMLToJSONStrict(body)
	if err != nil {
		return nil, []Detail{{Message: "the deploy file is not valid YAML or JSON: " + strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")}}
	}
	var tree any
	if err := json.Unmarshal(doc, &tree); err != nil {
		return nil, []Detail{{Message: "the deploy file is not valid YAML or JSON: " + err.Error()}}
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, []Detail{{Message: fmt.Sprintf("the deploy file must be an object with application, targets and manifests, not %s", jsonKind(tree))}}
	}
	details := checkShape(tree, reflect.TypeFor[deployv1alpha1.DeploymentSpec](), "")
	if len(details) > 0 {
		sortDetails(details)
		return nil, details
	}
	spec := &deployv1alpha1.DeploymentSpec{}
	if err := json.Unmarshal(doc, spec); err != nil {
		return nil, []Detail{{Message: "the deploy file does not fit the schema: " + err.Error()}}
	}
	return spec, nil
}

// checkShape compares a decoded JSON value with the Go type it must fit and reports every unknown
// field and every value of the wrong JSON type, with its path.
func checkShape(v any, t reflect.Type, path string) []Detail {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // null is the zero value
	}
	if t.Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		raw, _ := json.Marshal(v)
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return []Detail{{Field: path, Message: err.Error()}}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return []Detail{{Field: path, Message: "expected an object, got " + jsonKind(v)}}
		}
		fields := jsonFields(t)
		var out []Detail
		for _, key := range sortedKeysOf(obj) {
			f, known := fields[key]
			if !known {
				out = append(out, Detail{Field: join(path, key), Message: fmt.Sprintf("unknown field %q; expected one of %s", key, strings.Join(sortedKeysOf(fields), ", "))})
				continue
			}
			out = append(out, checkShape(obj[key], f, join(path, key))...)
		}
		return out
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return []Detail{{Field: path, Message: "expected an object (a map by name), got " + jsonKind(v)}}
		}
		var out []Detail
		for _, key := range sortedKeysOf(obj) {
			out = append(out, checkShape(obj[key], t.Elem(), join(path, key))...)
		}
		return out
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return []Detail{{Field: path, Message: "expected a list, got " + jsonKind(v)}}
		}
		var out []Detail
		for i, item := range list {
			out = append(out, checkShape(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.String:
		if _, ok := v.(string); !ok {
			return []Detail{{Field: path, Message: "expected a string, got " + jsonKind(v)}}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return []Detail{{Field: path, Message: "expected true or false, got " + jsonKind(v)}}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(float64)
		if !ok {
			return []Detail{{Field: path, Message: "expected a whole number, got " + jsonKind(v)}}
		}
		if n != float64(int64(n)) {
			return []Detail{{Field: path, Message: "expected a whole number, got " + strconv.FormatFloat(n, 'g', -1, 64)}}
		}
		val := reflect.New(t).Elem()
		if (t.Kind() <= reflect.Int64 && val.OverflowInt(int64(n))) || (t.Kind() >= reflect.Uint && (n < 0 || val.OverflowUint(uint64(n)))) {
			return []Detail{{Field: path, Message: fmt.Sprintf("%s is out of range for a %d-bit number", strconv.FormatFloat(n, 'f', -1, 64), t.Bits())}}
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(float64); !ok {
			return []Detail{{Field: path, Message: "expected a number, got " + jsonKind(v)}}
		}
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields (inline ones included) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", truncate(v, 40))
	case bool:
		return fmt.Sprintf("the boolean %t", v)
	case float64:
		return "the number " + strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}

// truncate shortens s to at most n characters, the last one an ellipsis when it was cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortDetails(ds []Detail) {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Field < ds[j].Field })
}

// ValidateDeployFile runs the Deployment controller's own validation (deployment.Validate) and
// returns its findings as Details with deploy-file paths.
func ValidateDeployFile(spec *deployv1alpha1.DeploymentSpec) []Detail {
	var out []Detail
	for _, e := range deployment.Validate(spec) {
		path, msg, ok := strings.Cut(e, ": ")
		if !ok {
			out = append(out, Detail{Message: deployFileText(e)})
			continue
		}
		out = append(out, Detail{Field: DeployFilePath(path), Message: deployFileText(msg)})
	}
	return out
}

var (
	// specPrefix is "spec." where it begins a path inside a message.
	specPrefix = regexp.MustCompile(`\bspec\.`)
	// mapKeySegment is a Kubernetes field path segment that names a map key: [prod], not [2].
	mapKeySegment = regexp.MustCompile(`\[([^\]\[]*[^0-9\]\[][^\]\[]*)\]`)
)

// DeployFilePath turns a Kubernetes field path of a Deployment (spec.targets[prod].strategy,
// spec.manifests[0].inline) into the deploy file's (targets.prod.strategy, manifests[0].inline).
// The bare "spec" becomes "".
func DeployFilePath(path string) string {
	path = strings.TrimSpace(path)
	if path == "spec" {
		return ""
	}
	path = strings.TrimPrefix(path, "spec.")
	path = mapKeySegment.ReplaceAllStringFunc(path, func(seg string) string {
		key := strings.Trim(seg[1:len(seg)-1], `"'`)
		return "." + key
	})
	return strings.TrimPrefix(path, ".")
}

// deployFileText rewrites the spec. paths inside a message to deploy-file paths.
func deployFileText(msg string) string { return specPrefix.ReplaceAllString(msg, "") }
