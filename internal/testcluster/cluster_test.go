package testcluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("clusters", func() {
	It("starts an API-only cluster with CRDs that serves the API, and Stop leaves no process behind", func(ctx SpecContext) {
		began := time.Now()
		cluster, err := StartAPI(ctx, Options{Name: "api-only", CRDDirectoryPaths: []string{"testdata/crds"}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(cluster.Stop)
		reportDuration("API-only cluster start", time.Since(began))

		By("serving core objects")
		configMap := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "greeting"},
			Data:       map[string]string{"hello": "world"},
		}
		Expect(cluster.Client.Create(ctx, configMap)).To(Succeed())
		var read corev1.ConfigMap
		Expect(cluster.Client.Get(ctx, client.ObjectKeyFromObject(configMap), &read)).To(Succeed())
		Expect(read.Data).To(Equal(map[string]string{"hello": "world"}))

		By("serving the installed CRD")
		widget := &unstructured.Unstructured{}
		widget.SetGroupVersionKind(schema.GroupVersionKind{Group: "example.aurora.dev", Version: "v1", Kind: "Widget"})
		widget.SetNamespace("default")
		widget.SetName("w")
		Expect(unstructured.SetNestedField(widget.Object, int64(3), "spec", "size")).To(Succeed())
		Expect(cluster.Client.Create(ctx, widget)).To(Succeed())

		By("answering kubectl through the kubeconfig file")
		out, err := cluster.Kubectl(ctx, "get", "configmap", "greeting", "-o", "jsonpath={.data.hello}")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal("world"))

		By("stopping etcd and kube-apiserver")
		processes := cluster.Processes()
		Expect(processes).To(HaveLen(2))
		Expect(processes).To(ContainElements(
			HaveField("Component", "etcd"), HaveField("Component", "kube-apiserver")))
		for _, p := range processes {
			Expect(commandLineMentions(p.PID, cluster.Dir)).To(BeTrue(), "%s (pid %d) runs before Stop", p.Component, p.PID)
		}
		Expect(cluster.CheckRunning()).To(Succeed())
		began = time.Now()
		Expect(cluster.Stop()).To(Succeed())
		reportDuration("API-only cluster stop", time.Since(began))
		for _, p := range processes {
			Expect(isRunning(p.PID)).To(BeFalse(), "%s (pid %d) still runs after Stop", p.Component, p.PID)
		}
		Expect(cluster.Dir).NotTo(BeADirectory())
		Expect(cluster.Stop()).To(Succeed(), "Stop is idempotent")
	}, SpecTimeout(5*time.Minute))

	It("fails to start with a missing CRD directory and leaves nothing behind", func(ctx SpecContext) {
		name := fmt.Sprintf("missing-crds-%d", time.Now().UnixNano())
		_, err := StartAPI(ctx, Options{Name: name, CRDDirectoryPaths: []string{"testdata/does-not-exist"}})
		Expect(err).To(MatchError(ContainSubstring("testdata/does-not-exist")))

		leftoverDirs, err := filepath.Glob(filepath.Join(stateRoot(), name+"-*"))
		Expect(err).NotTo(HaveOccurred())
		Expect(leftoverDirs).To(BeEmpty())
		Expect(processesMentioning(filepath.Join(stateRoot(), name))).To(BeEmpty())
	}, SpecTimeout(5*time.Minute))

	It("starts a full cluster whose Deployments scale, become Ready and roll out", func(ctx SpecContext) {
		began := time.Now()
		cluster, err := StartFull(ctx, Options{Name: "full", Nodes: 3})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(cluster.Stop)
		reportDuration("full cluster start (3 nodes Ready)", time.Since(began))

		By("having three Ready simulated nodes")
		var nodes corev1.NodeList
		Expect(cluster.Client.List(ctx, &nodes)).To(Succeed())
		Expect(nodes.Items).To(HaveLen(3))
		for i := range nodes.Items {
			Expect(nodes.Items[i].Annotations).To(HaveKeyWithValue("kwok.x-k8s.io/node", "fake"))
			Expect(isNodeReady(&nodes.Items[i])).To(BeTrue(), "node %s is Ready", nodes.Items[i].Name)
		}
		Expect(cluster.Processes()).To(HaveLen(5))

		By("making 10 replicas available")
		deployment := newDeployment("web", "registry.example/web:v1", 10)
		began = time.Now()
		Expect(cluster.Client.Create(ctx, deployment)).To(Succeed())
		Eventually(ctx, rolledOut(cluster.Client, deployment, "registry.example/web:v1")).
			WithPolling(20 * time.Millisecond).WithTimeout(60 * time.Second).Should(Succeed())
		reportDuration("10 replicas ready", time.Since(began))

		var pods corev1.PodList
		Expect(cluster.Client.List(ctx, &pods, client.InNamespace("default"), client.MatchingLabels{"app": "web"})).To(Succeed())
		Expect(pods.Items).To(HaveLen(10))
		for _, pod := range pods.Items {
			Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
			Expect(pod.Spec.NodeName).To(HavePrefix("kwok-node-"))
			Expect(pod.Status.PodIP).NotTo(BeEmpty())
		}

		By("rolling out an image change")
		began = time.Now()
		Expect(cluster.Client.Patch(ctx, deployment, client.RawPatch(types.JSONPatchType,
			[]byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.example/web:v2"}]`)))).To(Succeed())
		Eventually(ctx, rolledOut(cluster.Client, deployment, "registry.example/web:v2")).
			WithPolling(20 * time.Millisecond).WithTimeout(60 * time.Second).Should(Succeed())
		reportDuration("image rollout of 10 replicas", time.Since(began))

		var replicaSets appsv1.ReplicaSetList
		Expect(cluster.Client.List(ctx, &replicaSets, client.InNamespace("default"), client.MatchingLabels{"app": "web"})).To(Succeed())
		Expect(replicaSets.Items).To(ConsistOf(
			And(HaveField("Spec.Template.Spec.Containers", ContainElement(HaveField("Image", "registry.example/web:v2"))),
				HaveField("Spec.Replicas", HaveValue(BeEquivalentTo(10))), HaveField("Status.ReadyReplicas", BeEquivalentTo(10))),
			And(HaveField("Spec.Template.Spec.Containers", ContainElement(HaveField("Image", "registry.example/web:v1"))),
				HaveField("Spec.Replicas", HaveValue(BeEquivalentTo(0))), HaveField("Status.Replicas", BeEquivalentTo(0))),
		))

		By("stopping every process")
		processes := cluster.Processes()
		Expect(cluster.CheckRunning()).To(Succeed())
		began = time.Now()
		Expect(cluster.Stop()).To(Succeed())
		reportDuration("full cluster stop", time.Since(began))
		for _, p := range processes {
			Expect(isRunning(p.PID)).To(BeFalse(), "%s (pid %d) still runs after Stop", p.Component, p.PID)
		}
	}, SpecTimeout(5*time.Minute))

	It("runs two clusters at once, independent and on different ports", func(ctx SpecContext) {
		var cloud, target *Cluster
		var cloudErr, targetErr error
		var wg sync.WaitGroup
		began := time.Now()
		wg.Go(func() { cloud, cloudErr = StartAPI(ctx, Options{Name: "cloud"}) })
		wg.Go(func() { target, targetErr = StartFull(ctx, Options{Name: "target", Nodes: 1}) })
		wg.Wait()
		for _, c := range []*Cluster{cloud, target} {
			if c != nil {
				DeferCleanup(c.Stop)
			}
		}
		Expect(cloudErr).NotTo(HaveOccurred())
		Expect(targetErr).NotTo(HaveOccurred())
		reportDuration("API-only and full (1 node) cluster started in parallel", time.Since(began))

		By("using four different ports")
		ports := map[string]string{}
		for _, c := range []*Cluster{cloud, target} {
			apiServer, err := url.Parse(c.Config.Host)
			Expect(err).NotTo(HaveOccurred())
			ports[c.Name+" kube-apiserver"] = apiServer.Port()
			ports[c.Name+" etcd"] = c.controlPlane.Etcd.URL.Port()
		}
		seen := map[string]string{}
		for what, port := range ports {
			Expect(port).NotTo(BeEmpty())
			Expect(seen).NotTo(HaveKey(port), "%s and %s share port %s", what, seen[port], port)
			seen[port] = what
		}
		Expect(cloud.Dir).NotTo(Equal(target.Dir))

		By("keeping objects apart")
		only := func(name string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
		}
		Expect(cloud.Client.Create(ctx, only("only-in-cloud"))).To(Succeed())
		Expect(target.Client.Create(ctx, only("only-in-target"))).To(Succeed())
		Expect(cloud.Client.Get(ctx, client.ObjectKeyFromObject(only("only-in-cloud")), &corev1.ConfigMap{})).To(Succeed())
		err := target.Client.Get(ctx, client.ObjectKeyFromObject(only("only-in-cloud")), &corev1.ConfigMap{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "only-in-cloud is not in target: %v", err)
		err = cloud.Client.Get(ctx, client.ObjectKeyFromObject(only("only-in-target")), &corev1.ConfigMap{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "only-in-target is not in cloud: %v", err)

		var cloudNodes, targetNodes corev1.NodeList
		Expect(cloud.Client.List(ctx, &cloudNodes)).To(Succeed())
		Expect(target.Client.List(ctx, &targetNodes)).To(Succeed())
		Expect(cloudNodes.Items).To(BeEmpty())
		Expect(targetNodes.Items).To(HaveLen(1))

		By("stopping one without disturbing the other")
		Expect(cloud.Stop()).To(Succeed())
		Expect(target.Client.Get(ctx, client.ObjectKeyFromObject(only("only-in-target")), &corev1.ConfigMap{})).To(Succeed())
	}, SpecTimeout(5*time.Minute))
})

// newDeployment returns a Deployment of replicas pods running image (kwok simulates them: any name works).
func newDeployment(name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// rolledOut returns a check that the Deployment has observed its latest generation and runs exactly
// its replicas, all updated, Ready and available, as pods of image (old pods gone).
func rolledOut(c client.Client, deployment *appsv1.Deployment, image string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKeyFromObject(deployment), &d); err != nil {
			return err
		}
		want, s := *d.Spec.Replicas, d.Status
		if s.ObservedGeneration < d.Generation || s.Replicas != want || s.UpdatedReplicas != want ||
			s.ReadyReplicas != want || s.AvailableReplicas != want {
			return fmt.Errorf("generation %d, observed %d; replicas %d, updated %d, ready %d, available %d; want %d",
				d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, want)
		}
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
			return err
		}
		var wrong []string
		for _, pod := range pods.Items {
			if pod.Spec.Containers[0].Image != image || !isPodReady(&pod) {
				wrong = append(wrong, pod.Name)
			}
		}
		if len(wrong) > 0 || len(pods.Items) != int(want) {
			return fmt.Errorf("%d pods, not Ready %s: %v", len(pods.Items), image, wrong)
		}
		return nil
	}
}

// isPodReady reports whether a pod's Ready condition is True.
func isPodReady(pod *corev1.Pod) bool {
	for _, condition := range pod.Status.Conditions {
		if condition.Type == corev1.PodReady {
			return condition.Status == corev1.ConditionTrue
		}
	}
	return false
}

// isRunning reports whether pid is a live process (not a zombie).
func isRunning(pid int) bool {
	err := syscall.Kill(pid, 0)
	return (err == nil || errors.Is(err, syscall.EPERM)) && !isZombie(pid)
}

// processesMentioning returns the pids of live processes whose command line contains text.
func processesMentioning(text string) []int {
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	var pids []int
	for _, entry := range entries {
		var pid int
		if _, err := fmt.Sscan(entry.Name(), &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if commandLineMentions(pid, text) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// reportDuration prints a timing and adds it to the suite's report.
func reportDuration(what string, d time.Duration) {
	d = d.Round(time.Millisecond)
	GinkgoWriter.Printf("%s: %s\n", what, d)
	AddReportEntry(what, d.String(), ReportEntryVisibilityAlways)
}
