package install

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// hubHTTPSPort is the port of the Hub's HTTPS endpoint: preview links and the replicas' calls.
const hubHTTPSPort = 9443

// TestHubReplicasAndPreviewLinks checks what several Hub replicas and preview links need in a real
// install of config/default: the HTTPS port on the container, the Service and the NetworkPolicy; the
// replica's address from the downward API; the peer certificate and the preview key from Secrets
// that config/default documents; the preview base URL from a ConfigMap setting.
func TestHubReplicasAndPreviewLinks(t *testing.T) {
	g := NewWithT(t)
	root := repoRoot(t)
	objs := build(t, root, kustomizeBinary(t, root), "config/default")

	var hub *appsv1.Deployment
	var service *corev1.Service
	var policies []networkingv1.NetworkPolicy
	configMaps := map[string]*corev1.ConfigMap{}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Deployment" && o.GetName() == "aurora-hub":
			hub = &appsv1.Deployment{}
			convert(t, o, hub)
		case o.GetKind() == "Service" && o.GetName() == "aurora-hub":
			service = &corev1.Service{}
			convert(t, o, service)
		case o.GetKind() == "NetworkPolicy":
			var p networkingv1.NetworkPolicy
			convert(t, o, &p)
			policies = append(policies, p)
		case o.GetKind() == "ConfigMap":
			cm := &corev1.ConfigMap{}
			convert(t, o, cm)
			configMaps[cm.Name] = cm
		}
	}
	g.Expect(hub).NotTo(BeNil(), "Deployment aurora-hub")
	g.Expect(service).NotTo(BeNil(), "Service aurora-hub")
	g.Expect(*hub.Spec.Replicas).To(BeNumerically(">=", 2), "several replicas")
	pod := hub.Spec.Template.Spec
	c := pod.Containers[0]

	// Serving HTTPS on the container, the Service and through the NetworkPolicy.
	g.Expect(c.Ports).To(ContainElement(corev1.ContainerPort{Name: "https", ContainerPort: hubHTTPSPort, Protocol: corev1.ProtocolTCP}))
	g.Expect(service.Spec.Ports).To(ContainElement(corev1.ServicePort{Name: "https", Port: hubHTTPSPort, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP}))
	g.Expect(allowsIngress(policies, hub.Spec.Template.Labels, hubHTTPSPort)).To(BeTrue(), "a NetworkPolicy lets the HTTPS port in")
	g.Expect(args(c)).To(HaveKeyWithValue("--https-listen-address", ":9443"))

	// Advertising the pod IP from the downward API.
	g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}))
	g.Expect(args(c)).To(HaveKeyWithValue("--advertise-address", "$(POD_IP):9443"))
	g.Expect(args(c)).To(HaveKeyWithValue("--peer-server-name", "aurora-hub.$(POD_NAMESPACE).svc"), "the replicas check each other's serving certificate against the Service name")

	// Reading the peer certificate and the preview key from Secrets that config/default documents.
	kustomization, err := os.ReadFile(filepath.Join(root, "config/default/kustomization.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	for flag, secret := range map[string]string{
		"--peer-cert-file": "aurora-hub-peer-tls", "--peer-key-file": "aurora-hub-peer-tls", "--peer-ca-file": "aurora-hub-peer-tls",
		"--preview-key-file": "aurora-hub-preview-key", "--tls-cert-file": "aurora-hub-tls",
	} {
		file := args(c)[flag]
		g.Expect(file).NotTo(BeEmpty(), flag)
		g.Expect(secretOfFile(pod, c, file)).To(Equal(secret), "%s=%s comes from Secret %s", flag, file, secret)
		g.Expect(string(kustomization)).To(MatchRegexp(`\*\s+`+regexp.QuoteMeta(secret)+`:`), "config/default documents how to create %s", secret)
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			g.Expect(*v.Secret.DefaultMode).To(BeEquivalentTo(0o440), "Secret %s is mounted 0440", v.Secret.SecretName)
		}
	}

	// Taking the preview base URL from a documented ConfigMap setting.
	g.Expect(args(c)).To(HaveKeyWithValue("--preview-base-url", "$(PREVIEW_BASE_URL)"))
	var ref *corev1.ConfigMapKeySelector
	for _, e := range c.Env {
		if e.Name == "PREVIEW_BASE_URL" && e.ValueFrom != nil {
			ref = e.ValueFrom.ConfigMapKeyRef
		}
	}
	g.Expect(ref).NotTo(BeNil(), "PREVIEW_BASE_URL from a ConfigMap")
	cm := configMaps[ref.Name]
	g.Expect(cm).NotTo(BeNil(), "ConfigMap %s is part of the install", ref.Name)
	u, err := url.Parse(cm.Data[ref.Key])
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(u.Scheme).To(Equal("https"), "previewBaseURL is an https URL")
	g.Expect(u.Host).NotTo(BeEmpty())
	g.Expect(string(kustomization)).To(ContainSubstring(strings.TrimPrefix(ref.Name, "aurora-")), "config/default says how to set %s", ref.Name)
	g.Expect(string(kustomization)).To(ContainSubstring(ref.Key))
}

// convert decodes an object of the build into a typed one.
func convert(t *testing.T, o *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// args are a container's --flag=value arguments by flag.
func args(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, a := range c.Args {
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
			out[k] = v
		}
	}
	return out
}

// secretOfFile is the Secret a file of the container comes from: the Secret volume mounted at the
// file's directory; "" when none.
func secretOfFile(pod corev1.PodSpec, c corev1.Container, file string) string {
	dir := filepath.Dir(file)
	for _, m := range c.VolumeMounts {
		if filepath.Clean(m.MountPath) != dir {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return v.Secret.SecretName
			}
		}
	}
	return ""
}

// allowsIngress reports whether a NetworkPolicy selecting pods with labels lets TCP port in.
func allowsIngress(policies []networkingv1.NetworkPolicy, labels map[string]string, port int) bool {
	for _, p := range policies {
		selected := true
		for k, v := range p.Spec.PodSelector.MatchLabels {
			selected = selected && labels[k] == v
		}
		if !selected {
			continue
		}
		for _, rule := range p.Spec.Ingress {
			for _, rp := range rule.Ports {
				if rp.Port != nil && rp.Port.IntValue() == port {
					return true
				}
			}
		}
	}
	return false
}
