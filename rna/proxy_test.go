package rna

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestPreviewLive(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	rollout := func(appNamespace string, previews ...deployv1alpha1.PreviewLink) rolloutv1alpha1.Rollout {
		r := rolloutv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "mirror-ns"}}
		r.Spec.Namespace = appNamespace
		r.Status.Previews = previews
		return r
	}
	until := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(d)) }
	tests := []struct {
		name     string
		mirrored []rolloutv1alpha1.Rollout
		ns, svc  string
		want     bool
	}{
		{"listed and live", []rolloutv1alpha1.Rollout{rollout("web", deployv1alpha1.PreviewLink{Service: "potato", Namespace: "web", ExpiresAt: until(time.Minute)})}, "web", "potato", true},
		{"namespace from the Rollout", []rolloutv1alpha1.Rollout{rollout("web", deployv1alpha1.PreviewLink{Service: "potato", ExpiresAt: until(time.Minute)})}, "web", "potato", true},
		{"expired", []rolloutv1alpha1.Rollout{rollout("web", deployv1alpha1.PreviewLink{Service: "potato", Namespace: "web", ExpiresAt: until(0)})}, "web", "potato", false},
		{"another service", []rolloutv1alpha1.Rollout{rollout("web", deployv1alpha1.PreviewLink{Service: "potato", Namespace: "web", ExpiresAt: until(time.Minute)})}, "web", "admin", false},
		{"another namespace", []rolloutv1alpha1.Rollout{rollout("web", deployv1alpha1.PreviewLink{Service: "potato", Namespace: "web", ExpiresAt: until(time.Minute)})}, "kube-system", "potato", false},
		{"no previews", []rolloutv1alpha1.Rollout{rollout("web")}, "web", "potato", false},
	}
	for _, tt := range tests {
		if got := previewLive(tt.mirrored, tt.ns, tt.svc, now); got != tt.want {
			t.Errorf("%s: previewLive = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReadyEndpoint(t *testing.T) {
	slice := func(portName *string, port int32, endpoints ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{Endpoints: endpoints, Ports: []discoveryv1.EndpointPort{{Name: portName, Port: ptr.To(port)}}}
	}
	ready := func(ip string, ok bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ok)}}
	}
	unnamed, http := corev1.ServicePort{Port: 80}, corev1.ServicePort{Name: "http", Port: 80}
	tests := []struct {
		name   string
		slices []discoveryv1.EndpointSlice
		port   corev1.ServicePort
		want   string
	}{
		{"the first ready endpoint", []discoveryv1.EndpointSlice{slice(nil, 8080, ready("10.0.0.1", false), ready("10.0.0.2", true))}, unnamed, "10.0.0.2:8080"},
		{"an empty port name matches an unnamed port", []discoveryv1.EndpointSlice{slice(ptr.To(""), 8080, ready("10.0.0.1", true))}, unnamed, "10.0.0.1:8080"},
		{"by port name", []discoveryv1.EndpointSlice{slice(ptr.To("metrics"), 9090, ready("10.0.0.1", true)), slice(ptr.To("http"), 8080, ready("10.0.0.3", true))}, http, "10.0.0.3:8080"},
		{"none ready", []discoveryv1.EndpointSlice{slice(nil, 8080, ready("10.0.0.1", false))}, unnamed, ""},
		{"IPv6", []discoveryv1.EndpointSlice{slice(nil, 8080, ready("fd00::1", true))}, unnamed, "[fd00::1]:8080"},
		{"no slices", nil, unnamed, ""},
	}
	for _, tt := range tests {
		if got := readyEndpoint(tt.slices, tt.port); got != tt.want {
			t.Errorf("%s: readyEndpoint = %q, want %q", tt.name, got, tt.want)
		}
	}
}
