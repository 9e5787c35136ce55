package executor

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
)

const deploymentDoc = `apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: elsewhere}
spec:
  replicas: 3
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec: {containers: [{name: c, image: i}]}
`

func deploymentDocOf(name string) string {
	return sprintf(deploymentDoc, name, name, name)
}

func TestParseManifests(t *testing.T) {
	g := NewWithT(t)
	m, err := ParseManifests([]string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n---\n# only a comment\n---\n" + deploymentDocOf("web"),
		`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}]}`,
		deploymentDocOf("api") + "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: api}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}, minReplicas: 2, maxReplicas: 5}\n",
		"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: other}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: other}, maxReplicas: 5}\n",
	}, "team")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Workloads).To(HaveLen(2))
	g.Expect(m.Workloads[0].Name).To(Equal("api"), "sorted by name")
	g.Expect(m.Workloads[0].HPA).NotTo(BeNil(), "the HPA of a workload waits for the end")
	g.Expect(m.Workloads[1].Name).To(Equal("web"))
	g.Expect(m.Workloads[1].Deployment.Namespace).To(Equal("team"), "the namespace is forced")
	g.Expect(m.Workloads[1].Replicas()).To(BeEquivalentTo(3))
	var kinds []string
	for _, o := range m.Objects {
		kinds = append(kinds, o.GetKind()+"/"+o.GetName())
	}
	g.Expect(kinds).To(Equal([]string{"ConfigMap/cfg", "Service/web", "HorizontalPodAutoscaler/other"}))
}

func TestParseManifestsRefuses(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     string
	}{
		{"a bare ReplicaSet", "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\n", "manifests[0] document 1: ReplicaSet rs: bare ReplicaSets are not supported"},
		{"a bare Pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "Pod p: bare Pods are not supported"},
		{"a Pod in a List", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}]}`, "manifests[0] document 1 item 0: Pod p"},
		{"an old Deployment", "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: d}\n", "only apps/v1 Deployments are supported"},
		{"no kind", "metadata: {name: x}\n", "no apiVersion or kind"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n", "has no metadata.name"},
		{"not YAML", "a: [b\n", "not valid YAML"},
		{"a selector that misses the template", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {selector: {matchLabels: {app: one}}, template: {metadata: {labels: {app: two}}}}\n", "does not select the labels"},
		{"no selector", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {labels: {app: two}}}}\n", "has no spec.selector"},
		{"twice the same Deployment", deploymentDocOf("web") + "---\n" + deploymentDocOf("web"), "Deployment web appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := ParseManifests([]string{tt.manifest}, "team")
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
			var refused *RefusedError
			g.Expect(err).To(BeAssignableToTypeOf(refused))
		})
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
