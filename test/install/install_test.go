// Package install checks the installation manifests: config/default (the control plane) and
// config/rna (the agent of a target cluster) build with the pinned kustomize, hold to the project's
// deployment rules, and a real kube-apiserver accepts every object they hold (server-side dry run).
package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/aurora-cd/aurora/cli"
	"github.com/aurora-cd/aurora/internal/testcluster"
)

const (
	// kustomizeVersion is the Makefile's KUSTOMIZE_VERSION (checked below).
	kustomizeVersion = "v5.8.1"
	kustomizePkg     = "sigs.k8s.io/kustomize/kustomize/v5"
	// imageRepository is where every container image of the manifests must come from.
	imageRepository = "ghcr.io/aurora-cd/aurora"
)

// overlay is a kustomization that installs something, and the namespace it installs into.
type overlay struct {
	dir       string
	namespace string
}

// overlays are applied in this order into one cluster: the control plane, then the agent (as if the
// cloud cluster were its own target, which shares the Rollout CRD).
var overlays = []overlay{
	{dir: "config/default", namespace: "aurora-system"},
	{dir: "config/rna", namespace: "aurora-rna"},
}

func TestInstall(t *testing.T) {
	root := repoRoot(t)
	checkMakefilePin(t, root)
	kustomize := kustomizeBinary(t, root)

	start := time.Now()
	built := map[string][]*unstructured.Unstructured{}
	for _, o := range overlays {
		objs := build(t, root, kustomize, o.dir)
		built[o.dir] = objs
		t.Run(o.dir+"/properties", func(t *testing.T) { checkProperties(t, o, objs) })
	}
	t.Logf("kustomize build and checks: %v", time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start = time.Now()
	cluster, err := testcluster.StartAPI(ctx, testcluster.Options{Name: "install"})
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	t.Logf("API server started: %v", time.Since(start).Round(time.Millisecond))

	for _, o := range overlays {
		t.Run(o.dir+"/dry-run", func(t *testing.T) {
			start := time.Now()
			dryRun(ctx, t, cluster, built[o.dir])
			t.Logf("server-side dry run of %d objects: %v", len(built[o.dir]), time.Since(start).Round(time.Millisecond))
		})
	}
}

// dryRun creates the objects' namespaces and CRDs for real (a dry run of a namespaced object needs
// its namespace, one of a custom resource its CRD), then applies every object with a server-side dry
// run, and fails unless the API server accepted each one.
func dryRun(ctx context.Context, t *testing.T, cluster *testcluster.Cluster, objs []*unstructured.Unstructured) {
	g := NewWithT(t)
	var prerequisites, crds []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace":
			prerequisites = append(prerequisites, o)
		case "CustomResourceDefinition":
			prerequisites = append(prerequisites, o)
			crds = append(crds, o)
		}
	}
	if len(prerequisites) > 0 {
		if out, err := kubectl(ctx, cluster, encode(t, prerequisites), "apply", "--server-side", "-f", "-"); err != nil {
			t.Fatalf("applying the namespaces and CRDs: %v\n%s", err, out)
		}
		for _, crd := range crds {
			if out, err := cluster.Kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+crd.GetName()); err != nil {
				t.Fatalf("waiting for CRD %s: %v\n%s", crd.GetName(), err, out)
			}
		}
	}

	out, err := kubectl(ctx, cluster, encode(t, objs), "apply", "--server-side", "--dry-run=server", "-o", "name", "-f", "-")
	if err != nil {
		t.Fatalf("server-side dry run refused: %v\naccepted:\n%s", err, out)
	}
	// With -o name kubectl prints one line per accepted object: "<kind>.<group>/<name>".
	accepted := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		accepted[strings.ToLower(line)] = true
	}
	for _, o := range objs {
		name := strings.ToLower(o.GetKind())
		if group := o.GroupVersionKind().Group; group != "" {
			name += "." + group
		}
		name += "/" + o.GetName()
		g.Expect(accepted).To(HaveKey(name), "the API server did not report %s as applied", name)
	}
	g.Expect(accepted).To(HaveLen(len(objs)))
}

// kubectl runs the cluster's kubectl with stdin; the error quotes stderr.
func kubectl(ctx context.Context, cluster *testcluster.Cluster, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(cluster.BinaryDir, "kubectl"),
		append([]string{"--kubeconfig=" + cluster.KubeconfigPath}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// checkProperties asserts the rules every installation follows.
func checkProperties(t *testing.T, o overlay, objs []*unstructured.Unstructured) {
	g := NewWithT(t)
	g.Expect(objs).NotTo(BeEmpty())

	var namespaces, deployments int
	for _, obj := range objs {
		id := obj.GetKind() + " " + obj.GetName()
		switch obj.GetKind() {
		case "Namespace":
			namespaces++
			g.Expect(obj.GetName()).To(Equal(o.namespace))
			g.Expect(obj.GetLabels()).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"), id)
		case "Secret":
			t.Errorf("%s: the manifests hold no Secrets; the operator creates them", id)
		case "Deployment":
			deployments++
			d := &appsv1.Deployment{}
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, d)).To(Succeed(), id)
			checkDeployment(t, d)
		}
		// Cluster-scoped kinds have no namespace; every other object is in the overlay's.
		if ns := obj.GetNamespace(); ns != "" {
			g.Expect(ns).To(Equal(o.namespace), id)
		}
	}
	g.Expect(namespaces).To(Equal(1), "one Namespace, labelled for Pod Security")
	g.Expect(deployments).NotTo(BeZero())
}

