package executor

import (
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Istio kinds the executor writes; their versions are the ones the cluster prefers.
var (
	// VirtualServiceKind is the Istio VirtualService whose HTTP route weights split traffic.
	VirtualServiceKind = schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}
	// DestinationRuleKind is the Istio DestinationRule whose subsets select the versions.
	DestinationRuleKind = schema.GroupKind{Group: "networking.istio.io", Kind: "DestinationRule"}
)

// WeighRoute returns a VirtualService's spec.http with one route's destinations set to the active
// subset (100 − weight) and the canary subset (weight), both of the host (and port) of the route's
// first destination. The route is the one named routeName, or the only one when routeName is empty.
func WeighRoute(http []any, routeName, active, canary string, weight int32) ([]any, error) {
	weight = min(max(weight, 0), 100)
	idx := -1
	for i, r := range http {
		m, _ := r.(map[string]any)
		name, _ := m["name"].(string)
		if routeName != "" && name == routeName {
			idx = i
			break
		}
	}
	switch {
	case routeName == "" && len(http) == 1:
		idx = 0
	case routeName == "" && len(http) == 0:
		return nil, fmt.Errorf("it has no HTTP route")
	case routeName == "":
		return nil, fmt.Errorf("it has %d HTTP routes: set virtualService.httpRouteName to the one to weigh", len(http))
	case idx < 0:
		return nil, fmt.Errorf("it has no HTTP route named %q", routeName)
	}
	route, _ := http[idx].(map[string]any)
	dests, _ := route["route"].([]any)
	if len(dests) == 0 {
		return nil, fmt.Errorf("its HTTP route %q has no destination", routeName)
	}
	first, _ := dests[0].(map[string]any)
	dest, _ := first["destination"].(map[string]any)
	host, _ := dest["host"].(string)
	if host == "" {
		return nil, fmt.Errorf("the first destination of its HTTP route %q names no host", routeName)
	}
	destination := func(subset string, w int32) map[string]any {
		d := map[string]any{"host": host, "subset": subset}
		if port, ok := dest["port"]; ok {
			d["port"] = port
		}
		return map[string]any{"destination": d, "weight": int64(w)}
	}
	out := make([]any, len(http))
	copy(out, http)
	newRoute := maps.Clone(route)
	newRoute["route"] = []any{destination(active, 100-weight), destination(canary, weight)}
	out[idx] = newRoute
	return out, nil
}

// RouteWeights returns the weights of a VirtualService route's destinations, by subset.
func RouteWeights(http []any, routeName string) map[string]int64 {
	out := map[string]int64{}
	for _, r := range http {
		m, _ := r.(map[string]any)
		if name, _ := m["name"].(string); routeName != "" && name != routeName {
			continue
		}
		dests, _ := m["route"].([]any)
		for _, d := range dests {
			dm, _ := d.(map[string]any)
			dest, _ := dm["destination"].(map[string]any)
			subset, _ := dest["subset"].(string)
			switch w := dm["weight"].(type) {
			case int64:
				out[subset] = w
			case float64:
				out[subset] = int64(w)
			default:
				out[subset] = 0
			}
		}
		break
	}
	return out
}

// SetSubsets returns a DestinationRule's subsets with the labels of the active and canary subsets
// set (each subset added when missing); other subsets and the rest of each subset stay as they are.
func SetSubsets(subsets []any, active string, activeLabels map[string]string, canary string, canaryLabels map[string]string) []any {
	want := []struct {
		name   string
		labels map[string]string
	}{{active, activeLabels}, {canary, canaryLabels}}
	out := make([]any, len(subsets))
	copy(out, subsets)
	for _, w := range want {
		labels := map[string]any{}
		for k, v := range w.labels {
			labels[k] = v
		}
		found := false
		for i, s := range out {
			m, _ := s.(map[string]any)
			if name, _ := m["name"].(string); name == w.name {
				n := maps.Clone(m)
				n["labels"] = labels
				out[i], found = n, true
			}
		}
		if !found {
			out = append(out, map[string]any{"name": w.name, "labels": labels})
		}
	}
	return out
}

// SubsetLabels returns the labels of a DestinationRule's subset, and whether it exists.
func SubsetLabels(subsets []any, name string) (map[string]string, bool) {
	for _, sub := range subsets {
		m, _ := sub.(map[string]any)
		if n, _ := m["name"].(string); n != name {
			continue
		}
		out := map[string]string{}
		labels, _ := m["labels"].(map[string]any)
		for k, v := range labels {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
		return out, true
	}
	return nil, false
}
