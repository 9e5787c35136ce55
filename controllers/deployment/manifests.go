package deployment

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// unsupportedKinds are kinds Aurora does not deploy, as Armory did not: it turns Deployments into
// ReplicaSets it manages, so a bare ReplicaSet or Pod has no strategy to follow.
var unsupportedKinds = map[string]string{
	"ReplicaSet": "deploy an apps/v1 Deployment; Aurora manages its ReplicaSets",
	"Pod":        "deploy an apps/v1 Deployment; Aurora manages its ReplicaSets",
}

// checkManifest checks every YAML document of an inline manifest: it must parse, be an object with
// apiVersion, kind and metadata.name, and not be a bare ReplicaSet or Pod. Documents are counted
// from 1; empty documents (between two ---) are skipped.
func checkManifest(path, inline string) []string {
	var errs []string
	docs, err := splitDocuments(inline)
	if err != nil {
		return []string{fmt.Sprintf("%s: not valid YAML: %v", path, err)}
	}
	objects := 0
	for i, doc := range docs {
		at := fmt.Sprintf("%s: document %d", path, i+1)
		var obj any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			errs = append(errs, fmt.Sprintf("%s is not valid YAML: %v", at, err))
			continue
		}
		if obj == nil {
			continue // only comments
		}
		objects++
		m, ok := obj.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s is not a Kubernetes object (a YAML mapping)", at))
			continue
		}
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		var name string
		if md, ok := m["metadata"].(map[string]any); ok {
			name, _ = md["name"].(string)
		}
		var missing []string
		for field, value := range map[string]string{"apiVersion": apiVersion, "kind": kind, "metadata.name": name} {
			if value == "" {
				missing = append(missing, field)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			errs = append(errs, fmt.Sprintf("%s lacks %s", at, strings.Join(missing, ", ")))
			continue
		}
		if hint, bad := unsupportedKinds[kind]; bad && isCoreOrApps(apiVersion) {
			errs = append(errs, fmt.Sprintf("%s (%s %s): kind %s is not supported; %s", at, kind, name, kind, hint))
		}
	}
	if objects == 0 && len(errs) == 0 {
		errs = append(errs, path+": holds no Kubernetes object")
	}
	return errs
}

// splitDocuments splits a multi-document YAML string on its --- separators.
func splitDocuments(s string) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(s)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

// isCoreOrApps reports whether apiVersion is of the core group or of a group that ever served
// ReplicaSets (apps, extensions).
func isCoreOrApps(apiVersion string) bool {
	group, _, found := strings.Cut(apiVersion, "/")
	return !found || group == "apps" || group == "extensions"
}
