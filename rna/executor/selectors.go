package executor

import (
	"encoding/json"
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/labels"
)

// BaseSelector is a Service's selector without VersionLabel: what selects every version of the
// application.
func BaseSelector(selector map[string]string) map[string]string {
	out := maps.Clone(selector)
	delete(out, VersionLabel)
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// PinnedSelector is base plus VersionLabel: version, the selector of a Service that sends all its
// traffic to one version.
func PinnedSelector(base map[string]string, version string) map[string]string {
	out := BaseSelector(base)
	out[VersionLabel] = labelValue(version)
	return out
}

// SelectedVersion returns the version a selector pins, or "" when it selects every version.
func SelectedVersion(selector map[string]string) string {
	return selector[VersionLabel]
}

// selectsTemplate reports whether a Service's (base) selector selects pods with these labels.
func selectsTemplate(selector, podLabels map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(podLabels))
}

// formatSelectors writes selectors by Service name as JSON for SelectorsAnnotation.
func formatSelectors(s map[string]map[string]string) string {
	body, _ := json.Marshal(s)
	return string(body)
}

// parseSelectors is the inverse of formatSelectors; empty gives nil.
func parseSelectors(s string) (map[string]map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var out map[string]map[string]string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("%q is not a JSON object of selectors: %w", s, err)
	}
	return out, nil
}
