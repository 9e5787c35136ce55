package deployment_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	"github.com/aurora-cd/aurora/api/meta"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

// manifests is the manifests section every test deploy file uses.
const manifests = `
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: web, image: web:v2}]}
`

// twoTargets is staging, then prod after an approval that requires the release-manager role.
const twoTargets = `
application: web
targets:
  staging: {account: staging, namespace: web, strategy: rolling}
  prod:
    account: prod
    namespace: web
    strategy: canary
    constraints:
      dependsOn: [staging]
      beforeDeployment:
        - pause: {untilApproved: true, requiresRoles: [release-manager]}
strategies:
  rolling: {canary: {steps: [{setWeight: {weight: 100}}]}}
  canary:
    canary:
      steps:
        - setWeight: {weight: 25}
        - pause: {duration: 30, unit: seconds}
        - pause: {untilApproved: true}
        - setWeight: {weight: 100}
` + manifests

// oneTarget is prod alone with a canary that waits for approval at steps[2].
const oneTarget = `
application: web
targets:
  prod: {account: prod, namespace: web, strategy: canary}
strategies:
  canary:
    canary:
      steps:
        - setWeight: {weight: 25}
        - pause: {duration: 30, unit: seconds}
        - pause: {untilApproved: true}
        - setWeight: {weight: 100}
` + manifests

// newNamespace creates a namespace for one test, with connected agents for the given accounts.
func newNamespace(ctx SpecContext, connected ...string) string {
	GinkgoHelper()
	ns := fmt.Sprintf("tenant-%d", rand.IntN(1_000_000))
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	for _, a := range connected {
		setAgent(ctx, ns, a, true)
	}
	return ns
}

// setAgent creates or updates the Agent of an account, connected or not.
func setAgent(ctx SpecContext, ns, account string, connected bool) {
	GinkgoHelper()
	agent := &deployv1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: account},
		Spec: deployv1alpha1.AgentSpec{AgentIdentifier: account}}
	if err := k8sClient.Create(ctx, agent); err != nil {
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), err.Error())
	}
	Eventually(func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(agent), agent); err != nil {
			return err
		}
		agent.Status.Connected = connected
		agent.Status.LastHeartbeatAt = &metav1.Time{Time: clock.Now()}
		return k8sClient.Status().Update(ctx, agent)
	}).WithContext(ctx).Should(Succeed())
}

// createDeployment creates a Deployment from a deploy file.
func createDeployment(ctx SpecContext, ns, name, deployFile string, mutate ...func(*deployv1alpha1.DeploymentSpec)) *deployv1alpha1.Deployment {
	GinkgoHelper()
	d := &deployv1alpha1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	Expect(yaml.UnmarshalStrict([]byte(deployFile), &d.Spec)).To(Succeed())
	for _, m := range mutate {
		m(&d.Spec)
	}
	Expect(k8sClient.Create(ctx, d)).To(Succeed())
	return d
}

// deploymentOf reads a Deployment.
func deploymentOf(ctx SpecContext, ns, name string) *deployv1alpha1.Deployment {
	GinkgoHelper()
	d := &deployv1alpha1.Deployment{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}

// waitForState waits until a Deployment has the state and returns it.
func waitForState(ctx SpecContext, ns, name string, state deployv1alpha1.DeploymentState) *deployv1alpha1.Deployment {
	GinkgoHelper()
	d := &deployv1alpha1.Deployment{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d)).To(Succeed())
		g.Expect(d.Status.State).To(Equal(state), "status: %+v", d.Status)
	}).WithContext(ctx).Should(Succeed())
	return d
}

// rolloutOf waits for a Rollout and returns it.
func rolloutOf(ctx SpecContext, ns, name string) *rolloutv1alpha1.Rollout {
	GinkgoHelper()
	ro := &rolloutv1alpha1.Rollout{}
	Eventually(func() error {
		return k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, ro)
	}).WithContext(ctx).Should(Succeed())
	return ro
}

// rolloutCount counts the Rollouts of a namespace.
func rolloutCount(ctx SpecContext, ns string) int {
	GinkgoHelper()
	list := &rolloutv1alpha1.RolloutList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	return len(list.Items)
}

// execute plays the agent's executor: it writes a Rollout's status.
func execute(ctx SpecContext, ns, name string, mutate func(*rolloutv1alpha1.RolloutStatus)) {
	GinkgoHelper()
	Eventually(func() error {
		ro := &rolloutv1alpha1.Rollout{}
		if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, ro); err != nil {
			return err
		}
		ro.Status.ObservedGeneration = ro.Generation
		mutate(&ro.Status)
		if ro.Status.Phase.IsFinal() && ro.Status.FinishedAt == nil {
			ro.Status.FinishedAt = &metav1.Time{Time: clock.Now()}
		}
		return k8sClient.Status().Update(ctx, ro)
	}).WithContext(ctx).Should(Succeed())
}

// phase returns a status mutation that sets the phase (and the message).
func phase(p rolloutv1alpha1.Phase, message string) func(*rolloutv1alpha1.RolloutStatus) {
	return func(s *rolloutv1alpha1.RolloutStatus) { s.Phase, s.Message = p, message }
}

// judge creates a Judgment and waits until it is decided; it returns it.
func judge(ctx SpecContext, ns, name string, spec deployv1alpha1.JudgmentSpec, annotations map[string]string) *deployv1alpha1.Judgment {
	GinkgoHelper()
	j := &deployv1alpha1.Judgment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations}, Spec: spec}
	Expect(k8sClient.Create(ctx, j)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(j.Status.Conditions, meta.ReadyCondition) ||
			apimeta.IsStatusConditionTrue(j.Status.Conditions, meta.StalledCondition)).To(BeTrue())
	}).WithContext(ctx).Should(Succeed())
	return j
}

// readyOf returns an object's Ready condition.
func readyOf(conds []metav1.Condition) *metav1.Condition {
	return apimeta.FindStatusCondition(conds, meta.ReadyCondition)
}

// kstatusOf computes an object's kstatus.
func kstatusOf(obj client.Object) status.Status {
	GinkgoHelper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// eventsAbout lists the events.k8s.io Events regarding an object of a kind.
func eventsAbout(ctx SpecContext, ns, kind, name string) []eventsv1.Event {
	GinkgoHelper()
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Regarding.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// short is how long Consistently watches that something does not happen.
const short = 2 * time.Second

// poke changes a Deployment's annotations, so that the controller reconciles it now.
func poke(ctx SpecContext, ns, name string) {
	GinkgoHelper()
	Eventually(func() error {
		d := deploymentOf(ctx, ns, name)
		if d.Annotations == nil {
			d.Annotations = map[string]string{}
		}
		d.Annotations["test.aurora.dev/poke"] = clock.Now().Format(time.RFC3339Nano)
		return k8sClient.Update(ctx, d)
	}).WithContext(ctx).Should(Succeed())
}
