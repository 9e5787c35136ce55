package rnainstall

import (
	"bytes"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func validOptions() Options {
	return Options{AgentIdentifier: "prod", HubAddress: "hub.example:443", TokenURL: "https://auth.example/oauth/token",
		ClientID: "client-1", ClientSecret: "secret-1", CAPEM: []byte("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func rnaContainer(g *WithT, objs []*unstructured.Unstructured) (map[string]any, *unstructured.Unstructured) {
	d := find(objs, "Deployment", "aurora-rna")
	g.Expect(d).NotTo(BeNil())
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	g.Expect(containers).To(HaveLen(1))
	return containers[0].(map[string]any), d
}

func TestBuild(t *testing.T) {
	g := NewWithT(t)
	o := validOptions()
	o.Namespace = "agents"
	objs, err := Build(o)
	g.Expect(err).NotTo(HaveOccurred())

	kinds := make([]string, len(objs))
	for i, obj := range objs {
		kinds[i] = obj.GetKind()
		switch obj.GetKind() {
		case "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition":
			g.Expect(obj.GetNamespace()).To(BeEmpty(), obj.GetName())
		default:
			g.Expect(obj.GetNamespace()).To(Equal("agents"), obj.GetKind()+" "+obj.GetName())
		}
		g.Expect(obj.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/part-of", "aurora"), obj.GetKind())
	}
	g.Expect(kinds[0]).To(Equal("Namespace"))
	g.Expect(kinds[1]).To(Equal("CustomResourceDefinition"))
	g.Expect(kinds[len(kinds)-1]).To(Equal("Deployment"))
	g.Expect(find(objs, "Namespace", "agents")).NotTo(BeNil())
	g.Expect(find(objs, "CustomResourceDefinition", "rollouts.rollout.aurora.dev")).NotTo(BeNil())
	names := make([]string, len(objs))
	for i, obj := range objs {
		names[i] = obj.GetKind() + "/" + obj.GetName()
	}
	g.Expect(names).To(Equal([]string{"Namespace/agents", "CustomResourceDefinition/rollouts.rollout.aurora.dev", "ServiceAccount/aurora-rna",
		"ClusterRole/aurora-rna", "ClusterRoleBinding/aurora-rna", "ClusterRole/aurora-rna-executor", "ClusterRole/aurora-rna-executor-defaults",
		"ClusterRole/aurora-rna-executor-traffic",
		"ClusterRoleBinding/aurora-rna-executor", "Role/aurora-rna-leader-election", "RoleBinding/aurora-rna-leader-election",
		"PodDisruptionBudget/aurora-rna", "ConfigMap/rna-config", "Secret/rna-client-credentials", "ConfigMap/rna-hub-ca", "Deployment/aurora-rna"}))

	for _, b := range []string{"aurora-rna", "aurora-rna-executor"} {
		crb := find(objs, "ClusterRoleBinding", b)
		g.Expect(crb).NotTo(BeNil())
		subjects, _, _ := unstructured.NestedSlice(crb.Object, "subjects")
		g.Expect(subjects[0]).To(HaveKeyWithValue("namespace", "agents"))
	}
	cm := find(objs, "ConfigMap", ConfigMapName)
	g.Expect(cm.Object["data"]).To(Equal(map[string]any{"agent-identifier": "prod", "hub-address": "hub.example:443",
		"token-url": "https://auth.example/oauth/token", "audience": "aurora"}))
	g.Expect(find(objs, "Secret", SecretName).Object["stringData"]).To(Equal(map[string]any{"client-id": "client-1", "client-secret": "secret-1"}))
	g.Expect(find(objs, "ConfigMap", CAConfigMapName).Object["data"]).To(HaveKeyWithValue("ca.crt", string(o.CAPEM)))

	c, _ := rnaContainer(g, objs)
	g.Expect(c["image"]).To(Equal("ghcr.io/aurora-cd/aurora:dev"))
	g.Expect(c["args"]).To(ContainElement("--hub-ca-file=/etc/aurora/hub-ca/ca.crt"))
	// The secret reaches the agent through the environment, never its arguments.
	for _, a := range c["args"].([]any) {
		g.Expect(a).NotTo(ContainSubstring("secret-1"))
	}

	var b bytes.Buffer
	g.Expect(Render(&b, objs)).To(Succeed())
	g.Expect(strings.Count(b.String(), "\n---\n")).To(Equal(len(objs) - 1))
	back, err := decodeDocuments(b.Bytes())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(back).To(HaveLen(len(objs)))
}

func TestBuildWithoutCA(t *testing.T) {
	g := NewWithT(t)
	o := validOptions()
	o.CAPEM = nil
	o.Image = "registry.example/aurora:v1.2.3"
	objs, err := Build(o)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(find(objs, "ConfigMap", CAConfigMapName)).To(BeNil())
	c, d := rnaContainer(g, objs)
	g.Expect(c["image"]).To(Equal("registry.example/aurora:v1.2.3"))
	for _, a := range c["args"].([]any) {
		g.Expect(a).NotTo(HavePrefix("--hub-ca-file"))
	}
	g.Expect(c["volumeMounts"]).To(BeEmpty())
	volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	g.Expect(volumes).To(BeEmpty())
	g.Expect(find(objs, "Namespace", DefaultNamespace)).NotTo(BeNil())
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"no agent", func(o *Options) { o.AgentIdentifier = "" }, "the agent's agent identifier is required"},
		{"no hub", func(o *Options) { o.HubAddress = "" }, "the agent's hub address is required"},
		{"no secret", func(o *Options) { o.ClientSecret = "" }, "the agent's client secret is required"},
		{"a plain http token URL", func(o *Options) { o.TokenURL = "http://auth/oauth/token" }, `token URL "http://auth/oauth/token": expected an https:// URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			o := validOptions()
			tt.mutate(&o)
			_, err := Build(o)
			g.Expect(err).To(MatchError(tt.want))
		})
	}
}