// checkDeployment asserts restricted pod security, probes, resources, images and arguments that the
// aurora binary accepts.
func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	g := NewWithT(t)
	pod := d.Spec.Template.Spec
	podSC := pod.SecurityContext
	g.Expect(podSC).NotTo(BeNil(), d.Name)
	g.Expect(podSC.SeccompProfile).NotTo(BeNil(), d.Name)
	g.Expect(podSC.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault), d.Name)
	g.Expect(pod.HostNetwork || pod.HostPID || pod.HostIPC).To(BeFalse(), d.Name)

	containers := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	g.Expect(pod.Containers).NotTo(BeEmpty(), d.Name)
	for _, c := range containers {
		id := d.Name + "/" + c.Name
		g.Expect(c.Image).To(HavePrefix(imageRepository+":"), id)

		runAsNonRoot := podSC.RunAsNonRoot
		sc := c.SecurityContext
		g.Expect(sc).NotTo(BeNil(), id)
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		g.Expect(runAsNonRoot).To(HaveValue(BeTrue()), id+": runAsNonRoot")
		g.Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()), id+": readOnlyRootFilesystem")
		g.Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()), id+": allowPrivilegeEscalation")
		g.Expect(sc.Privileged == nil || !*sc.Privileged).To(BeTrue(), id+": privileged")
		g.Expect(sc.Capabilities).NotTo(BeNil(), id)
		g.Expect(sc.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")), id+": capabilities")
		g.Expect(sc.Capabilities.Add).To(BeEmpty(), id+": capabilities")

		g.Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceCPU), id+": limits")
		g.Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory), id+": limits")
		g.Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceCPU), id+": requests")
		g.Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceMemory), id+": requests")
	}
	for _, c := range pod.Containers {
		id := d.Name + "/" + c.Name
		g.Expect(c.LivenessProbe).NotTo(BeNil(), id+": livenessProbe")
		g.Expect(c.ReadinessProbe).NotTo(BeNil(), id+": readinessProbe")
		checkArgs(t, id, c.Args)
	}
}

// checkArgs parses a container's arguments with the aurora command they run: every flag must exist
// and take its value, and every required flag must be set.
func checkArgs(t *testing.T, id string, args []string) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(args).NotTo(BeEmpty(), id+": args name the aurora subcommand")
	root := cli.NewRootCommand()
	cmd, rest, err := root.Find(args)
	g.Expect(err).NotTo(HaveOccurred(), id)
	g.Expect(cmd).NotTo(BeIdenticalTo(root), id+": args name no subcommand")
	g.Expect(cmd.ParseFlags(rest)).To(Succeed(), id+": %v", args)
	g.Expect(cmd.ValidateRequiredFlags()).To(Succeed(), id+": %v", args)
	g.Expect(cmd.Flags().Args()).To(BeEmpty(), id+": positional arguments")
}

// build runs kustomize build on dir and decodes its objects.
func build(t *testing.T, root, kustomize, dir string) []*unstructured.Unstructured {
	t.Helper()
	cmd := exec.Command(kustomize, "build", filepath.Join(root, dir))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, stderr.String())
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(&stdout, 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		err := decoder.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding kustomize build %s: %v", dir, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

// encode writes objects as one YAML stream.
func encode(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
		buf.WriteString("\n")
	}
	return buf.Bytes()
}

// kustomizeBinary returns bin/tools/kustomize-<version> as `make` installs it, or else installs the
// pinned kustomize into a temporary GOBIN (leaving bin/ alone).
func kustomizeBinary(t *testing.T, root string) string {
	t.Helper()
	path := filepath.Join(root, "bin", "tools", "kustomize-"+kustomizeVersion)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", kustomizePkg+"@"+kustomizeVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing %s@%s: %v\n%s", kustomizePkg, kustomizeVersion, err, out)
	}
	return filepath.Join(gobin, "kustomize")
}

// checkMakefilePin keeps this test's kustomize and the Makefile's on the same version.
func checkMakefilePin(t *testing.T, root string) {
	t.Helper()
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^KUSTOMIZE_VERSION \?= (\S+)$`).FindSubmatch(makefile)
	if m == nil || string(m[1]) != kustomizeVersion {
		t.Fatalf("the Makefile pins KUSTOMIZE_VERSION to %q; this test uses %s: keep them equal", m, kustomizeVersion)
	}
}

// repoRoot is the directory of go.mod above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
