package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// expectedCRDs are the kinds Aurora serves, by CRD name.
var expectedCRDs = []string{
	"tenants.iam.aurora.dev",
	"machinecredentials.iam.aurora.dev",
	"users.iam.aurora.dev",
	"deployments.deploy.aurora.dev",
	"judgments.deploy.aurora.dev",
	"agents.deploy.aurora.dev",
	"rollouts.rollout.aurora.dev",
}

// statusless are the kinds no controller acts on, so they have no status: a User is read by the auth
// service at every login.
var statusless = map[string]bool{"users.iam.aurora.dev": true}

func newNamespace(ctx context.Context, prefix string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

var _ = Describe("CRDs", func() {
	It("installs every kind as an established, structural CRD in the aurora category", func(ctx SpecContext) {
		for _, name := range expectedCRDs {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			Expect(k8sClient.Get(ctx, types.NamespacedName{Name: name}, crd)).To(Succeed(), name)
			conds := map[apiextensionsv1.CustomResourceDefinitionConditionType]apiextensionsv1.ConditionStatus{}
			for _, c := range crd.Status.Conditions {
				conds[c.Type] = c.Status
			}
			Expect(conds).To(HaveKeyWithValue(apiextensionsv1.Established, apiextensionsv1.ConditionTrue), name)
			Expect(conds).To(HaveKeyWithValue(apiextensionsv1.NamesAccepted, apiextensionsv1.ConditionTrue), name)
			Expect(conds).NotTo(HaveKeyWithValue(apiextensionsv1.NonStructuralSchema, apiextensionsv1.ConditionTrue), name)
			Expect(crd.Spec.Names.Categories).To(ContainElement("aurora"), name)
			Expect(crd.Spec.Names.ShortNames).NotTo(BeEmpty(), name)
			Expect(crd.Spec.Versions).To(HaveLen(1))
			v := crd.Spec.Versions[0]
			Expect(v.Name).To(Equal("v1alpha1"))
			if statusless[name] {
				Expect(v.Subresources == nil || v.Subresources.Status == nil).To(BeTrue(), name+" has no status")
				Expect(v.Schema.OpenAPIV3Schema.Properties).NotTo(HaveKey("status"), name)
			} else {
				Expect(v.Subresources).NotTo(BeNil(), name)
				Expect(v.Subresources.Status).NotTo(BeNil(), name+" has a /status subresource")
			}
			Expect(v.AdditionalPrinterColumns).To(ContainElement(HaveField("Name", "Age")), name)
		}
	})

	It("applies every CRD and every sample with kubectl apply --server-side", func(ctx SpecContext) {
		out, err := cluster.Kubectl(ctx, "apply", "--server-side", "-f", crdDir)
		Expect(err).NotTo(HaveOccurred(), out)
		for _, name := range expectedCRDs {
			Expect(out).To(ContainSubstring(name))
		}
		ns := newNamespace(ctx, "samples")
		samples, err := filepath.Glob(filepath.Join(samplesDir, "*_v1alpha1_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(len(samples)).To(BeNumerically(">=", len(expectedCRDs)))
		for _, f := range samples {
			out, err := cluster.Kubectl(ctx, "apply", "--server-side", "-n", ns, "-f", f)
			Expect(err).NotTo(HaveOccurred(), "%s: %s", f, out)
			Expect(out).To(ContainSubstring("serverside-applied"), f)
		}
		out, err = cluster.Kubectl(ctx, "get", "aurora", "-n", ns, "-o", "name")
		Expect(err).NotTo(HaveOccurred(), out)
		for _, want := range []string{"deployment.deploy.aurora.dev/potato-facts", "judgment.deploy.aurora.dev/potato-facts-approve-prod",
			"agent.deploy.aurora.dev/staging", "rollout.rollout.aurora.dev/potato-facts-staging", "machinecredential.iam.aurora.dev/ci-pipeline"} {
			Expect(out).To(ContainSubstring(want))
		}
	})

	It("keeps every sample intact through the API server (no field dropped)", func(ctx SpecContext) {
		ns := newNamespace(ctx, "roundtrip")
		samples, err := filepath.Glob(filepath.Join(samplesDir, "*_v1alpha1_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		for _, f := range samples {
			u := readSample(f)
			if kind := u.GetKind(); kind != "Tenant" && kind != "User" { // cluster-scoped kinds are renamed
				u.SetNamespace(ns)
			} else {
				u.SetName(u.GetName() + "-roundtrip")
			}
			wantSpec := u.Object["spec"]
			Expect(k8sClient.Create(ctx, u)).To(Succeed(), f)
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(u.GroupVersionKind())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), got)).To(Succeed())
			Expect(got.Object["spec"]).To(gomegaContainsMap(wantSpec), f)
		}
	})

	It("defaults status so kstatus reports a new object as in progress until a controller acts", func(ctx SpecContext) {
		ns := newNamespace(ctx, "kstatus")
		u := readSample(filepath.Join(samplesDir, "deploy_v1alpha1_deployment.yaml"))
		u.SetNamespace(ns)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(u.GroupVersionKind())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), got)).To(Succeed())
		og, found, err := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(og).To(Equal(int64(-1)))
		res, err := status.Compute(got)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Status).To(Equal(status.InProgressStatus))
		// The spec defaults of the deploy file apply.
		Expect(got.Object["spec"]).To(HaveKeyWithValue("version", "v1"))
		Expect(got.Object["spec"]).To(HaveKeyWithValue("kind", "kubernetes"))
	})

	It("shows the godoc of every field in kubectl explain", func(ctx SpecContext) {
		out, err := cluster.Kubectl(ctx, "explain", "deployments.deploy.aurora.dev.spec.targets")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("targets are the environments to deploy to, by name."))
		Expect(out).To(ContainSubstring("account"))
		Expect(out).To(ContainSubstring("agentIdentifier of the Remote Network Agent"))
		out, err = cluster.Kubectl(ctx, "explain", "deployments.deploy.aurora.dev.spec.strategies.canary.steps.pause")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("untilApproved"))
		Expect(out).To(ContainSubstring("requiresRoles"))
	})

	It("prints the status word and target progress in kubectl get", func(ctx SpecContext) {
		ns := newNamespace(ctx, "printer")
		u := readSample(filepath.Join(samplesDir, "deploy_v1alpha1_deployment.yaml"))
		u.SetNamespace(ns)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		Expect(unstructured.SetNestedField(u.Object, "RUNNING", "status", "state")).To(Succeed())
		Expect(unstructured.SetNestedField(u.Object, "1/2", "status", "targetProgress")).To(Succeed())
		Expect(k8sClient.Status().Update(ctx, u)).To(Succeed())
		out, err := cluster.Kubectl(ctx, "get", "adep", "-n", ns)
		Expect(err).NotTo(HaveOccurred(), out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "APPLICATION", "STATUS", "TARGETS", "AGE"}))
		Expect(strings.Fields(lines[1])[:4]).To(Equal([]string{"potato-facts", "potato-facts", "RUNNING", "1/2"}))
	})
})

// readSample reads a sample manifest into an unstructured object.
func readSample(path string) *unstructured.Unstructured {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	obj := map[string]any{}
	Expect(yaml.Unmarshal(data, &obj)).To(Succeed(), path)
	return &unstructured.Unstructured{Object: obj}
}

// gomegaContainsMap matches a value that holds every key and value of want, recursively; extra
// keys (defaults the API server adds) are allowed.
func gomegaContainsMap(want any) OmegaMatcher {
	return WithTransform(func(got any) error { return containsAll(got, want, "spec") }, Succeed())
}

func containsAll(got, want any, path string) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: dropped by the API server", path, k)
			}
			if err := containsAll(gv, wv, path+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
		for i := range w {
			if err := containsAll(g[i], w[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	default:
		// Numbers decode as float64 from YAML and as int64 from the API server: compare as text.
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
		return nil
	}
}
